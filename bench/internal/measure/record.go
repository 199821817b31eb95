package measure

import (
	"math"
	"slices"
	"sync/atomic"
	"time"
)

// The recorders below are what job bodies call: each fire costs a clock
// read, an atomic add on the job's counter and an atomic store into a slot
// preallocated for the job, so no lock is taken on the hot path and every
// scheduler pays the same. No counter is shared by all jobs (Done scans
// the jobs' own counters instead), and the jobs due at the same instant
// record side by side: otherwise the bodies' own cache-line transfers
// between cores and cache misses, not the scheduler, would set the pace of
// a second's thousands of fires.

// Counter counts fires; the idle scenario uses it to check that none happen.
type Counter struct{ n atomic.Int64 }

// Fire records one fire of a job.
func (c *Counter) Fire(int) { c.n.Add(1) }

// Count returns the fires recorded.
func (c *Counter) Count() int64 { return c.n.Load() }

// BurstRecorder records the start of every job in a series of bursts in
// which all n jobs are due at the same instant, one burst every period.
type BurstRecorder struct {
	n, bursts int
	first     atomic.Int64 // the instant of the first measured burst; fires before it are warm-up
	counts    []int32      // fires of each job since first
	starts    []int64      // [burst*n + job]: when the body started, Unix ns
	doneUpTo  int          // jobs below it have started in every burst; Done's own
}

// NewBurstRecorder returns a recorder for n jobs over the given number of
// bursts. It ignores every fire until Arm.
func NewBurstRecorder(n, bursts int) *BurstRecorder {
	r := &BurstRecorder{n: n, bursts: bursts, counts: make([]int32, n), starts: make([]int64, n*bursts)}
	r.first.Store(math.MaxInt64)
	return r
}

// Arm starts recording with the burst due at first: a fire that starts
// before it belongs to an earlier, unmeasured burst. The k-th recorded fire
// of a job belongs to burst k, so a burst may run late without its fires
// being confused with the next one's.
func (r *BurstRecorder) Arm(first time.Time) { r.first.Store(first.UnixNano()) }

// Fire records that job's body started.
func (r *BurstRecorder) Fire(job int) { r.fireAt(job, time.Now().UnixNano()) }

func (r *BurstRecorder) fireAt(job int, t int64) {
	if job < 0 || t < r.first.Load() {
		return
	}
	if c := int(atomic.AddInt32(&r.counts[job], 1)); c <= r.bursts {
		atomic.StoreInt64(&r.starts[(c-1)*r.n+job], t)
	}
}

// Done reports whether every job has started in every burst. It resumes
// where its last call stopped, so polling costs O(n) in all. It is not
// safe for concurrent use with itself.
func (r *BurstRecorder) Done() bool {
	for r.doneUpTo < r.n && atomic.LoadInt32(&r.counts[r.doneUpTo]) >= int32(r.bursts) {
		r.doneUpTo++
	}
	return r.doneUpTo == r.n
}

// BurstStats is what a series of bursts measured.
type BurstStats struct {
	// AllStarted holds, per burst, the time from its instant until the last
	// job started; -1 for a burst in which some job never started.
	AllStarted []int64
	// Lags are the lags of all recorded starts, sorted.
	Lags []int64
	// Missing counts job starts that never came; Early counts starts before
	// their burst's instant (which a correct scheduler never does).
	Missing, Early int
}

// Stats computes the lags, with burst k due at first + k*period. Call it
// once the bursts are over: it reuses the recorder's memory.
func (r *BurstRecorder) Stats(period time.Duration) BurstStats {
	first := r.first.Load()
	var s BurstStats
	lags := r.starts[:0]
	for k := range r.bursts {
		due := first + int64(k)*int64(period)
		all := int64(0)
		for j := k * r.n; j < (k+1)*r.n; j++ {
			t := atomic.LoadInt64(&r.starts[j])
			if t == 0 {
				s.Missing++
				all = -1
				continue
			}
			lag := t - due
			if lag < 0 {
				s.Early++
			}
			if all >= 0 {
				all = max(all, lag)
			}
			lags = append(lags, lag)
		}
		s.AllStarted = append(s.AllStarted, all)
	}
	slices.Sort(lags)
	s.Lags = lags
	return s
}

// SteadyRecorder records every fire of n jobs, job i due at second i%60 of
// every minute, whose instant falls in a window.
type SteadyRecorder struct {
	n, perJob  int
	perSec     int          // slots for the jobs of one second of the minute
	from, to   atomic.Int64 // the window, Unix ns: [from, to)
	counts     []int32      // [slot(job)]
	lags       []int64      // [slot(job)*perJob + fire]
	fromS, toS int64
	expected   int64
	doneUpTo   int // jobs below it have fired as often as expected; Done's own
}

// NewSteadyRecorder returns a recorder for n jobs and a window of at most
// window. It ignores every fire until Arm.
func NewSteadyRecorder(n int, window time.Duration) *SteadyRecorder {
	perJob := int((window + time.Minute - 1) / time.Minute)
	perSec := (n + 59) / 60
	r := &SteadyRecorder{n: n, perJob: perJob, perSec: perSec, counts: make([]int32, 60*perSec), lags: make([]int64, 60*perSec*perJob)}
	r.from.Store(math.MaxInt64)
	r.to.Store(math.MinInt64)
	return r
}

// Arm sets the window: fires whose instant is in [from, to) are recorded.
// Both must be whole seconds.
func (r *SteadyRecorder) Arm(from, to time.Time) {
	r.fromS, r.toS = from.Unix(), to.Unix()
	per := r.perSecond()
	r.expected = 0
	for job := range r.n {
		r.expected += per[job%60]
	}
	r.to.Store(to.UnixNano())
	r.from.Store(from.UnixNano())
}

// Fire records that job's body started. Its instant is the last whole
// second at or before now that is second job%60 of a minute: lags are
// assumed under a minute, and a fire outside the window is ignored.
func (r *SteadyRecorder) Fire(job int) { r.fireAt(job, time.Now().UnixNano()) }

func (r *SteadyRecorder) fireAt(job int, t int64) {
	if job < 0 {
		return
	}
	sec := t / int64(time.Second)
	back := (sec - int64(job%60)) % 60
	if back < 0 {
		back += 60
	}
	due := (sec - back) * int64(time.Second)
	if due < r.from.Load() || due >= r.to.Load() {
		return
	}
	slot := r.slot(job)
	if c := int(atomic.AddInt32(&r.counts[slot], 1)); c <= r.perJob {
		atomic.StoreInt64(&r.lags[slot*r.perJob+c-1], t-due)
	}
}

// slot is where job records: the jobs due at the same second of the minute
// (job%60) have consecutive slots.
func (r *SteadyRecorder) slot(job int) int { return job%60*r.perSec + job/60 }

// Expected returns the fires due in the window.
func (r *SteadyRecorder) Expected() int64 { return r.expected }

// perSecond counts, for each second of the minute, its occurrences in the window.
func (r *SteadyRecorder) perSecond() [60]int64 {
	var per [60]int64
	for s := r.fromS; s < r.toS; s++ {
		per[s%60]++
	}
	return per
}

// Done reports whether every fire due in the window has been recorded. It
// resumes where its last call stopped, so polling costs O(n) in all. It is
// not safe for concurrent use with itself.
func (r *SteadyRecorder) Done() bool {
	per := r.perSecond()
	for r.doneUpTo < r.n && int64(atomic.LoadInt32(&r.counts[r.slot(r.doneUpTo)])) >= per[r.doneUpTo%60] {
		r.doneUpTo++
	}
	return r.doneUpTo == r.n
}

// SteadyStats is what the window measured.
type SteadyStats struct {
	Expected, Missed, Doubled int64
	Lags                      []int64 // sorted
	// QuietP99 is the p99 lag of the fires due in the seconds the host
	// stole no CPU in (see Stats), and QuietSeconds counts those seconds.
	QuietP99     int64
	QuietSeconds int
	// SecondMax is the largest lag of the fires due in each second of the
	// window, to read beside the steal of that second.
	SecondMax []int64
}

// Stats counts missed and doubled fires and sorts the lags. stolen is the
// CPU time the host stole in each second of the window, each second
// centred on an instant (see Steal.Seconds); nil if unknown. Call it
// once the window is over: it reuses the recorder's memory.
func (r *SteadyRecorder) Stats(stolen []int64) SteadyStats {
	per := r.perSecond()
	var s SteadyStats
	// quiet reports whether the instant k seconds into the window had no
	// steal.
	quiet := func(k int64) bool { return k < int64(len(stolen)) && stolen[k] == 0 }
	for k := range r.toS - r.fromS {
		if quiet(k) {
			s.QuietSeconds++
		}
	}
	// In slot order, so that the lags compacted to the front of r.lags
	// never overwrite a slot not yet read. The quiet seconds' lags are
	// kept in front of the others, lags[:q].
	lags, q := r.lags[:0], 0
	s.SecondMax = make([]int64, r.toS-r.fromS)
	for slot := range r.counts {
		job := slot/r.perSec + slot%r.perSec*60
		if job >= r.n {
			continue
		}
		want := per[job%60]
		got := int64(atomic.LoadInt32(&r.counts[slot]))
		s.Expected += want
		switch {
		case got < want:
			s.Missed += want - got
		case got > want:
			s.Doubled += got - want
		}
		// The job's first instant in the window; its fires came one a
		// minute after it, in order, unless some were missed or doubled.
		first := (int64(job%60) - r.fromS%60 + 60) % 60
		for f := range min(got, int64(r.perJob)) {
			lag := atomic.LoadInt64(&r.lags[slot*r.perJob+int(f)])
			lags = append(lags, lag)
			k := first + 60*f // the fire's second in the window
			if k < int64(len(s.SecondMax)) {
				s.SecondMax[k] = max(s.SecondMax[k], lag)
			}
			if got == want && quiet(k) {
				last := len(lags) - 1
				lags[q], lags[last] = lags[last], lags[q]
				q++
			}
		}
	}
	slices.Sort(lags[:q])
	s.QuietP99 = Percentile(lags[:q], 99)
	slices.Sort(lags)
	s.Lags = lags
	return s
}
