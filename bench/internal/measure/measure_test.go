package measure

import (
	"os"
	"slices"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	sorted := make([]int64, 100)
	for i := range sorted {
		sorted[i] = int64(i + 1)
	}
	for _, tc := range []struct {
		p    float64
		want int64
	}{{50, 50}, {99, 99}, {100, 100}, {1, 1}, {0.5, 1}} {
		if got := Percentile(sorted, tc.p); got != tc.want {
			t.Errorf("Percentile(1..100, %v) = %d, want %d", tc.p, got, tc.want)
		}
	}
	if got := Percentile([]int64{7}, 99); got != 7 {
		t.Errorf("Percentile([7], 99) = %d, want 7", got)
	}
	if got := Percentile(nil, 50); got != 0 {
		t.Errorf("Percentile(nil, 50) = %d, want 0", got)
	}
}

func TestMedian(t *testing.T) {
	xs := []float64{3, 1, 2}
	if got := Median(xs); got != 2 {
		t.Errorf("Median(3, 1, 2) = %v, want 2", got)
	}
	if !slices.Equal(xs, []float64{3, 1, 2}) {
		t.Errorf("Median modified its input: %v", xs)
	}
	if got := Median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("Median(4, 1, 3, 2) = %v, want 2.5", got)
	}
}

func TestRSS(t *testing.T) {
	self, err := RSS(0)
	if err != nil {
		t.Fatal(err)
	}
	byPid, err := RSS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if self < 1<<20 || byPid < 1<<20 {
		t.Errorf("RSS = %d (self), %d (by pid); want at least 1 MiB for a running Go test", self, byPid)
	}
}

func TestBurstRecorder(t *testing.T) {
	const n, bursts = 3, 2
	period := 10 * time.Second
	first := time.Unix(1_800_000_000, 0)
	at := func(d time.Duration) int64 { return first.Add(d).UnixNano() }

	r := NewBurstRecorder(n, bursts)
	r.fireAt(0, at(-time.Hour)) // before Arm: ignored
	r.Arm(first)
	r.fireAt(1, at(-time.Millisecond)) // a warm-up burst's late start: ignored
	// Burst 1: jobs start 1, 2 and 5 ms late.
	r.fireAt(0, at(time.Millisecond))
	r.fireAt(2, at(5*time.Millisecond))
	r.fireAt(1, at(2*time.Millisecond))
	r.fireAt(-1, at(time.Millisecond)) // a job outside the N: ignored
	if r.Done() {
		t.Fatal("Done after one of two bursts")
	}
	// Burst 2: job 2 is so late that it starts after job 0 has; the k-th
	// start of a job still belongs to burst k.
	r.fireAt(0, at(period+3*time.Millisecond))
	r.fireAt(1, at(period+time.Millisecond))
	r.fireAt(2, at(period+30*time.Millisecond))
	if !r.Done() {
		t.Fatal("not Done after every job started in every burst")
	}

	s := r.Stats(period)
	ms := int64(time.Millisecond)
	if want := []int64{5 * ms, 30 * ms}; !slices.Equal(s.AllStarted, want) {
		t.Errorf("AllStarted = %v, want %v", s.AllStarted, want)
	}
	if want := []int64{1 * ms, 1 * ms, 2 * ms, 3 * ms, 5 * ms, 30 * ms}; !slices.Equal(s.Lags, want) {
		t.Errorf("Lags = %v, want %v", s.Lags, want)
	}
	if s.Missing != 0 || s.Early != 0 {
		t.Errorf("Missing, Early = %d, %d; want 0, 0", s.Missing, s.Early)
	}
}

func TestBurstRecorderMissing(t *testing.T) {
	first := time.Unix(1_800_000_000, 0)
	r := NewBurstRecorder(2, 1)
	r.Arm(first)
	r.fireAt(0, first.Add(time.Millisecond).UnixNano())
	s := r.Stats(10 * time.Second)
	if s.Missing != 1 || !slices.Equal(s.AllStarted, []int64{-1}) {
		t.Errorf("Missing = %d, AllStarted = %v; want 1, [-1]", s.Missing, s.AllStarted)
	}
}

func TestSteadyRecorder(t *testing.T) {
	// A window of 90 s from a whole minute: seconds 0 to 29 of a minute
	// come twice, 30 to 59 once.
	from := time.Unix(1_800_000_000-1_800_000_000%60, 0)
	to := from.Add(90 * time.Second)
	const n = 120 // jobs i and i+60 share second i
	r := NewSteadyRecorder(n, to.Sub(from))
	r.Arm(from, to)
	if want := int64(2 * (30*2 + 30*1)); r.Expected() != want {
		t.Fatalf("Expected = %d, want %d", r.Expected(), want)
	}
	fire := func(job int, instant time.Time, lag time.Duration) {
		r.fireAt(job, instant.Add(lag).UnixNano())
	}
	for job := range n {
		s := time.Duration(job%60) * time.Second
		if job == 7 {
			continue // misses both its fires
		}
		fire(job, from.Add(s), time.Duration(job+1)*time.Microsecond)
		if s < 30*time.Second {
			fire(job, from.Add(time.Minute+s), time.Millisecond)
		}
	}
	fire(8, from.Add(8*time.Second), 2*time.Millisecond)  // doubled
	fire(9, from.Add(-51*time.Second), 0)                 // before the window: ignored
	fire(40, to.Add(10*time.Second), 0)                   // after the window: ignored
	fire(-1, from, 0)                                     // not a job: ignored
	fire(10, from.Add(10*time.Second-time.Nanosecond), 0) // a minute late for the instant before the window: ignored
	if r.Done() {
		t.Error("Done with job 7's fires missing")
	}
	// The host stole CPU in second 59, and nothing is known of the second
	// minute: only the first fires of seconds 0 to 58 count as quiet.
	stolen := make([]int64, 60)
	stolen[59] = int64(10 * time.Millisecond)
	s := r.Stats(stolen)
	if s.Expected != 180 || s.Missed != 2 || s.Doubled != 1 {
		t.Errorf("Expected, Missed, Doubled = %d, %d, %d; want 180, 2, 1", s.Expected, s.Missed, s.Doubled)
	}
	// Every recorded fire but the doubled one, which finds job 8's slots
	// taken: 119 first fires, 59 second ones.
	if len(s.Lags) != 178 || !slices.IsSorted(s.Lags) {
		t.Errorf("got %d lags (sorted: %t), want 178 sorted", len(s.Lags), slices.IsSorted(s.Lags))
	}
	// Each job's lag is its own, so a slot read after being overwritten
	// would show.
	var want []int64
	for job := range n {
		if job == 7 {
			continue
		}
		want = append(want, int64(job+1)*int64(time.Microsecond))
		if job%60 < 30 {
			want = append(want, int64(time.Millisecond))
		}
	}
	slices.Sort(want)
	if !slices.Equal(s.Lags, want) {
		t.Errorf("Lags = %v\nwant %v", s.Lags, want)
	}
	// Jobs 7 (missed) and 8 (doubled) are left out: which of their fires
	// came for which instant is not known.
	var quiet []int64
	for job := range n {
		if job%60 != 59 && job != 7 && job != 8 {
			quiet = append(quiet, int64(job+1)*int64(time.Microsecond))
		}
	}
	slices.Sort(quiet)
	if s.QuietSeconds != 59 || s.QuietP99 != Percentile(quiet, 99) {
		t.Errorf("QuietSeconds, QuietP99 = %d, %d; want 59, %d", s.QuietSeconds, s.QuietP99, Percentile(quiet, 99))
	}
	// Second k's latest fire is job k+60's first, or a second one (1 ms).
	wantMax := make([]int64, 90)
	for k := range wantMax {
		wantMax[k] = int64(time.Millisecond)
		if k < 60 {
			wantMax[k] = int64(k+61) * int64(time.Microsecond)
		}
	}
	if !slices.Equal(s.SecondMax, wantMax) {
		t.Errorf("SecondMax = %v\nwant %v", s.SecondMax, wantMax)
	}
}

func TestSteadyRecorderDone(t *testing.T) {
	// 61 jobs: second 0 has two, the others one; the slots of second 1's
	// absent second job stay empty.
	from := time.Unix(1_800_000_000-1_800_000_000%60, 0)
	r := NewSteadyRecorder(61, time.Minute)
	r.Arm(from, from.Add(time.Minute))
	for job := 60; job >= 0; job-- {
		if r.Done() {
			t.Fatalf("Done before job %d fired", job)
		}
		r.fireAt(job, from.Add(time.Duration(job%60)*time.Second+time.Millisecond).UnixNano())
	}
	if !r.Done() {
		t.Fatal("not Done after every job fired")
	}
	if s := r.Stats(nil); s.Expected != 61 || s.Missed != 0 || s.Doubled != 0 || len(s.Lags) != 61 {
		t.Errorf("Expected, Missed, Doubled, lags = %d, %d, %d, %d; want 61, 0, 0, 61", s.Expected, s.Missed, s.Doubled, len(s.Lags))
	}
}

func TestLateWithoutSteal(t *testing.T) {
	ms := int64(time.Millisecond)
	r := Result{
		// Seconds 0 and 2 are late; only second 2 had no steal. Second 3
		// is late with its steal unknown (-1), second 4 with none read.
		LagMaxBySecond: []int64{9 * ms, 1 * ms, 6 * ms, 7 * ms, 8 * ms},
		Steal:          &Steal{Seconds: []int64{10 * ms, 0, 0, -1}},
	}
	if got, ok := r.LateWithoutSteal(5 * ms); got != 1 || !ok {
		t.Errorf("LateWithoutSteal = %d, %t; want 1, true", got, ok)
	}
	if _, ok := (Result{LagMaxBySecond: r.LagMaxBySecond}).LateWithoutSteal(5 * ms); ok {
		t.Error("LateWithoutSteal is ok without a steal watch")
	}
}
