package runtime

import (
	goruntime "runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestCollectorCollectsOnlyWhenGoWouldSoon(t *testing.T) {
	goruntime.GC()
	var before debug.GCStats
	debug.ReadGCStats(&before)

	var c collector
	if c.collectIfDue(before.LastGC.Add(collectAfter - time.Second)) {
		t.Fatal("collected with the last collection younger than collectAfter")
	}
	if !c.collectIfDue(before.LastGC.Add(collectAfter)) {
		t.Fatal("did not collect with the last collection collectAfter old")
	}
	if c.collectIfDue(before.LastGC.Add(2 * collectAfter)) {
		t.Fatal("started a second collection while the first had not ended")
	}

	// The collection ends on its own; wait for it without a deadline of
	// our own (the test's timeout is the bound).
	for c.running.Load() {
		time.Sleep(time.Millisecond)
	}
	var after debug.GCStats
	debug.ReadGCStats(&after)
	if after.NumGC <= before.NumGC {
		t.Fatalf("NumGC = %d after the loop's collection, want more than %d", after.NumGC, before.NumGC)
	}
	if c.collectIfDue(after.LastGC.Add(collectAfter - time.Second)) {
		t.Fatal("collected again before collectAfter had passed since its own collection")
	}
}
