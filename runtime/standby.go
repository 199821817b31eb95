package runtime

import (
	goruntime "runtime"
	"time"
)

// An instant with many runs needs two processors from its first
// microsecond. A worker summoned at the instant runs on another processor
// only once the operating system has woken a thread for it, and on the
// virtual machines this was measured on, a woken thread is placed beside
// its waker on the busy virtual CPU and moves to the idle one at the next
// scheduler tick: the second worker started 1.4 ms after every instant,
// and an instant's 16,667 runs at a million entries ended after 4–5 ms
// instead of 2.3.
//
// So the loop keeps a stand-by worker for such instants. When the loop
// prepares one, it calls the stand-by, which sleeps on a timer of its own
// thread (see sleepThread) until standbyLead before the instant: a thread
// woken by its own timer is not placed beside a waker. Should it wake on
// the CPU the loop waits on, it moves to another (see leaveCPU). It waits
// for the instant's fires awake, runs them alongside the workers the loop
// summons, and goes back to waiting for a call.

// standbyLead is how long before its instant the stand-by wakes: after the
// loop, which wakes spinWindow ahead on a Go timer, so that the stand-by
// takes the processor the loop is not on, and short, for the stand-by
// spins from then on.
const standbyLead = 500 * time.Microsecond

// standbyGrace is how long after its instant the stand-by waits for its
// fires: the loop may notice the instant that late.
const standbyGrace = time.Millisecond

// callStandby has the stand-by stand by for the instant at (Unix
// nanoseconds), starting it on first use. With a single processor there
// is none to stand by on; with a fake clock there is no instant to be
// awake at. l.mu must be held.
func (l *Loop) callStandby(at int64) {
	p := &l.pool
	if !l.precise || p.closed || goruntime.GOMAXPROCS(0) < 2 {
		return
	}
	p.standbyAt.Store(at)
	if !p.standbyStarted {
		p.standbyStarted = true
		p.live.Add(1)
		go l.standBy(p.nextStripe())
	}
	select {
	case p.standbyCall <- struct{}{}:
	default: // a call is pending: it reads the latest instant
	}
}

// standBy is the stand-by's life: wait for a call, sleep until shortly
// before its instant, wait for the instant's fires awake and run them as a
// worker does (see work), until the loop has shut down. It releases slots
// on the given stripe of l.slots.
func (l *Loop) standBy(stripe int) {
	p := &l.pool
	defer p.live.Done()
	var own taker
	for {
		// Locked, the goroutine resumes on the thread it last ran on,
		// rather than on the loop's once the loop parks, and that thread
		// is the one that sleeps below.
		goruntime.LockOSThread()
		select {
		case <-p.standbyCall:
		case <-p.quit:
			goruntime.UnlockOSThread()
			return
		}
		at := time.Unix(0, p.standbyAt.Load())
		// A clock stepped back must not keep the stand-by (and shutdown,
		// which waits for it) asleep for long.
		sleepThread(min(time.Until(at.Add(-standbyLead)), prepareLead))
		// Unlocked, runs that block or yield move between threads as any
		// worker's do.
		goruntime.UnlockOSThread()

		// Searching, as a summoned worker is: the loop summons one fewer
		// at the instant, and a fire pushed meanwhile is seen below.
		p.searching.Add(1)
		p.ready.enter(&own)
		ready := func() bool { return !p.ready.empty() }
		// Until the loop is awake (its timer late), yield: the timer may
		// sit with the processor this goroutine holds, and only fires once
		// that processor schedules.
		spinUntil(at, true, func() bool { return p.loopAwake.Load() || ready() })
		if c := currentCPU(); c >= 0 && c == int(p.loopCPU.Load()) {
			leaveCPU(c)
		}
		// Then no yielding: the loop runs on the other processor, and a
		// yield would wake idle threads to look for work.
		spinUntil(at.Add(standbyGrace), false, ready)
		p.searching.Add(-1)
		l.runReady(&own, stripe)
		p.ready.leave(&own)
	}
}
