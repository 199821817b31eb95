package telegram

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/scheduler-dev/scheduler/runtime/runtimetest"
)

var t0 = time.Date(2026, 3, 29, 4, 0, 0, 0, time.UTC)

// TestLimiterConcurrentSendsToOneChat has several goroutines per chat
// compete; the release instants the limiter returns never break a rate.
func TestLimiterConcurrentSendsToOneChat(t *testing.T) {
	clk := runtimetest.NewClock(t0)
	l := newLimiter(clk, RateLimit{
		Overall: Rate{10, time.Second},
		Private: Rate{2, time.Second},
		Group:   Rate{1, time.Second},
	})
	chats := map[string]bool{"user 1": false, "user 2": false, "group 1": true, "channel 1": true}
	const goroutines, each = 3, 2

	var mu sync.Mutex
	left := map[string]int{}
	released := map[string][]time.Time{}
	var all []time.Time
	for key := range chats {
		left[key] = goroutines * each
	}
	var wg sync.WaitGroup
	for key, group := range chats {
		for range goroutines {
			wg.Go(func() {
				for range each {
					at, err := l.wait(t.Context(), key, group)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					left[key]--
					released[key] = append(released[key], at)
					all = append(all, at)
					mu.Unlock()
				}
			})
		}
	}
	busy := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, k := range left {
			if k > 0 {
				n++
			}
		}
		return n
	}
	// One goroutine per busy chat sleeps on the clock; the others wait
	// their turn. Advance once all of those sleep.
	for n := busy(); n > 0; n = busy() {
		if clk.Timers() < n {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Millisecond)
			_ = clk.WaitTimers(ctx, n)
			cancel()
			continue
		}
		next, _ := clk.NextDeadline()
		clk.AdvanceTo(next)
	}
	wg.Wait()

	if len(all) != len(chats)*goroutines*each {
		t.Fatalf("%d releases, want %d", len(all), len(chats)*goroutines*each)
	}
	checkGaps(t, "overall", all, 100*time.Millisecond)
	for key, group := range chats {
		min := 500 * time.Millisecond
		if group {
			min = time.Second
		}
		checkGaps(t, key, released[key], min)
	}
	// 6 sends to a group at 1/s cannot end before +5s; the limiter adds
	// no more than one overall slot of delay per send on top.
	if last := slices.MaxFunc(all, time.Time.Compare); last.Sub(t0) > 5*time.Second+600*time.Millisecond {
		t.Errorf("last release at +%s, want about +5s", last.Sub(t0))
	}
}

func checkGaps(t *testing.T, what string, times []time.Time, min time.Duration) {
	t.Helper()
	times = slices.Clone(times)
	slices.SortFunc(times, time.Time.Compare)
	for i := 1; i < len(times); i++ {
		if gap := times[i].Sub(times[i-1]); gap < min-time.Microsecond {
			t.Errorf("%s: releases %d and %d are %s apart, want at least %s", what, i-1, i, gap, min)
		}
	}
}

// TestLimiterCancel checks that a cancelled wait gives its place back.
func TestLimiterCancel(t *testing.T) {
	clk := runtimetest.NewClock(t0)
	l := newLimiter(clk, RateLimit{Overall: Unlimited, Private: Rate{1, time.Second}, Group: Unlimited})
	if at, err := l.wait(t.Context(), "user 1", false); err != nil || !at.Equal(t0) {
		t.Fatalf("first wait = %v, %v; want immediate", at, err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, err := l.wait(ctx, "user 1", false)
		errc <- err
	}()
	if err := clk.WaitTimers(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-errc; err != context.Canceled {
		t.Fatalf("cancelled wait = %v, want context.Canceled", err)
	}
	done := make(chan time.Time, 1)
	go func() {
		at, _ := l.wait(t.Context(), "user 1", false)
		done <- at
	}()
	if err := clk.WaitTimers(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	if at := <-done; !at.Equal(t0.Add(time.Second)) {
		t.Errorf("wait after a cancelled one released at +%s, want +1s", at.Sub(t0))
	}
}

// TestLimiterForgetsIdleChats checks that a burst to many chats does not
// keep a bucket per chat once they have refilled.
func TestLimiterForgetsIdleChats(t *testing.T) {
	clk := runtimetest.NewClock(t0)
	l := newLimiter(clk, RateLimit{Overall: Unlimited, Private: Rate{1, time.Second}, Group: Unlimited})
	for i := range 5000 {
		if _, err := l.wait(t.Context(), fmt.Sprint("user ", i), false); err != nil {
			t.Fatal(err)
		}
		if i%1000 == 999 {
			clk.Advance(time.Second)
		}
	}
	if n := len(l.chats); n > 2048 {
		t.Errorf("limiter keeps %d chat buckets after 5000 chats, want at most 2048", n)
	}

	// A sweep never drops the bucket of the chat being sent to: a second
	// send to it must still wait its second.
	clk.Advance(time.Hour)
	l = newLimiter(clk, RateLimit{Overall: Unlimited, Private: Rate{1, time.Second}, Group: Unlimited})
	n := l.sweepLen + 1 // the last of these sends sweeps
	for i := range n {
		if _, err := l.wait(t.Context(), fmt.Sprint("user ", i), false); err != nil {
			t.Fatal(err)
		}
	}
	last := fmt.Sprint("user ", n-1)
	done := make(chan time.Time, 1)
	go func() {
		at, _ := l.wait(t.Context(), last, false)
		done <- at
	}()
	sleeping := make(chan error, 1)
	go func() { sleeping <- clk.WaitTimers(t.Context(), 1) }()
	select {
	case <-done:
		t.Fatalf("second send to %s released at once, without its bucket", last)
	case err := <-sleeping:
		if err != nil {
			t.Fatal(err)
		}
	}
	start := clk.Now()
	clk.Advance(time.Second)
	if at := <-done; !at.Equal(start.Add(time.Second)) {
		t.Errorf("second send to %s released at +%s, want +1s", last, at.Sub(start))
	}
}

// TestLimiterWindowAfterStall checks the sliding window: after a stall the
// late sends catch up, but no second ever holds more than the rate.
func TestLimiterWindowAfterStall(t *testing.T) {
	clk := runtimetest.NewClock(t0)
	l := newLimiter(clk, RateLimit{Overall: Rate{10, time.Second}, Private: Unlimited, Group: Unlimited})
	for i := range 10 {
		if at, err := l.spaced(t.Context()); err != nil || !at.Equal(t0.Add(time.Duration(i)*100*time.Millisecond)) {
			t.Fatalf("on-time release %d = %v, %v", i, at, err)
		}
		clk.Advance(100 * time.Millisecond)
	}
	// A 600 ms stall: now +1.5s. The window (0.5s, 1.5s] holds 4 releases,
	// so 6 late ones may go at once; the 7th waits for 0.6s to leave it.
	clk.Advance(500 * time.Millisecond)
	stalled := clk.Now()
	for i := range 6 {
		if at, err := l.spaced(t.Context()); err != nil || !at.Equal(stalled) {
			t.Fatalf("catch-up release %d at +%s, %v; want at once", i, at.Sub(stalled), err)
		}
	}
	done := make(chan time.Time, 1)
	go func() {
		at, _ := l.spaced(t.Context())
		done <- at
	}()
	if err := clk.WaitTimers(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	clk.Advance(100 * time.Millisecond)
	if at := <-done; !at.Equal(stalled.Add(100 * time.Millisecond)) {
		t.Errorf("7th release at +%s after the stall, want +100ms", at.Sub(stalled))
	}
}
