package runtime

import "testing"

func TestQueueKeepsItsBufferForBurstsLikeTheLastAndFreesALargerOne(t *testing.T) {
	var q queue[int]
	drain := func(n int) {
		t.Helper()
		for i := range n {
			q.push(i)
		}
		for want := range n {
			if got, ok := q.pop(); !ok || got != want {
				t.Fatalf("pop = %d, %v; want %d", got, ok, want)
			}
		}
		if _, ok := q.pop(); ok {
			t.Fatal("pop from an empty queue succeeded")
		}
	}
	drain(5000)
	drain(5000)
	kept := &q.buf[0]
	drain(5000)
	if &q.buf[0] != kept {
		t.Error("a burst like the one before it grew the buffer anew")
	}
	drain(1_000_000)
	if len(q.buf) > 2*5000 {
		t.Errorf("after a single large burst the buffer holds %d items, want it back to at most %d", len(q.buf), 2*5000)
	}
}
