// Package measure holds what the benchmark programs and their driver share:
// the result record each program prints, process statistics (RSS, CPU) and
// the lag recorders the job bodies write into.
package measure

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"syscall"
	"time"
)

// Scenario names, as passed to -scenario.
const (
	Idle   = "idle"
	Burst  = "burst"
	Steady = "steady"
)

// Result is what one run of one scheduler in one scenario measured. Each
// program prints it as one JSON line on stdout; durations are nanoseconds,
// sizes bytes. Fields a scenario does not measure are left out.
type Result struct {
	Scheduler string `json:"scheduler"`
	Scenario  string `json:"scenario"`
	N         int    `json:"n"`
	// DNF, when set, says why the run did not finish; the numbers are then
	// partial at best.
	DNF string `json:"dnf,omitempty"`
	// Settings names the scheduler's options that matter for the comparison.
	Settings  string   `json:"settings,omitempty"`
	GoVersion string   `json:"go_version"`
	Procs     int      `json:"gomaxprocs"`
	Notes     []string `json:"notes,omitempty"`

	// Register is the time to register N jobs and start the scheduler, until
	// it is ready to fire (every scenario).
	Register int64 `json:"register_ns"`

	// Idle.
	RSS            int64   `json:"rss_bytes,omitempty"`     // VmRSS after GC and FreeOSMemory
	HeapPerJob     float64 `json:"heap_per_job,omitempty"`  // live heap growth / N
	IdleWait       int64   `json:"idle_wait_ns,omitempty"`  // how long CPU was measured
	IdleCPU        int64   `json:"idle_cpu_ns,omitempty"`   // CPU used over IdleWait
	AddRemove      int64   `json:"add_remove_ns,omitempty"` // median Add+Remove pair while running
	AddRemovePairs int     `json:"add_remove_pairs,omitempty"`

	// Burst and steady: lag from the scheduled instant to the body's start.
	LagP50 int64 `json:"lag_p50_ns,omitempty"`
	LagP99 int64 `json:"lag_p99_ns,omitempty"`
	LagMax int64 `json:"lag_max_ns,omitempty"`

	// Burst.
	Period     int64   `json:"period_ns,omitempty"`      // between bursts
	AllStarted []int64 `json:"all_started_ns,omitempty"` // per burst: until the last of N started

	// Steady.
	Window  int64 `json:"window_ns,omitempty"` // measured span
	Fires   int64 `json:"fires,omitempty"`     // fires expected in the window
	Missed  int64 `json:"missed"`
	Doubled int64 `json:"doubled"`
	CPU     int64 `json:"cpu_ns,omitempty"` // CPU used over Window
	// The p99 lag of the fires due in the seconds with no steal (see
	// Steal), and how many of the window's seconds those were.
	LagP99Quiet  int64 `json:"lag_p99_quiet_ns,omitempty"`
	QuietSeconds int   `json:"quiet_seconds,omitempty"`
	// LagMaxBySecond is the largest lag of the fires due in each second of
	// the steady window, to read beside Steal.Seconds.
	LagMaxBySecond []int64 `json:"lag_max_by_second_ns,omitempty"`

	// Burst and steady: CPU time the hypervisor took while they were
	// measured; nil where the machine does not say.
	Steal *Steal `json:"steal,omitempty"`
}

// Settle collects garbage and returns freed memory to the OS, so that RSS
// and heap figures count live data only.
func Settle() {
	runtime.GC()
	debug.FreeOSMemory()
}

// HeapAlloc returns the bytes of live heap objects (after Settle: live data).
func HeapAlloc() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// CPUTime returns the user and system CPU time the process has used.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(fmt.Sprintf("getrusage: %v", err)) // cannot fail with RUSAGE_SELF
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// RSS returns the resident set size of process pid (0: this process), read
// from /proc/PID/status.
func RSS(pid int) (int64, error) {
	path := "/proc/self/status"
	if pid != 0 {
		path = "/proc/" + strconv.Itoa(pid) + "/status"
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmRSS:"))
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(string(bytes.TrimSuffix(bytes.TrimSpace(rest), []byte(" kB"))), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: VmRSS: %w", path, err)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("%s: no VmRSS line", path)
}

// Percentile returns the p-th percentile (0 < p <= 100, nearest rank) of
// sorted, or 0 if it is empty.
func Percentile(sorted []int64, p float64) int64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(float64(len(sorted))*p/100+0.999999999) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

// Median returns the median of xs (the mean of the middle two for an even
// count), or 0 if xs is empty. It does not modify xs.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// LateWithoutSteal counts the seconds of a steady window in which some fire
// was more than limit late although the host stole no CPU: the late
// instants that steal does not explain. ok is false when the run did not
// report both each second's latest fire and its steal.
func (r Result) LateWithoutSteal(limit int64) (seconds int, ok bool) {
	if r.Steal == nil || len(r.LagMaxBySecond) == 0 {
		return 0, false
	}
	for k, lag := range r.LagMaxBySecond {
		if lag > limit && k < len(r.Steal.Seconds) && r.Steal.Seconds[k] == 0 {
			seconds++
		}
	}
	return seconds, true
}
