package runtime

import (
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// The runs of fires go on worker goroutines that outlive a run: a burst of
// ten thousand fires then costs ten thousand queue pushes and pops instead
// of ten thousand goroutines created, their stacks grown and freed, and as
// many wake-ups of the Go scheduler's idle threads.
//
// Fires that hold a slot wait in a queue, ready. Workers take them one at a
// time and run each to its end, so that a job that blocks holds up no
// other: whenever ready is not empty, some worker that is not running a job
// is on its way to it ("searching"). A worker that takes a fire while no
// other is searching and more fires wait summons one before running its
// own, so a burst of blocking jobs gets a goroutine each, while a burst of
// short ones is run by a handful of workers taking turns. A summoned worker
// is an idle one woken, or a new goroutine if none is idle.
//
// Workers take from ready without a lock: with a mutex, the workers of a
// burst spent more time parked on it than running jobs. Pushes take one,
// once per batch from the loop, once per fire from a run that passes its
// slot on to a fire that waited for one.

// workerIdle is how long an idle worker waits for a fire before it exits.
// It is real time, not the loop's clock: it bounds the memory held by
// workers kept after a burst and nothing about the schedule, and a fake
// clock (which tests advance by hand) must not see it.
const workerIdle = 30 * time.Second

// startBatch is how many fires fireDue collects before handing them to the
// workers in one go: few enough that the first runs start while the loop
// is still admitting the rest of a large burst.
const startBatch = 256

// endedBatch is how many ended runs a worker counts before it releases
// them from Loop.tasks together.
const endedBatch = 32

type pool struct {
	ready readyQueue // fires holding a slot, waiting for a worker
	// searching counts workers summoned for ready that have not yet looked
	// at it.
	searching atomic.Int64
	closed    bool // guarded by Loop.mu
	// wake hands a summons to an idle worker; a send succeeds only if one
	// is waiting, else a new worker is started.
	wake chan struct{}
	// quit is closed when the loop has shut down: idle workers exit.
	quit    chan struct{}
	live    sync.WaitGroup // workers not yet exited
	size    atomic.Int64   // workers not yet exited, for tests to read
	started atomic.Int64   // workers ever started, to spread them over the slots' stripes

	// The stand-by worker (see standby.go): standbyCall hands it a call for
	// the instant standbyAt; standbyStarted is guarded by Loop.mu.
	standbyCall    chan struct{}
	standbyAt      atomic.Int64
	standbyStarted bool
	// loopAwake is set while the loop waits for an instant awake, on the
	// CPU loopCPU (-1 if unknown).
	loopAwake atomic.Bool
	loopCPU   atomic.Int64
}

func (p *pool) init() {
	p.ready.init()
	p.wake = make(chan struct{})
	p.quit = make(chan struct{})
	p.standbyCall = make(chan struct{}, 1)
	p.loopCPU.Store(-1)
}

// nextStripe returns the stripe of l.slots a new worker releases slots
// on: one of the workers' stripes in turn.
func (p *pool) nextStripe() int {
	return 1 + int(p.started.Add(1))%(slotStripes-1)
}

// dispatch runs fires, each holding a slot and counted in l.tasks, on the
// workers.
func (l *Loop) dispatch(fs ...fire) {
	l.pool.ready.push(fs...)
	l.summonFor(len(fs))
}

// summonFor has workers on their way to n fires just queued: one per
// fire, up to one per processor; each, once it takes a fire, summons the
// next if need be.
func (l *Loop) summonFor(n int) {
	p := &l.pool
	want := min(int64(n), int64(goruntime.GOMAXPROCS(0)))
	for p.searching.Load() < want {
		p.summon(l)
	}
}

// summon wakes an idle worker, or starts one, to search ready.
func (p *pool) summon(l *Loop) {
	p.searching.Add(1)
	select {
	case p.wake <- struct{}{}:
	default:
		p.live.Add(1)
		p.size.Add(1)
		go l.work(p.nextStripe())
	}
}

// work is a worker's life: take ready fires and run them; when there are
// none, wait idle for a summons, and exit after workerIdle or once the
// loop has shut down. It releases slots on the given stripe of l.slots.
func (l *Loop) work(stripe int) {
	p := &l.pool
	defer p.live.Done()
	defer p.size.Add(-1)
	var own taker // the lane of ready this worker takes from
	var idle *time.Timer
	defer func() {
		if idle != nil {
			idle.Stop()
		}
	}()
	for {
		// Summoned: searching counted us until now. A fire pushed after
		// this is seen by the pop below, or its producer sees no worker
		// searching and summons one.
		p.searching.Add(-1)
		p.ready.enter(&own)
		l.runReady(&own, stripe)
		p.ready.leave(&own)

		if idle == nil {
			idle = time.NewTimer(workerIdle)
		} else {
			idle.Reset(workerIdle)
		}
		select {
		case <-p.wake:
		case <-idle.C:
			return
		case <-p.quit:
			return
		}
	}
}

// runReady takes ready fires, from own's lane first, and runs them until
// none is left. own must be in a session of ready (see
// readyQueue.enter): segments emptied meanwhile are reused only once it
// has left, so a run that blocks here keeps them from reuse meanwhile
// (they are then allocated anew, as they would be without reuse). It
// releases slots on the given stripe of l.slots.
func (l *Loop) runReady(own *taker, stripe int) {
	p := &l.pool
	// ended counts the runs whose count in l.tasks is yet to be released:
	// they are released endedBatch at a time, and all before returning,
	// rather than every run moving l.tasks' cache line between the
	// workers' cores. Only shutdown waits on l.tasks, and it waits for the
	// current run anyway.
	ended := 0
	for {
		f, ok := p.ready.pop(own)
		if !ok {
			break
		}
		if p.searching.Load() == 0 && !p.ready.empty() {
			p.summon(l) // f may block: the fires behind it need a worker
		}
		l.execute(f, stripe, &ended)
		if ended == endedBatch {
			l.tasks.Add(-ended)
			ended = 0
		}
	}
	if ended > 0 {
		l.tasks.Add(-ended)
	}
}

// closePool makes the idle workers exit, and waits for all of them. Every
// run must have ended, so that no worker summons another. (Should a run
// start after all, its worker exits once it is done.)
func (l *Loop) closePool() {
	p := &l.pool
	l.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.quit)
	}
	l.mu.Unlock()
	p.live.Wait()
}

// readyQueue is a queue of fires, oldest first: a list of fixed-size
// segments, each filled by producers (one at a time) and emptied by
// consumers claiming its slots without a lock. Consumers read segments
// only inside a session (see enter), and an emptied segment is reused
// only once no consumer can still read it (see reusable).
//
// A segment's slots are split in lanes, and a worker takes the fires of
// one lane in turn while others take other lanes'. The fires of one
// instant lie in the order of their entries (see prepare), and so, in
// the usual case, do the jobs' data: when two workers took alternate
// fires from one counter, every claim and many of the jobs' own writes
// moved a cache line from one core to the other. (At a million entries,
// lanes and the workers' batched release of Loop.tasks together cut the
// p99 lag of an instant's 16,667 runs by a tenth.) A lane is long, so that
// each worker walks that order for a while: two workers leapfrogging one
// another every 64 fires each missed more of the memory the hardware
// would have fetched ahead, and 256-fire lanes ended a 16,667-run instant
// about 7% sooner. A lane is owned as a hint only: a worker finding no
// lane free takes from an owned one, so that the fires behind a blocking
// run are never stranded.
type readyQueue struct {
	head   atomic.Pointer[segment] // the oldest segment with fires not yet taken
	pushMu sync.Mutex
	tail   *segment // the segment being filled; guarded by pushMu

	// Reclamation of the segments left behind by head (see reusable).
	// epoch changes only with freeMu held; inside counts the consumers in
	// a session, by the parity of the epoch they entered in, on cache
	// lines of their own.
	epoch   atomic.Uint64
	_       [56]byte
	inside  [2]paddedCount
	freeMu  sync.Mutex
	retired []retiredSegment // oldest first, at most maxRetired
}

// retiredSegment is a segment left behind by the queue's head in epoch.
type retiredSegment struct {
	s     *segment
	epoch uint64
}

// maxRetired is how many segments left behind are kept for reuse: enough
// for the 17 of an instant at a million entries, not so many that a
// burst's thousand segments stay pinned once it has drained.
const maxRetired = 64

const (
	segmentSize = 1024
	laneSize    = 256
	lanes       = segmentSize / laneSize
)

type segment struct {
	segmentHeader
	// The lanes' cache lines are their owners' alone: the header, which
	// every take reads, stays clear of the first lane's claims.
	_     [64 - unsafe.Sizeof(segmentHeader{})]byte
	lanes [lanes]lane
	fires [segmentSize]fire
}

type segmentHeader struct {
	written atomic.Int64 // slots [0, written) hold fires
	// sealed: no more fires will be written, though some slots are free
	// (a chain was linked behind it, see readyQueue.link).
	sealed atomic.Bool
	next   atomic.Pointer[segment]
}

// lane is a range of laneSize slots of a segment, on a cache line of its
// own so that its owner's claims do not contend with its neighbours'.
type lane struct {
	next  atomic.Int64 // the lane's next slot not yet taken
	owned atomic.Bool  // some worker takes this lane's fires in turn
	_     [64 - 8 - 4]byte
}

// newSegment returns an empty segment: a reused one if one is free, else
// a new one.
func (q *readyQueue) newSegment() *segment {
	q.freeMu.Lock()
	s := q.reusable()
	q.freeMu.Unlock()
	if s == nil {
		s = &segment{}
	}
	// A reused segment's slots are all zero: each was cleared when taken.
	s.written.Store(0)
	s.sealed.Store(false)
	s.next.Store(nil)
	for k := range s.lanes {
		s.lanes[k].next.Store(int64(k * laneSize))
		s.lanes[k].owned.Store(false)
	}
	return s
}

// Segments are reused rather than left to the garbage collector: at a
// million entries, the 17 segments of each instant's runs were nearly
// all the loop allocated in its steady state, a megabyte a second, and
// each collection that brought about, marking a heap of a million
// entries on both processors for a tenth of a second, held up the
// instant it overlapped by 10 to 25 ms.
//
// A consumer may hold a segment the head has left behind (its lane, or
// one it was looking at), so reuse waits for every consumer that could
// have seen that segment to leave: epoch-based reclamation, with the
// consumers counted by the parity of the epoch they entered in. The epoch
// moves from e to e+1 only once no consumer that entered in e-1 is
// inside; a segment left behind in epoch r can be reached only by
// consumers that entered by then, in r or before, and is reused from
// epoch r+2 on, when all of them have left.

// enter starts a session of t in q: t may take fires and look at q until
// leave.
func (q *readyQueue) enter(t *taker) {
	for {
		e := q.epoch.Load()
		q.inside[e&1].n.Add(1)
		if q.epoch.Load() == e {
			t.epoch = e
			return
		}
		// The epoch moved on meanwhile, maybe counting this session out.
		q.inside[e&1].n.Add(-1)
	}
}

// leave ends t's session in q, giving up its lane.
func (q *readyQueue) leave(t *taker) {
	t.release()
	q.inside[t.epoch&1].n.Add(-1)
}

// retire keeps s, which the head has left behind, for reuse.
func (q *readyQueue) retire(s *segment) {
	q.freeMu.Lock()
	defer q.freeMu.Unlock()
	if len(q.retired) < maxRetired {
		q.retired = append(q.retired, retiredSegment{s, q.epoch.Load()})
	}
}

// reusable removes and returns the oldest retired segment if no consumer
// can still read it, moving the epoch on if it can. q.freeMu must be
// held.
func (q *readyQueue) reusable() *segment {
	if len(q.retired) == 0 {
		return nil
	}
	oldest := q.retired[0]
	for e := q.epoch.Load(); e < oldest.epoch+2; e++ {
		if q.inside[(e+1)&1].n.Load() != 0 { // consumers of epoch e-1
			return nil
		}
		q.epoch.Store(e + 1)
	}
	n := copy(q.retired, q.retired[1:])
	q.retired[n] = retiredSegment{}
	q.retired = q.retired[:n]
	return oldest.s
}

// left reports whether lane k has a written fire not yet taken.
func (s *segment) left(k int) bool {
	return s.lanes[k].next.Load() < min(int64((k+1)*laneSize), s.written.Load())
}

// take claims lane k's next fire, if it has one written.
func (s *segment) take(k int) (fire, bool) {
	ln := &s.lanes[k]
	end := int64((k + 1) * laneSize)
	for {
		i := ln.next.Load()
		if i >= min(end, s.written.Load()) {
			return fire{}, false
		}
		if ln.next.CompareAndSwap(i, i+1) {
			// Slot i is ours alone, and the producer is done with it.
			f := s.fires[i]
			s.fires[i] = fire{}
			return f, true
		}
	}
}

// exhausted reports whether every fire s will ever hold has been taken.
func (s *segment) exhausted() bool {
	return (s.written.Load() == segmentSize || s.sealed.Load()) && !s.anyLeft()
}

// anyLeft reports whether some lane of s has a written fire not yet taken.
func (s *segment) anyLeft() bool {
	for k := range s.lanes {
		if s.left(k) {
			return true
		}
	}
	return false
}

func (q *readyQueue) init() {
	s := q.newSegment()
	q.head.Store(s)
	q.tail = s
}

// empty reports whether no fire waits in q: a hint, while others push and
// pop. The caller must be in a session (see enter), or the only consumer.
func (q *readyQueue) empty() bool {
	for s := q.head.Load(); s != nil; s = s.next.Load() {
		if s.anyLeft() {
			return false
		}
	}
	return true
}

// push appends fs: into the free slots of the segment being filled, the
// rest in new segments.
func (q *readyQueue) push(fs ...fire) {
	q.pushMu.Lock()
	defer q.pushMu.Unlock()
	if s := q.tail; !s.sealed.Load() {
		w := s.written.Load()
		k := copy(s.fires[w:], fs)
		fs = fs[k:]
		s.written.Store(w + int64(k)) // publishes the slots written
	}
	q.appendChain(q.newChain(fs))
}

// chain is a list of segments filled with fires ahead of time, not yet
// in a queue.
type chain struct{ first, last *segment }

// newChain returns fs in a chain of segments, or the zero chain for no
// fires.
func (q *readyQueue) newChain(fs []fire) chain {
	var c chain
	for len(fs) > 0 {
		s := q.newSegment()
		k := copy(s.fires[:], fs)
		fs = fs[k:]
		s.written.Store(int64(k))
		if c.first == nil {
			c.first = s
		} else {
			c.last.next.Store(s)
		}
		c.last = s
	}
	return c
}

// link appends the fires of c at once: pushing them would cost, at the
// instant they become ready, an allocation and a copy per segment. c must
// not be used afterwards.
func (q *readyQueue) link(c chain) {
	q.pushMu.Lock()
	defer q.pushMu.Unlock()
	q.appendChain(c)
}

// appendChain makes c the queue's last segments. q.pushMu must be held.
func (q *readyQueue) appendChain(c chain) {
	if c.first == nil {
		return
	}
	// The tail's free slots, if any, stay free: consumers then leave it
	// behind once its fires are taken.
	q.tail.sealed.Store(true)
	q.tail.next.Store(c.first)
	q.tail = c.last
}

// taker is one consumer's place in a readyQueue: the lane it owns, if
// any, and the epoch its session entered in.
type taker struct {
	s     *segment
	k     int
	epoch uint64
}

func (t *taker) release() {
	if t.s != nil {
		t.s.lanes[t.k].owned.Store(false)
		t.s = nil
	}
}

// pop takes a fire for t, if any: the next of t's lane, else the next of
// the oldest lane no other consumer owns, which t then owns, else the next
// of the oldest lane with fires left. t must be in a session (see enter).
func (q *readyQueue) pop(t *taker) (fire, bool) {
	if t.s != nil {
		if f, ok := t.s.take(t.k); ok {
			return f, true
		}
		t.release()
	}
	// Leave the segments emptied behind, for reuse.
	for s := q.head.Load(); s.exhausted(); s = q.head.Load() {
		n := s.next.Load()
		if n == nil {
			break
		}
		if q.head.CompareAndSwap(s, n) {
			q.retire(s)
		}
	}
	for _, steal := range [2]bool{false, true} {
		for s := q.head.Load(); s != nil; s = s.next.Load() {
			for k := range s.lanes {
				if !s.left(k) {
					continue
				}
				if !steal && !s.lanes[k].owned.CompareAndSwap(false, true) {
					continue
				}
				if f, ok := s.take(k); ok {
					if !steal {
						t.s, t.k = s, k
					}
					return f, true
				}
				if !steal {
					s.lanes[k].owned.Store(false) // taken meanwhile by a thief
				}
			}
		}
	}
	return fire{}, false
}
