// Package harness runs one benchmark scenario against one scheduler and
// prints its measure.Result as a JSON line. Each scheduler's program is a
// thin adapter around it, so that every scheduler gets the same scenarios,
// the same job bodies and the same measurements, each in a process of its
// own.
package harness

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"time"

	"github.com/scheduler-dev/scheduler/bench/internal/measure"
)

// Scheduler is the part of a scheduler the scenarios use. H identifies a
// registered job.
type Scheduler[H any] interface {
	// Add registers a job on a six-field spec (seconds first, read in UTC)
	// whose body is fire(job) and nothing else.
	Add(spec string, job int, fire func(job int)) (H, error)
	// Remove unregisters a job.
	Remove(h H) error
	// Start starts the scheduler and returns once it is ready to fire its
	// jobs (for a scheduler that computes its first instants in the
	// background, once it has).
	Start() error
	// Settings names the options that matter for the comparison.
	Settings() string
}

// Config is what a program's adapter is told before it creates its scheduler.
type Config struct {
	Scenario string // measure.Idle, measure.Burst or measure.Steady
	N        int    // the number of jobs
}

// Open creates a scheduler for a run.
type Open[H any] func(Config) (Scheduler[H], error)

type options struct {
	scenario   string
	n          int
	idle       time.Duration
	settle     time.Duration
	pairs      int
	budget     time.Duration
	period     time.Duration
	bursts     int
	window     time.Duration
	lead       time.Duration
	limit      time.Duration
	cpuprofile string
	mutexprof  string
	tracefile  string
}

// Main parses the command line (flags the adapter registered on
// flag.CommandLine included), runs the scenario and prints the result. It
// exits with status 2 on bad flags and 1 if the scheduler fails outright; a
// run that does not finish in time is a result (Result.DNF), not a failure.
func Main[H any](name string, open Open[H]) {
	var o options
	flag.StringVar(&o.scenario, "scenario", measure.Idle, "idle, burst or steady")
	flag.IntVar(&o.n, "n", 1000, "number of jobs")
	flag.DurationVar(&o.idle, "idle", 10*time.Second, "idle: how long CPU use is measured")
	flag.DurationVar(&o.settle, "settle", 2*time.Second, "idle: pause after start before measuring memory and CPU")
	flag.IntVar(&o.pairs, "pairs", 100, "idle: Add+Remove pairs timed while the jobs are loaded")
	flag.DurationVar(&o.budget, "pairs-budget", 10*time.Second, "idle: stop timing pairs after this long (at least 5 are timed)")
	flag.DurationVar(&o.period, "period", 0, "burst: time between bursts, whole seconds dividing a minute (default 10s, 1m from 1,000,000 jobs); a burst not all started within it did not finish")
	flag.IntVar(&o.bursts, "bursts", 3, "burst: number of bursts measured")
	flag.DurationVar(&o.window, "duration", 2*time.Minute, "steady: measured window, whole seconds")
	flag.DurationVar(&o.lead, "lead", 2*time.Second, "burst, steady: least time between the scheduler being ready and the first measured instant")
	flag.DurationVar(&o.limit, "limit", 60*time.Second, "burst, steady: how late the last start may be before the run did not finish")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the measured phase to `file`")
	flag.StringVar(&o.mutexprof, "mutexprofile", "", "write a mutex contention profile of the measured phase to `file`")
	flag.StringVar(&o.tracefile, "trace", "", "write an execution trace of the measured phase to `file` (go tool trace), to see where a lag is spent waiting")
	flag.Parse()
	if o.period == 0 {
		o.period = DefaultPeriod(o.n)
	}
	if err := o.check(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(2)
	}
	res, err := run(name, open, o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %s n=%d: %v\n", name, o.scenario, o.n, err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

func (o *options) check() error {
	var errs []error
	if !slices.Contains([]string{measure.Idle, measure.Burst, measure.Steady}, o.scenario) {
		errs = append(errs, fmt.Errorf("-scenario %q: want idle, burst or steady", o.scenario))
	}
	if o.n < 1 {
		errs = append(errs, fmt.Errorf("-n %d: want at least 1", o.n))
	}
	if o.period%time.Second != 0 || o.period <= 0 || time.Minute%o.period != 0 {
		errs = append(errs, fmt.Errorf("-period %s: want whole seconds dividing a minute", o.period))
	}
	if o.window%time.Second != 0 || o.window <= 0 {
		errs = append(errs, fmt.Errorf("-duration %s: want whole seconds", o.window))
	}
	if o.bursts < 1 || o.pairs < 1 {
		errs = append(errs, errors.New("-bursts and -pairs: want at least 1"))
	}
	return errors.Join(errs...)
}

// profiler writes the CPU and mutex profiles of the measured phase, if
// asked for. A lag that costs little CPU (a burst's goroutines waiting for a
// lock or for a thread) shows in the mutex profile, not in the CPU profile.
type profiler struct {
	path, mutexPath, tracePath string
	f, trace                   *os.File
}

func (p *profiler) start() error {
	if p.mutexPath != "" {
		runtime.SetMutexProfileFraction(1)
	}
	if p.tracePath != "" {
		f, err := os.Create(p.tracePath)
		if err != nil {
			return err
		}
		p.trace = f
		if err := trace.Start(f); err != nil {
			return err
		}
	}
	if p.path == "" {
		return nil
	}
	f, err := os.Create(p.path)
	if err != nil {
		return err
	}
	p.f = f
	// A burst lasts milliseconds: sample at 1 kHz rather than pprof's 100 Hz.
	// Setting the rate first is the documented way; StartCPUProfile then
	// complains on stderr that it cannot set its own, and keeps this one.
	runtime.SetCPUProfileRate(1000)
	return pprof.StartCPUProfile(f)
}

func (p *profiler) stop() error {
	var errs []error
	if p.mutexPath != "" {
		runtime.SetMutexProfileFraction(0)
		errs = append(errs, writeProfile("mutex", p.mutexPath))
		p.mutexPath = ""
	}
	if p.trace != nil {
		trace.Stop()
		errs = append(errs, p.trace.Close())
		p.trace = nil
	}
	if p.f != nil {
		pprof.StopCPUProfile()
		errs = append(errs, p.f.Close())
		p.f = nil
	}
	return errors.Join(errs...)
}

func writeProfile(name, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	return errors.Join(pprof.Lookup(name).WriteTo(f, 0), f.Close())
}

func run[H any](name string, open Open[H], o options) (*measure.Result, error) {
	res := &measure.Result{
		Scheduler: name,
		Scenario:  o.scenario,
		N:         o.n,
		GoVersion: runtime.Version(),
		Procs:     runtime.GOMAXPROCS(0),
	}
	prof := &profiler{path: o.cpuprofile, mutexPath: o.mutexprof, tracePath: o.tracefile}
	var err error
	switch o.scenario {
	case measure.Idle:
		err = idle(res, open, o, prof)
	case measure.Burst:
		err = burst(res, open, o, prof)
	case measure.Steady:
		err = steady(res, open, o, prof)
	}
	return res, errors.Join(err, prof.stop())
}

// register creates the scheduler, adds n jobs (job i on spec(i)) and starts
// it, and records how long that took.
func register[H any](res *measure.Result, open Open[H], o options, spec func(int) string, fire func(int)) (Scheduler[H], error) {
	t0 := time.Now()
	s, err := open(Config{Scenario: o.scenario, N: o.n})
	if err != nil {
		return nil, err
	}
	for i := range o.n {
		if _, err := s.Add(spec(i), i, fire); err != nil {
			return nil, fmt.Errorf("add job %d: %w", i, err)
		}
	}
	if err := s.Start(); err != nil {
		return nil, fmt.Errorf("start: %w", err)
	}
	res.Register = int64(time.Since(t0))
	res.Settings = s.Settings()
	return s, nil
}

// idle: job i at second i%60 of a yearly schedule six months away, so none
// fires; it measures registration, memory, CPU while waiting, and the cost
// of adding and removing one job while all are loaded.
func idle[H any](res *measure.Result, open Open[H], o options, prof *profiler) error {
	month := (int(time.Now().UTC().Month())+5)%12 + 1
	specs := make([]string, 60)
	for s := range specs {
		specs[s] = fmt.Sprintf("%d 0 0 1 %d *", s, month)
	}
	var fires measure.Counter

	measure.Settle()
	before := measure.HeapAlloc()
	if err := prof.start(); err != nil {
		return err
	}
	s, err := register(res, open, o, func(i int) string { return specs[i%60] }, fires.Fire)
	if err != nil {
		return err
	}

	time.Sleep(o.settle)
	measure.Settle()
	if res.RSS, err = measure.RSS(0); err != nil {
		return err
	}
	res.HeapPerJob = (float64(measure.HeapAlloc()) - float64(before)) / float64(o.n)

	cpu0, t0 := measure.CPUTime(), time.Now()
	time.Sleep(o.idle)
	res.IdleCPU, res.IdleWait = int64(measure.CPUTime()-cpu0), int64(time.Since(t0))

	extra := fmt.Sprintf("30 0 0 1 %d *", month)
	var pairs []float64
	start := time.Now()
	for len(pairs) < o.pairs && (len(pairs) < 5 || time.Since(start) < o.budget) {
		t := time.Now()
		h, err := s.Add(extra, -1, fires.Fire)
		if err != nil {
			return fmt.Errorf("add while running: %w", err)
		}
		if err := s.Remove(h); err != nil {
			return fmt.Errorf("remove while running: %w", err)
		}
		pairs = append(pairs, float64(time.Since(t)))
	}
	res.AddRemove, res.AddRemovePairs = int64(measure.Median(pairs)), len(pairs)
	if n := fires.Count(); n > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("%d jobs fired during the idle scenario", n))
	}
	runtime.KeepAlive(s)
	return nil
}

// burst: all n jobs due at the same second, every period; it measures the
// lag of each job's start over several bursts.
func burst[H any](res *measure.Result, open Open[H], o options, prof *profiler) error {
	rec := measure.NewBurstRecorder(o.n, o.bursts)
	spec := fmt.Sprintf("*/%d * * * * *", o.period/time.Second)
	s, err := register(res, open, o, func(int) string { return spec }, rec.Fire)
	if err != nil {
		return err
	}
	res.Period = int64(o.period)

	// The first measured burst is the first at least lead after the
	// scheduler is ready, so registration never eats into it.
	first := ceil(time.Now().Add(o.lead), o.period)
	rec.Arm(first)
	sleepUntil(first.Add(-stealPhase))
	steal := measure.WatchSteal()
	sleepUntil(first.Add(-100 * time.Millisecond))
	if err := prof.start(); err != nil {
		return err
	}
	last := first.Add(time.Duration(o.bursts-1) * o.period)
	for !rec.Done() && time.Now().Before(last.Add(o.limit)) {
		time.Sleep(10 * time.Millisecond)
	}
	res.Steal = steal.Stop()
	if err := prof.stop(); err != nil {
		return err
	}
	st := rec.Stats(o.period)
	res.AllStarted = st.AllStarted
	res.LagP50 = measure.Percentile(st.Lags, 50)
	res.LagP99 = measure.Percentile(st.Lags, 99)
	res.LagMax = measure.Percentile(st.Lags, 100)
	// A burst still going when the next is due makes the next one's starts
	// ambiguous (a scheduler may skip an instant it is too late for), so it
	// did not finish, as one still going after the limit did not.
	within := min(o.period, o.limit)
	for k, all := range st.AllStarted {
		if all < 0 || all > int64(within) {
			res.DNF = fmt.Sprintf("burst %d: not all %d jobs started within %s", k+1, o.n, within)
			if k == 0 && all > 0 {
				res.DNF += fmt.Sprintf(" (the last after %s)", time.Duration(all).Round(time.Millisecond))
			}
			break
		}
	}
	if st.Early > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("%d starts before their burst's instant: a burst outlasted the period", st.Early))
	}
	runtime.KeepAlive(s)
	return nil
}

// steady: job i at second i%60 of every minute, n/60 fires a second; it
// measures lags, missed and doubled fires, and CPU over the window.
func steady[H any](res *measure.Result, open Open[H], o options, prof *profiler) error {
	rec := measure.NewSteadyRecorder(o.n, o.window)
	specs := make([]string, 60)
	for s := range specs {
		specs[s] = fmt.Sprintf("%d * * * * *", s)
	}
	s, err := register(res, open, o, func(i int) string { return specs[i%60] }, rec.Fire)
	if err != nil {
		return err
	}

	from := ceil(time.Now().Add(o.lead), time.Second)
	to := from.Add(o.window)
	rec.Arm(from, to)
	sleepUntil(from.Add(-stealPhase))
	steal := measure.WatchSteal()
	sleepUntil(from)
	if err := prof.start(); err != nil {
		return err
	}
	cpu0, t0 := measure.CPUTime(), time.Now()
	sleepUntil(to)
	res.CPU, res.Window = int64(measure.CPUTime()-cpu0), int64(time.Since(t0))
	res.Steal = steal.Stop()
	if err := prof.stop(); err != nil {
		return err
	}
	for !rec.Done() && time.Now().Before(to.Add(o.limit)) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(time.Second) // a doubled fire would come about now
	var stolen []int64
	if res.Steal != nil {
		stolen = res.Steal.Seconds
	}
	st := rec.Stats(stolen)
	res.Fires, res.Missed, res.Doubled = st.Expected, st.Missed, st.Doubled
	res.LagP50 = measure.Percentile(st.Lags, 50)
	res.LagP99 = measure.Percentile(st.Lags, 99)
	res.LagMax = measure.Percentile(st.Lags, 100)
	res.LagP99Quiet, res.QuietSeconds = st.QuietP99, st.QuietSeconds
	res.LagMaxBySecond = st.SecondMax
	runtime.KeepAlive(s)
	return nil
}

// stealPhase is how long before the first measured instant the steal
// watch starts: its once-a-second readings then fall between instants,
// and each second it reports is centred on one.
const stealPhase = 500 * time.Millisecond

// DefaultPeriod is the time between bursts of n jobs: long enough for the
// slowest scheduler we compare to finish a burst before the next is due,
// and for a million jobs as long as the limit of a run, so that a burst is
// either measured right or did not finish.
func DefaultPeriod(n int) time.Duration {
	if n >= 1_000_000 {
		return time.Minute
	}
	return 10 * time.Second
}

// ceil returns the first multiple of d at or after t; for a d dividing a
// minute, the multiples are aligned with the minutes of UTC.
func ceil(t time.Time, d time.Duration) time.Time {
	r := t.Truncate(d)
	if r.Before(t) {
		r = r.Add(d)
	}
	return r
}

func sleepUntil(t time.Time) { time.Sleep(time.Until(t)) }
