package runtime

import (
	goruntime "runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestLeaveCPUMovesTheThreadAndKeepsItsCPUs(t *testing.T) {
	goruntime.LockOSThread()
	defer goruntime.UnlockOSThread()
	var before unix.CPUSet
	if err := unix.SchedGetaffinity(0, &before); err != nil {
		t.Fatal(err)
	}
	if before.Count() < 2 {
		t.Skip("the thread may run on one CPU only")
	}
	cpu := currentCPU()
	if cpu < 0 {
		t.Fatal("currentCPU: unknown")
	}
	leaveCPU(cpu)
	if now := currentCPU(); now == cpu {
		t.Errorf("still on CPU %d after leaving it", cpu)
	}
	var after unix.CPUSet
	if err := unix.SchedGetaffinity(0, &after); err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("CPUs allowed after leaveCPU: %d, want the %d allowed before", after.Count(), before.Count())
	}
}

func TestSleepThreadSleepsTheWholeDuration(t *testing.T) {
	const d = 5 * time.Millisecond
	start := time.Now()
	sleepThread(d)
	if got := time.Since(start); got < d {
		t.Errorf("slept %v, want at least %v", got, d)
	}
}
