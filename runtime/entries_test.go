package runtime

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// checkNumbering fails t unless every heap item's number leads to an
// entry that knows its place in the heap and its own number.
func checkNumbering(t *testing.T, l *Loop) {
	t.Helper()
	for i := range l.heap.len() {
		item := l.heap.at(i)
		e := l.entries.at(item.entry)
		if e.index != int32(i) || e.num() != item.entry || e.removed {
			t.Fatalf("heap slot %d: entry %d has index %d, number %d, removed %v", i, item.entry, e.index, e.num(), e.removed)
		}
	}
}

// TestEntryNumbersAreReusedOnceABlockIsEmpty adds and removes entries in
// rounds, as configuration reloads do: the numbers of blocks whose
// entries are all removed are given to new blocks, so the table does not
// grow with churn, and the heap still finds every entry it holds.
func TestEntryNumbersAreReusedOnceABlockIsEmpty(t *testing.T) {
	clock := &benchClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := newBenchLoop(clock)
	rng := rand.New(rand.NewPCG(1, 2))
	const perRound = 2000
	var live []*Entry
	tableSize := 0
	for round := range 6 {
		for i := range perRound {
			e, err := l.Add(Job{Name: fmt.Sprint(round, i), Spec: benchSpecs[i%7], Func: noop})
			if err != nil {
				t.Fatal(err)
			}
			live = append(live, e)
		}
		checkNumbering(t, l)
		// Remove all but a few, in random order.
		rng.Shuffle(len(live), func(i, j int) { live[i], live[j] = live[j], live[i] })
		for _, e := range live[10:] {
			e.Remove()
			e.Remove() // twice: counted once
		}
		live = live[:10]
		checkNumbering(t, l)
		if l.heap.len() != len(live) {
			t.Fatalf("round %d: heap holds %d entries, want %d", round, l.heap.len(), len(live))
		}
		switch {
		case round == 1:
			tableSize = len(l.entries.blocks)
		case round > 1 && len(l.entries.blocks) != tableSize:
			t.Fatalf("round %d: the table grew from %d to %d blocks: dropped numbers are not reused", round, tableSize, len(l.entries.blocks))
		}
	}
	for _, e := range live {
		if e.NextFire().IsZero() {
			t.Errorf("entry %s lost its schedule in the churn", e.Name())
		}
	}
	numbered := 0
	for _, b := range l.entries.blocks {
		if b != nil {
			numbered++
		}
	}
	// At most 10 blocks hold the live entries, and each of the 7
	// schedules may keep the block it allocates from.
	if numbered > 10+7 {
		t.Errorf("%d blocks still numbered for %d live entries", numbered, len(live))
	}
}
