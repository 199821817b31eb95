package runtime

import (
	"context"
	goruntime "runtime"
	"sync/atomic"
	"testing"
	"time"
)

// TestStandbyRunsTheFiresOfItsInstant calls the stand-by for an instant
// and queues that instant's fires without summoning a worker, so that
// only the stand-by can start on them (and summon workers, as a worker
// would): each runs once, and the stand-by exits when the pool closes.
// (How early it is awake is the steady benchmark's business.)
func TestStandbyRunsTheFiresOfItsInstant(t *testing.T) {
	if goruntime.GOMAXPROCS(0) < 2 {
		t.Skip("the stand-by needs two processors")
	}
	const n = 300
	l := newPoolTestLoop(Config{MaxConcurrent: n})
	var ran [n]atomic.Int32
	e, err := l.Add(Job{Name: "j", Spec: "@yearly", Func: func(context.Context, Run) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(20 * time.Millisecond).UnixNano()
	fs := make([]fire, n)
	for i := range fs {
		fs[i] = fire{entry: e, at: at, policy: e.policyOrZero(), fn: func(context.Context, Run) error {
			ran[i].Add(1)
			return nil
		}}
	}

	l.mu.Lock()
	l.callStandby(at)
	l.mu.Unlock()
	if got := l.acquireSlots(n); got != n {
		t.Fatalf("took %d slots, want %d", got, n)
	}
	l.tasks.Add(n)
	l.pool.ready.push(fs...)

	done := make(chan struct{})
	go func() {
		l.tasks.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the stand-by did not run the fires of its instant")
	}
	for i := range ran {
		if got := ran[i].Load(); got != 1 {
			t.Fatalf("fire %d ran %d times, want once", i, got)
		}
	}
	if held := l.slots.running(); held != 0 {
		t.Errorf("%d slots still held, want none", held)
	}

	closed := make(chan struct{})
	go func() {
		l.closePool()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the stand-by did not exit when the pool closed")
	}
}
