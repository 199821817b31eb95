package runtime

import (
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"time"
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
	quit chan struct{}
	live sync.WaitGroup // workers not yet exited
	size atomic.Int64   // workers not yet exited, for tests to read
}

func (p *pool) init() {
	p.ready.init()
	p.wake = make(chan struct{})
	p.quit = make(chan struct{})
}

// dispatch runs fires, each holding a slot and counted in l.tasks, on the
// workers.
func (l *Loop) dispatch(fs ...fire) {
	p := &l.pool
	p.ready.push(fs...)
	// One worker on its way per fire, up to one per processor; each, once
	// it takes a fire, summons the next if need be.
	want := min(int64(len(fs)), int64(goruntime.GOMAXPROCS(0)))
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
		go l.work()
	}
}

// work is a worker's life: take ready fires and run them; when there are
// none, wait idle for a summons, and exit after workerIdle or once the
// loop has shut down.
func (l *Loop) work() {
	p := &l.pool
	defer p.live.Done()
	defer p.size.Add(-1)
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
		for {
			f, ok := p.ready.pop()
			if !ok {
				break
			}
			if p.searching.Load() == 0 && !p.ready.empty() {
				p.summon(l) // f may block: the fires behind it need a worker
			}
			l.execute(f)
		}

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

// readyQueue is a FIFO of fires: a list of fixed-size segments, each
// filled by producers (one at a time) and emptied by consumers claiming
// its slots in order, without a lock. Emptied segments are left to the
// garbage collector, so that a consumer still reading a slot never sees
// it reused.
type readyQueue struct {
	head   atomic.Pointer[segment] // the oldest segment with fires not yet taken
	pushMu sync.Mutex
	tail   *segment // the segment being filled; guarded by pushMu
}

const segmentSize = 256

type segment struct {
	// written slots hold fires; taken of them are claimed by consumers.
	written, taken atomic.Int64
	next           atomic.Pointer[segment]
	fires          [segmentSize]fire
}

func (q *readyQueue) init() {
	s := &segment{}
	q.head.Store(s)
	q.tail = s
}

// empty reports whether no fire waits in q: a hint, while others push and
// pop.
func (q *readyQueue) empty() bool {
	for s := q.head.Load(); s != nil; s = s.next.Load() {
		if s.taken.Load() < s.written.Load() {
			return false
		}
	}
	return true
}

// push appends fs.
func (q *readyQueue) push(fs ...fire) {
	q.pushMu.Lock()
	defer q.pushMu.Unlock()
	s := q.tail
	for len(fs) > 0 {
		w := s.written.Load()
		if w == segmentSize {
			n := &segment{}
			s.next.Store(n)
			q.tail, s, w = n, n, 0
		}
		k := copy(s.fires[w:], fs)
		fs = fs[k:]
		s.written.Store(w + int64(k)) // publishes the slots written
	}
}

// pop takes the oldest fire, if any.
func (q *readyQueue) pop() (fire, bool) {
	for {
		s := q.head.Load()
		t := s.taken.Load()
		if t < s.written.Load() {
			if !s.taken.CompareAndSwap(t, t+1) {
				continue
			}
			// Slot t is ours alone, and the producer is done with it.
			f := s.fires[t]
			s.fires[t] = fire{}
			return f, true
		}
		if t < segmentSize {
			return fire{}, false
		}
		n := s.next.Load()
		if n == nil {
			return fire{}, false
		}
		q.head.CompareAndSwap(s, n)
	}
}
