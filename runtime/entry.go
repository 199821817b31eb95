package runtime

import (
	"context"
	"errors"
	"hash/fnv"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// Entry is a job scheduled on a loop: aiocron's crontab object. Its methods
// are safe for concurrent use.
type Entry struct {
	name string
	// block leads to the entry's schedule, its number and its loop: a
	// pointer for all three keeps an Entry at 56 bytes.
	block  *block
	fn     Func
	policy *Policy
	// The fields below are guarded by loop.mu.
	index   int32 // position in loop.heap, -1 when not scheduled
	slot    uint8 // place in block, for num
	removed bool
	// prepared: the entry fires at loop.preparedAt, and its heap slot
	// already holds the instant after; see Loop.isPrepared.
	prepared bool
	// act is nil while the entry has nothing going on. It is written under
	// loop.mu; a run's end reads it without the lock to learn whether
	// anybody waits on it.
	act atomic.Pointer[activity]
}

// activity is what an entry has going on: runs admitted, a queued run,
// goroutines waiting in Next. It exists only while needed, so that a
// million idle entries cost no more than their heap slot and their Entry.
type activity struct {
	active int    // fires admitted and not yet ended (running or waiting for a slot)
	runs   []*run // runs executing now, for OverlapReplace to cancel
	// backlog holds fires to run, oldest first, once no run is active:
	// the one queued run of OverlapQueue, or the catch-up of MisfireRunAll.
	backlog []fire
	// replacedBefore: a fire still waiting for a slot whose instant is
	// before this was superseded (OverlapReplace) and will not start.
	replacedBefore int64
	jitter         int64   // random jitter added to the entry's heap key
	next           *notice // where Next waiters wait for the next run's end
}

// notice is closed when the run it reports on ends.
type notice struct {
	done chan struct{}
	run  Run
	err  error
}

// activity returns e.act, creating it. loop.mu must be held.
func (e *Entry) activity() *activity {
	a := e.act.Load()
	if a == nil {
		a = &activity{}
		e.act.Store(a)
	}
	return a
}

// releaseActivity drops e.act once nothing is going on. loop.mu must be held.
func (e *Entry) releaseActivity() {
	if a := e.act.Load(); a != nil && a.active == 0 && len(a.backlog) == 0 && a.next == nil && len(a.runs) == 0 && a.jitter == 0 {
		e.act.Store(nil)
	}
}

// Name returns the job's name.
func (e *Entry) Name() string { return e.name }

// Spec returns the job's cron spec as written.
func (e *Entry) Spec() string { return e.block.sched.spec }

// Location returns the zone the spec is read in.
func (e *Entry) Location() *time.Location { return e.block.sched.location }

// NextFire returns the instant the entry is next scheduled at (before any
// jitter), in its zone, or the zero time if it is stopped, removed or never
// fires again.
func (e *Entry) NextFire() time.Time {
	l := e.block.sched.loop
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.isPrepared(e):
		return time.Unix(0, l.preparedAt).In(e.block.sched.location)
	case e.index < 0:
		return time.Time{}
	}
	return time.Unix(0, l.heap.at(int(e.index)).at-e.jitter()).In(e.block.sched.location)
}

// Stop stops the entry from firing. Runs already going are left to finish.
func (e *Entry) Stop() {
	l := e.block.sched.loop
	l.mu.Lock()
	defer l.mu.Unlock()
	l.unprepare(e)
	if e.index >= 0 {
		l.heapRemove(int(e.index))
	}
}

// Start makes a stopped entry fire again, from its first instant after now.
// It does nothing to a running or removed entry.
func (e *Entry) Start() {
	l := e.block.sched.loop
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if e.index < 0 && !l.isPrepared(e) && !e.removed && l.state < stateStopping {
		l.schedule(e, now)
	}
}

// Remove stops the entry for good; goroutines waiting in Next get
// ErrRemoved. Runs already going are left to finish.
func (e *Entry) Remove() {
	l := e.block.sched.loop
	l.mu.Lock()
	defer l.mu.Unlock()
	l.unprepare(e)
	if e.index >= 0 {
		l.heapRemove(int(e.index))
	}
	if !e.removed {
		e.removed = true
		l.forget(e)
	}
	if a := e.act.Load(); a != nil && a.next != nil {
		n := a.next
		a.next = nil
		n.err = ErrRemoved
		close(n.done)
		e.releaseActivity()
	}
}

// Trigger runs the entry now, outside its schedule, as its overlap policy
// allows, and waits for that run to end (or for ctx): Fire, then Wait.
func (e *Entry) Trigger(ctx context.Context) (Run, error) {
	t, err := e.Fire()
	if err != nil {
		return Run{}, err
	}
	return t.Wait(ctx)
}

// Fire starts a run of the entry now, outside its schedule, as its overlap
// policy allows, and returns without waiting for it to end. The run's
// Scheduled instant is the time of the call; it is not claimed in the
// Store, as it is no occurrence of the schedule. A run the overlap policy
// refuses returns ErrSkipped; one it queues behind the run going is
// accepted.
func (e *Entry) Fire() (*Fired, error) {
	l := e.block.sched.loop
	n := &notice{done: make(chan struct{})}
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case e.removed:
		return nil, ErrRemoved
	case l.state >= stateStopping:
		return nil, ErrClosed
	}
	l.fire(fire{entry: e, at: now.UnixNano(), done: n})
	// The overlap policy refuses a run at once, under the lock.
	select {
	case <-n.done:
		if errors.Is(n.err, ErrSkipped) {
			return nil, n.err
		}
	default:
	}
	return &Fired{n: n, scheduled: now.In(e.block.sched.location)}, nil
}

// Fired is a run started by Entry.Fire: a future of its end.
type Fired struct {
	n         *notice
	scheduled time.Time
}

// Scheduled is the run's Scheduled instant: when Fire was called, in the
// entry's zone.
func (f *Fired) Scheduled() time.Time { return f.scheduled }

// Done is closed when the run has ended.
func (f *Fired) Done() <-chan struct{} { return f.n.done }

// Wait waits for the run to end and returns it with the job's error, or
// returns ctx's error first; the run goes on either way.
func (f *Fired) Wait(ctx context.Context) (Run, error) {
	select {
	case <-f.n.done:
		return f.n.run, f.n.err
	case <-ctx.Done():
		return Run{}, ctx.Err()
	}
}

// Update replaces the entry's function and policy, as a configuration
// reload does; runs already going finish with the old ones. The schedule
// and the next fire instant stay as they are.
func (e *Entry) Update(fn Func, p *Policy) {
	l := e.block.sched.loop
	l.mu.Lock()
	defer l.mu.Unlock()
	l.unprepare(e)
	if e.index < 0 {
		e.fn, e.policy = fn, p
		return
	}
	// The heap key includes the jitter, which the new policy may change.
	at := l.heap.at(int(e.index)).at - e.jitter()
	l.heapRemove(int(e.index))
	e.fn, e.policy = fn, p
	l.heapPush(e, at+e.rejitter())
	if e.index == 0 {
		l.notify()
	}
}

// Next waits for the entry's next run to end and returns it with the error
// the job returned: aiocron's `await crontab.next()`. It returns early with
// ctx's error, ErrRemoved, or ErrClosed once the loop begins shutting down
// (no further run will start).
func (e *Entry) Next(ctx context.Context) (Run, error) {
	l := e.block.sched.loop
	l.mu.Lock()
	if e.removed {
		l.mu.Unlock()
		return Run{}, ErrRemoved
	}
	a := e.activity()
	if a.next == nil {
		a.next = &notice{done: make(chan struct{})}
	}
	n := a.next
	l.mu.Unlock()

	select {
	case <-n.done:
		return n.run, n.err
	case <-ctx.Done():
		return Run{}, ctx.Err()
	case <-l.stopping:
		return Run{}, ErrClosed
	}
}

// policyOrZero returns the entry's policy, or the zero Policy.
func (e *Entry) policyOrZero() *Policy {
	if e.policy == nil {
		return &zeroPolicy
	}
	return e.policy
}

var zeroPolicy Policy

// overlap returns the entry's overlap policy.
func (e *Entry) overlap() Overlap { return e.policyOrZero().Overlap }

// misfire returns the entry's misfire policy, MisfireAuto resolved.
func (e *Entry) misfire() Misfire {
	m := e.policyOrZero().Misfire
	if m != MisfireAuto {
		return m
	}
	if e.block.sched.frequent {
		return MisfireSkip
	}
	return MisfireRunOnce
}

// jitter returns the delay added to the entry's current heap key. l.mu
// must be held.
func (e *Entry) jitter() int64 {
	p := e.policyOrZero()
	switch {
	case p.Jitter <= 0:
		return 0
	case p.StableJitter:
		h := fnv.New64a()
		h.Write([]byte(e.name))
		return int64(h.Sum64() % uint64(p.Jitter))
	case e.act.Load() != nil:
		return e.act.Load().jitter
	}
	return 0
}

// rejitter picks the delay for the entry's next heap key and returns it.
// l.mu must be held.
func (e *Entry) rejitter() int64 {
	p := e.policyOrZero()
	if p.Jitter <= 0 || p.StableJitter {
		return e.jitter()
	}
	d := rand.Int64N(int64(p.Jitter))
	e.activity().jitter = d
	return d
}
