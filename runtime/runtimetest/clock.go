// Package runtimetest provides a fake clock for testing code built on the
// runtime loop without real waits.
package runtimetest

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/scheduler-dev/scheduler/runtime"
)

// Clock is a fake runtime.Clock. Time moves only when the test calls Advance
// (which fires the timers that come due, in order) or Jump (which moves the
// wall clock without firing anything, like a suspend or an NTP step).
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	timers  []*timer
	changed chan struct{} // closed and replaced whenever the set of timers changes
}

// NewClock returns a fake clock reading now.
func NewClock(now time.Time) *Clock {
	return &Clock{now: now, changed: make(chan struct{})}
}

// Now returns the fake time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer returns a timer firing once the fake time has advanced by d.
func (c *Clock) NewTimer(d time.Duration) runtime.Timer {
	t := &timer{clock: c, ch: make(chan time.Time, 1)}
	t.Reset(d)
	return t
}

// AfterFunc calls f in its own goroutine once the fake time has advanced by d.
func (c *Clock) AfterFunc(d time.Duration, f func()) runtime.Timer {
	t := &timer{clock: c, fn: f}
	t.Reset(d)
	return t
}

// Advance moves the clock forward by d, firing every timer that comes due on
// the way, earliest first, with the clock reading each timer's deadline as it
// fires.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	c.mu.Unlock()
	c.AdvanceTo(end)
}

// AdvanceTo moves the clock forward to end, as Advance does.
func (c *Clock) AdvanceTo(end time.Time) {
	for {
		c.mu.Lock()
		sort.SliceStable(c.timers, func(i, j int) bool { return c.timers[i].at.Before(c.timers[j].at) })
		if len(c.timers) == 0 || c.timers[0].at.After(end) {
			if end.After(c.now) {
				c.now = end
			}
			c.mu.Unlock()
			return
		}
		t := c.timers[0]
		c.removeLocked(t)
		if t.at.After(c.now) {
			c.now = t.at
		}
		now := c.now
		c.mu.Unlock()
		t.fire(now)
	}
}

// Jump moves the wall clock by d (either way) without firing any timer, as
// a suspended machine or a stepped clock does: timers still wait for their
// own durations to pass in Advance.
func (c *Clock) Jump(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for _, t := range c.timers {
		t.at = t.at.Add(d)
	}
}

// Timers returns how many timers are pending.
func (c *Clock) Timers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// WaitTimers blocks until at least n timers are pending, or ctx ends. Tests
// call it to know that the code under test has gone to sleep before they
// advance the clock.
func (c *Clock) WaitTimers(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		pending, changed := len(c.timers), c.changed
		c.mu.Unlock()
		if pending >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// NextDeadline returns the earliest pending timer's deadline, and false if
// no timer is pending.
func (c *Clock) NextDeadline() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.timers) == 0 {
		return time.Time{}, false
	}
	earliest := c.timers[0].at
	for _, t := range c.timers[1:] {
		if t.at.Before(earliest) {
			earliest = t.at
		}
	}
	return earliest, true
}

func (c *Clock) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *Clock) removeLocked(t *timer) bool {
	for i, x := range c.timers {
		if x == t {
			c.timers = append(c.timers[:i], c.timers[i+1:]...)
			c.notifyLocked()
			return true
		}
	}
	return false
}

type timer struct {
	clock *Clock
	at    time.Time
	ch    chan time.Time
	fn    func()
}

func (t *timer) C() <-chan time.Time { return t.ch }

func (t *timer) Stop() bool {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()
	return t.clock.removeLocked(t)
}

func (t *timer) Reset(d time.Duration) bool {
	c := t.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	pending := c.removeLocked(t)
	if t.ch != nil {
		// Like time.Timer since Go 1.23: no stale value survives a Reset.
		select {
		case <-t.ch:
		default:
		}
	}
	t.at = c.now.Add(d)
	if d <= 0 {
		// Due already: fire now, as a real timer would.
		t.fire(c.now)
		return pending
	}
	c.timers = append(c.timers, t)
	c.notifyLocked()
	return pending
}

func (t *timer) fire(now time.Time) {
	if t.fn != nil {
		go t.fn()
		return
	}
	select {
	case t.ch <- now:
	default:
	}
}
