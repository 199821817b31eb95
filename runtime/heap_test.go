package runtime

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// checkHeap fails t unless no heap slot is earlier than its parent.
func checkHeap(t *testing.T, l *Loop) {
	t.Helper()
	for i := 1; i < l.heap.len(); i++ {
		parent := (i - 1) / heapArity
		if l.heap.at(i).at < l.heap.at(parent).at {
			t.Fatalf("heap slot %d (at %d) is earlier than its parent %d (at %d)", i, l.heap.at(i).at, parent, l.heap.at(parent).at)
		}
	}
}

// TestHeapGrowsAndShrinksAcrossChunks fills the heap over several chunks
// and empties it in random order: it stays ordered and numbered at every
// step, hands out the entries in time order, and gives back its chunks.
func TestHeapGrowsAndShrinksAcrossChunks(t *testing.T) {
	clock := &benchClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := newBenchLoop(clock)
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 3*heapChunk + 100
	entries := make([]*Entry, n)
	for i := range entries {
		spec := fmt.Sprintf("%d %d * * * *", rng.IntN(60), rng.IntN(60))
		e, err := l.Add(Job{Name: "job", Spec: spec, Func: noop})
		if err != nil {
			t.Fatal(err)
		}
		entries[i] = e
	}
	checkHeap(t, l)
	checkNumbering(t, l)
	if got, want := len(l.heap.chunks), 4; got != want {
		t.Errorf("%d slots take %d chunks, want %d", n, got, want)
	}

	// The root is always the earliest: taking it out n/2 times yields the
	// instants in order.
	var last time.Time
	for range n / 2 {
		e := l.entries.at(l.heap.at(0).entry)
		next := e.NextFire()
		if next.Before(last) {
			t.Fatalf("the root fires at %v, before the previous root's %v", next, last)
		}
		last = next
		e.Remove()
	}
	checkHeap(t, l)
	checkNumbering(t, l)

	rng.Shuffle(len(entries), func(i, j int) { entries[i], entries[j] = entries[j], entries[i] })
	for k, e := range entries {
		e.Remove()
		if k%997 == 0 {
			checkHeap(t, l)
			checkNumbering(t, l)
		}
	}
	if l.heap.len() != 0 {
		t.Fatalf("heap holds %d slots after every entry was removed", l.heap.len())
	}
	// The chunk the next push goes to, and one spare.
	if got := len(l.heap.chunks); got > 2 {
		t.Errorf("an empty heap keeps %d chunks, want at most 2", got)
	}
}
