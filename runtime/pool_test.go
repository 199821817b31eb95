package runtime

import (
	"context"
	"fmt"
	"log/slog"
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
	"unsafe"
)

// These tests run the loop on the system clock inside a synctest bubble,
// where time is fake: the workers' idle timeout is real time, which a
// runtimetest.Clock would not see.

func newPoolTestLoop(cfg Config) *Loop {
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.Location = time.UTC
	return NewLoop(cfg)
}

// workers counts l's worker goroutines: those of other tests' loops, idle
// until their timeout, must not count.
func workers(l *Loop) int { return int(l.pool.size.Load()) }

// runLoop runs l until the returned stop is called, or the test ends;
// stop returns once Run has.
func runLoop(t *testing.T, l *Loop) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// untilNextMinute sleeps (in the bubble's time) to just after the next
// whole minute.
func untilNextMinute() {
	now := time.Now()
	time.Sleep(now.Truncate(time.Minute).Add(time.Minute).Sub(now) + time.Millisecond)
}

func TestBurstOfBlockingRunsAllStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 600 // more than one batch of starts
		l := newPoolTestLoop(Config{MaxConcurrent: n})
		release := make(chan struct{})
		var started atomic.Int32
		addEveryMinute(t, l, n, func(i int) error {
			started.Add(1)
			<-release
			return nil
		})
		stop := runLoop(t, l)
		untilNextMinute()
		synctest.Wait()
		// Every run blocks, so each needs a worker of its own: none may wait
		// behind another.
		if got := started.Load(); got != n {
			t.Errorf("%d of %d blocking runs started", got, n)
		}
		if got := workers(l); got < n {
			t.Errorf("%d workers for %d blocking runs", got, n)
		}
		close(release)
		stop()
		// Run waits for the workers to exit.
		if got := workers(l); got != 0 {
			t.Errorf("%d workers left once Run returned", got)
		}
	})
}

func TestShortRunsShareAFewWorkers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 2000
		l := newPoolTestLoop(Config{MaxConcurrent: n})
		runs := make([]atomic.Int32, n)
		addEveryMinute(t, l, n, func(i int) error {
			runs[i].Add(1)
			return nil
		})
		stop := runLoop(t, l)
		untilNextMinute()
		synctest.Wait()
		untilNextMinute()
		synctest.Wait()
		for i := range runs {
			if got := runs[i].Load(); got != 2 {
				t.Fatalf("job %d ran %d times over two bursts, want 2", i, got)
			}
		}
		// Runs that never block need no more workers than processors, give
		// or take the ones summoned while the others were busy; never one
		// per run.
		if got := workers(l); got > n/10 {
			t.Errorf("%d workers kept for %d short runs", got, n)
		}
		stop()
	})
}

func TestMaxConcurrentHoldsAcrossABurst(t *testing.T) {
	t.Run("small", func(t *testing.T) { testMaxConcurrentHoldsAcrossABurst(t, 40) })
	// Enough for the loop to queue the instant's fires ahead of it (see
	// prepare), which it must not do past the limit.
	t.Run("prepared", func(t *testing.T) { testMaxConcurrentHoldsAcrossABurst(t, spinFires+50) })
}

func testMaxConcurrentHoldsAcrossABurst(t *testing.T, n int) {
	synctest.Test(t, func(t *testing.T) {
		const limit = 3
		l := newPoolTestLoop(Config{MaxConcurrent: limit})
		var active, most, total atomic.Int32
		release := make(chan struct{})
		addEveryMinute(t, l, n, func(i int) error {
			a := active.Add(1)
			for m := most.Load(); a > m && !most.CompareAndSwap(m, a); m = most.Load() {
			}
			total.Add(1)
			<-release
			active.Add(-1)
			return nil
		})
		stop := runLoop(t, l)
		untilNextMinute()
		synctest.Wait()
		if got := total.Load(); got != limit {
			t.Fatalf("%d runs started, want max_concurrent=%d", got, limit)
		}
		// Each run that ends passes its slot to exactly one waiting fire.
		for want := int32(limit + 1); want <= int32(n); want++ {
			release <- struct{}{}
			synctest.Wait()
			if got := total.Load(); got != want {
				t.Fatalf("%d runs started after %d ended, want %d", got, want-limit, want)
			}
		}
		close(release)
		synctest.Wait()
		if got := most.Load(); got != limit {
			t.Errorf("at most %d runs at once, want %d", got, limit)
		}
		stop()
	})
}

func TestIdleWorkersExit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// A loop that never runs still runs triggered jobs; its workers must
		// not outlive their use.
		l := newPoolTestLoop(Config{})
		e, err := l.Add(Job{Name: "j", Spec: "@yearly", Func: func(context.Context, Run) error { return nil }})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Trigger(context.Background()); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := workers(l); got != 1 {
			t.Fatalf("%d workers after a run, want 1 kept idle", got)
		}
		time.Sleep(workerIdle - time.Second)
		synctest.Wait()
		if got := workers(l); got != 1 {
			t.Fatalf("%d workers before the idle timeout, want 1", got)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if got := workers(l); got != 0 {
			t.Errorf("%d workers after the idle timeout, want 0", got)
		}
	})
}

func TestReadyQueueDeliversEachFireOnce(t *testing.T) {
	t.Run("pushed", func(t *testing.T) { testReadyQueueDeliversEachFireOnce(t, false) })
	t.Run("pushed and linked", func(t *testing.T) { testReadyQueueDeliversEachFireOnce(t, true) })
}

// testReadyQueueDeliversEachFireOnce has consumers take fires while they
// are pushed, and with link, every third batch linked as a chain.
func testReadyQueueDeliversEachFireOnce(t *testing.T, link bool) {
	const n, consumers = 20_000, 4
	var q readyQueue
	q.init()
	entries := make([]Entry, n)
	got := make([][]int64, consumers)
	var wg sync.WaitGroup
	var done atomic.Bool
	for c := range consumers {
		wg.Go(func() {
			// Sessions come and go, so that segments are reused while
			// others push and pop.
			var own taker
			for {
				q.enter(&own)
				f, ok := q.pop(&own)
				for ; ok; f, ok = q.pop(&own) {
					got[c] = append(got[c], f.at)
				}
				drained := done.Load() && q.empty()
				q.leave(&own)
				if drained {
					return
				}
				goruntime.Gosched()
			}
		})
	}
	batch := make([]fire, 0, 300)
	for i := range n {
		batch = append(batch, fire{entry: &entries[i], at: int64(i)})
		if len(batch) == cap(batch) || i%7 == 0 { // batches of varied sizes
			if link && i%3 == 0 {
				q.link(q.newChain(batch))
			} else {
				q.push(batch...)
			}
			batch = batch[:0]
		}
	}
	q.push(batch...)
	done.Store(true)
	wg.Wait()

	seen := make([]bool, n)
	for c := range got {
		for k, at := range got[c] {
			if seen[at] {
				t.Fatalf("fire %d taken twice", at)
			}
			seen[at] = true
			// Each consumer takes a lane's fires in the order they were
			// pushed. (Without links, segments are filled whole, so fire i
			// is in lane i/laneSize; with them, which lane holds a fire
			// depends on the batches.)
			if prev := got[c][max(k-1, 0)]; !link && k > 0 && at/laneSize == prev/laneSize && at < prev {
				t.Fatalf("consumer %d took fire %d after %d", c, at, prev)
			}
		}
	}
	for at, ok := range seen {
		if !ok {
			t.Fatalf("fire %d never taken", at)
		}
	}
}

func TestReadyQueueLinksAChainBehindAPartSegment(t *testing.T) {
	var q readyQueue
	q.init()
	entries := make([]Entry, 2*segmentSize)
	fires := func(from, to int) []fire {
		var fs []fire
		for i := from; i < to; i++ {
			fs = append(fs, fire{entry: &entries[i], at: int64(i)})
		}
		return fs
	}
	q.push(fires(0, 10)...)
	q.link(q.newChain(fires(10, segmentSize+20)))
	q.push(fires(segmentSize+20, segmentSize+30)...)

	var own taker
	q.enter(&own)
	defer q.leave(&own)
	for want := range int64(segmentSize + 30) {
		f, ok := q.pop(&own)
		if !ok || f.at != want {
			t.Fatalf("pop = fire %d, %v; want fire %d", f.at, ok, want)
		}
	}
	if _, ok := q.pop(&own); ok || !q.empty() {
		t.Fatal("queue not empty after every fire was taken")
	}
	// The segment sealed part-filled is left behind with the others: only
	// the last, still being filled, is held.
	if head := q.head.Load(); head != q.tail || head.next.Load() != nil {
		t.Error("the queue still holds segments whose fires were all taken")
	}
	q.push(fires(segmentSize+30, segmentSize+31)...)
	if f, ok := q.pop(&own); !ok || f.at != segmentSize+30 {
		t.Fatalf("pop after the chain = fire %d, %v; want fire %d", f.at, ok, segmentSize+30)
	}
}

func TestReadyQueueReusesSegmentsOnceNoConsumerCanReadThem(t *testing.T) {
	var q readyQueue
	q.init()
	entries := make([]Entry, segmentSize+1)
	fs := make([]fire, len(entries))
	for i := range fs {
		fs[i] = fire{entry: &entries[i], at: int64(i)}
	}
	// An instant's chain: a full segment and one with a single fire.
	c := q.newChain(fs)
	first := c.first
	q.link(c)

	var holder, other taker
	q.enter(&holder)
	if _, ok := q.pop(&holder); !ok || holder.s != first {
		t.Fatal("the holder does not hold a lane of the chain's first segment")
	}
	// Another consumer takes the rest, and the head leaves the first
	// segment behind, while the holder, in its session, still holds it.
	q.enter(&other)
	n := 1
	for _, ok := q.pop(&other); ok; _, ok = q.pop(&other) {
		n++
	}
	q.leave(&other)
	if n != len(fs) || q.head.Load() == first {
		t.Fatalf("took %d fires of %d, head left the first segment: %v", n, len(fs), q.head.Load() != first)
	}
	// Two segments each time: the queue's first, also left behind, is
	// reused before the chain's.
	if c := q.newChain(fs); c.first == first || c.last == first {
		t.Fatal("a segment was reused while a consumer in a session held it")
	}
	q.leave(&holder)
	if c := q.newChain(fs); c.last != first {
		t.Fatal("the segment left behind was not reused once every consumer had left")
	}
}

func TestReadyQueueAllocatesNothingOnceWarm(t *testing.T) {
	var q readyQueue
	q.init()
	entries := make([]Entry, 3*segmentSize)
	fs := make([]fire, len(entries))
	for i := range fs {
		fs[i] = fire{entry: &entries[i], at: int64(i)}
	}
	var own taker
	instant := func() {
		q.link(q.newChain(fs))
		q.enter(&own)
		for _, ok := q.pop(&own); ok; _, ok = q.pop(&own) {
		}
		q.leave(&own)
	}
	instant() // fills the retired list
	if allocs := testing.AllocsPerRun(20, instant); allocs != 0 {
		t.Errorf("an instant of %d fires allocated %.1f times, want none", len(fs), allocs)
	}
}

// Instant after instant, the loop allocates next to nothing: the queue
// segments that carry the runs to the workers are reused, and so is the
// buffer of the fires waiting for a slot.
func TestInstantsAllocateNextToNothing(t *testing.T) {
	t.Run("every run at once", func(t *testing.T) { testInstantsAllocateNextToNothing(t, 4*segmentSize) })
	t.Run("runs waiting for a slot", func(t *testing.T) { testInstantsAllocateNextToNothing(t, 64) })
}

func testInstantsAllocateNextToNothing(t *testing.T, maxConcurrent int) {
	const n = 4 * segmentSize
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := &benchClock{now: start}
	l := NewLoop(Config{Clock: clock, Logger: slog.New(slog.DiscardHandler), Location: time.UTC, MaxConcurrent: maxConcurrent})
	l.state = stateRunning
	var runs atomic.Int64
	for range n {
		if _, err := l.Add(Job{Name: "job", Spec: "* * * * * *", Func: func(context.Context, Run) error {
			runs.Add(1)
			return nil
		}}); err != nil {
			t.Fatal(err)
		}
	}
	defer l.closePool()
	q := &l.pool.ready
	instant := func(k int) {
		// As Run does: prepare the instant ahead of it, then fire it.
		at := start.Add(time.Duration(k) * time.Second)
		clock.now = at.Add(-prepareLead)
		l.fireDue(clock.now)
		clock.now = at
		l.fireDue(clock.now)
		l.tasks.Wait()
		// The workers leave the queue, as they do long before the next
		// instant.
		for q.inside[0].n.Load()+q.inside[1].n.Load() != 0 {
			goruntime.Gosched()
		}
	}
	// The first instants start the workers and fill the segments kept for
	// reuse.
	const warm, instants = 5, 10
	for k := range warm {
		instant(1 + k)
	}
	var before, after goruntime.MemStats
	goruntime.ReadMemStats(&before)
	for k := range instants {
		instant(1 + warm + k)
	}
	goruntime.ReadMemStats(&after)
	if got, want := runs.Load(), int64((warm+instants)*n); got != want {
		t.Fatalf("%d runs, want %d", got, want)
	}
	perInstant := (after.TotalAlloc - before.TotalAlloc) / instants
	if segment := uint64(unsafe.Sizeof(segment{})); perInstant >= segment {
		t.Errorf("an instant of %d runs, at most %d at once, allocated %d bytes, more than a queue segment (%d bytes)", n, maxConcurrent, perInstant, segment)
	}
}

func TestReadyQueueLeavesNoFireToAConsumerThatStopped(t *testing.T) {
	var q readyQueue
	q.init()
	const n = 3 * laneSize
	entries := make([]Entry, n)
	for i := range n {
		q.push(fire{entry: &entries[i], at: int64(i)})
	}
	var blocked, other taker
	q.enter(&blocked)
	defer q.leave(&blocked)
	q.enter(&other)
	defer q.leave(&other)
	if f, ok := q.pop(&blocked); !ok || f.at != 0 {
		t.Fatalf("first pop = %d, %v; want fire 0", f.at, ok)
	}
	// blocked now owns the first lane, and takes no more (its run blocks):
	// other takes the free lanes, then the rest of blocked's.
	var got []int64
	for {
		f, ok := q.pop(&other)
		if !ok {
			break
		}
		got = append(got, f.at)
	}
	if len(got) != n-1 {
		t.Fatalf("the other consumer took %d fires, want %d", len(got), n-1)
	}
	if got[0] != laneSize || got[len(got)-1] != laneSize-1 {
		t.Errorf("the other consumer took %d first and %d last, want %d (the oldest free lane) and %d (the blocked lane's last)",
			got[0], got[len(got)-1], laneSize, laneSize-1)
	}
	if !q.empty() {
		t.Error("queue not empty after every fire was taken")
	}
}

// addEveryMinute adds n jobs firing at second 0 of every minute; job i
// runs body(i).
func addEveryMinute(t *testing.T, l *Loop, n int, body func(i int) error) {
	t.Helper()
	for i := range n {
		_, err := l.Add(Job{Name: fmt.Sprint("j", i), Spec: "0 * * * * *", Func: func(context.Context, Run) error { return body(i) }})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestSlotsNeverExceedTheLimit takes and releases slots from goroutines
// on every stripe at once: no more than the limit are ever held, and all
// are free at the end.
func TestSlotsNeverExceedTheLimit(t *testing.T) {
	const limit = 5
	l := NewLoop(Config{MaxConcurrent: limit})
	var held, most atomic.Int32
	var wg sync.WaitGroup
	for stripe := range slotStripes {
		wg.Go(func() {
			for range 20_000 {
				if !l.acquireSlot() {
					continue
				}
				h := held.Add(1)
				for m := most.Load(); h > m && !most.CompareAndSwap(m, h); m = most.Load() {
				}
				goruntime.Gosched() // hold it a while
				held.Add(-1)
				l.releaseSlot(stripe)
			}
		})
	}
	wg.Wait()
	if got := most.Load(); got > limit {
		t.Errorf("%d slots held at once, want at most %d", got, limit)
	}
	if got := l.slots.running(); got != 0 {
		t.Errorf("%d slots held after every one was released", got)
	}
}
