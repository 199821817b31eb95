package runtime

import (
	goruntime "runtime"
	"time"
)

// Clock is the loop's source of time. Tests pass a fake one
// (runtime/runtimetest) so nothing about time needs a real wait.
type Clock interface {
	// Now returns the current wall-clock time.
	Now() time.Time
	// NewTimer returns a timer whose channel receives once d has passed.
	NewTimer(d time.Duration) Timer
	// AfterFunc calls f in its own goroutine once d has passed.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is the part of *time.Timer the loop uses.
type Timer interface {
	// C is the channel the timer fires on; nil for AfterFunc timers.
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether it was pending.
	Stop() bool
	// Reset re-arms the timer to fire after d.
	Reset(d time.Duration) bool
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// NewTimer wraps time.NewTimer.
func (SystemClock) NewTimer(d time.Duration) Timer { return systemTimer{time.NewTimer(d)} }

// AfterFunc wraps time.AfterFunc.
func (SystemClock) AfterFunc(d time.Duration, f func()) Timer {
	return systemTimer{time.AfterFunc(d, f)}
}

type systemTimer struct{ t *time.Timer }

func (t systemTimer) C() <-chan time.Time        { return t.t.C }
func (t systemTimer) Stop() bool                 { return t.t.Stop() }
func (t systemTimer) Reset(d time.Duration) bool { return t.t.Reset(d) }

func isSystemClock(c Clock) bool {
	_, ok := c.(SystemClock)
	return ok
}

// spinWindow is how long before an instant with many runs to start the
// loop stops sleeping on its timer and waits awake. The Go runtime rounds
// the sleep of an idle process to whole milliseconds, and a timer on a
// shared machine is often 1–2 ms late: every run of the instant would
// start that much late. Waiting awake costs up to spinWindow of CPU per
// instant.
const spinWindow = 2 * time.Millisecond

// stillReads is how many clock reads in a row may return the same time
// before spinUntil decides that time stands still.
const stillReads = 1000

// spinUntil waits awake until t on the real clock, or until done, if not
// nil, reports true; between looks it yields to other goroutines if yield
// is set. It gives up and reports false if time stands still while it
// runs: a coarse clock, or the fake one of a testing/synctest bubble,
// which only moves while every goroutine sleeps.
func spinUntil(t time.Time, yield bool, done func() bool) bool {
	still := 0
	for prev := time.Now(); prev.Before(t); {
		if done != nil && done() {
			return true
		}
		if yield {
			goruntime.Gosched()
		}
		now := time.Now()
		if !now.Equal(prev) {
			still = 0
		} else if still++; still == stillReads {
			return false
		}
		prev = now
	}
	return true
}
