package runtime

import (
	"context"
	"fmt"
	"log/slog"
	goruntime "runtime"
	"sync/atomic"
	"testing"
	"time"
)

// benchClock is a clock that never fires: the benchmarks drive the loop's
// work directly.
type benchClock struct{ now time.Time }

func (c *benchClock) Now() time.Time                        { return c.now }
func (c *benchClock) NewTimer(time.Duration) Timer          { return idleTimer{} }
func (c *benchClock) AfterFunc(time.Duration, func()) Timer { return idleTimer{} }

type idleTimer struct{}

func (idleTimer) C() <-chan time.Time      { return nil }
func (idleTimer) Stop() bool               { return false }
func (idleTimer) Reset(time.Duration) bool { return false }

// benchSpecs are 60 distinct specs, like a fleet of per-user reminders: job
// i fires at second i%60 of every minute.
var benchSpecs = func() []string {
	specs := make([]string, 60)
	for i := range specs {
		specs[i] = fmt.Sprintf("%d * * * * *", i)
	}
	return specs
}()

func noop(context.Context, Run) error { return nil }

func newBenchLoop(clock Clock) *Loop {
	return NewLoop(Config{Clock: clock, Logger: slog.New(slog.DiscardHandler), Location: time.UTC})
}

func addEntries(b *testing.B, l *Loop, n int) {
	for i := range n {
		if _, err := l.Add(Job{Name: "job", Spec: benchSpecs[i%len(benchSpecs)], Func: noop}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRegister1M adds a million entries over 60 specs. It reports the
// time to register them all and the heap bytes each entry costs.
func BenchmarkRegister1M(b *testing.B) {
	const n = 1_000_000
	clock := &benchClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var before, after goruntime.MemStats
	var loop *Loop
	for b.Loop() {
		loop = nil
		goruntime.GC()
		goruntime.ReadMemStats(&before)
		loop = newBenchLoop(clock)
		addEntries(b, loop, n)
	}
	goruntime.GC()
	goruntime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "heap-B/entry")
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/1M-entries")
	goruntime.KeepAlive(loop)
}

// BenchmarkFire1M measures the loop's own work per fire (finding the due
// entries, admitting their runs, computing their next instants, restoring
// the heap) with a million entries loaded: each wake fires the ~16,667
// entries due at one second.
func BenchmarkFire1M(b *testing.B) {
	const n = 1_000_000
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := &benchClock{now: start}
	loop := newBenchLoop(clock)
	loop.state = stateRunning
	addEntries(b, loop, n)
	fires := 0
	wake := 0
	for b.Loop() {
		wake++
		clock.now = start.Add(time.Duration(wake) * time.Second)
		// As Run does: prepare the instant ahead of it, then fire it.
		clock.now = clock.now.Add(-prepareLead)
		loop.fireDue(clock.now)
		clock.now = clock.now.Add(prepareLead)
		loop.fireDue(clock.now)
		fires += n / len(benchSpecs)
		// Let the runs of this wake finish before the next, as a second of
		// real time would; the wait is not part of the loop's work.
		b.StopTimer()
		loop.tasks.Wait()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(fires), "ns/fire")
}

// BenchmarkAddRemove1M adds and removes one entry while a million are loaded.
func BenchmarkAddRemove1M(b *testing.B) {
	clock := &benchClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	loop := newBenchLoop(clock)
	addEntries(b, loop, 1_000_000)
	for b.Loop() {
		e, err := loop.Add(Job{Name: "one-more", Spec: "30 * * * * *", Func: noop})
		if err != nil {
			b.Fatal(err)
		}
		e.Remove()
	}
}

// BenchmarkInstant1M measures the critical path of a million-entry loop's
// busiest moment: from an instant, prepared ahead as Run does, to the end
// of its 16,667 runs, each recording its start in a table as the peer
// comparison's jobs do. It reports the time until all runs ended, and the
// part of it the loop spent before the first could start; the steady
// scenario's lags lie between the two.
func BenchmarkInstant1M(b *testing.B) {
	const n = 1_000_000
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := &benchClock{now: start}
	loop := NewLoop(Config{Clock: clock, Logger: slog.New(slog.DiscardHandler), Location: time.UTC, MaxConcurrent: n})
	loop.state = stateRunning
	const perSecond = (n + 59) / 60
	// The jobs of one second record side by side.
	started := make([]int64, 60*perSecond)
	for i := range n {
		// A closure per job, allocated in the order the jobs are added.
		slot := &started[i%60*perSecond+i/60]
		if _, err := loop.Add(Job{Name: "job", Spec: benchSpecs[i%60], Func: func(context.Context, Run) error {
			atomic.StoreInt64(slot, time.Now().UnixNano())
			return nil
		}}); err != nil {
			b.Fatal(err)
		}
	}
	var all, queued time.Duration
	wake := 0
	for b.Loop() {
		b.StopTimer()
		wake++
		clock.now = start.Add(time.Duration(wake)*time.Second - prepareLead)
		loop.fireDue(clock.now)
		clock.now = clock.now.Add(prepareLead)
		time.Sleep(2 * time.Millisecond) // the workers park, as between instants
		b.StartTimer()
		t0 := time.Now()
		loop.fireDue(clock.now)
		queued += time.Since(t0)
		loop.tasks.Wait()
		all += time.Since(t0)
	}
	b.ReportMetric(float64(all.Microseconds())/float64(b.N), "µs/instant")
	b.ReportMetric(float64(queued.Microseconds())/float64(b.N), "µs-before-runs/instant")
}
