// Command compare benchmarks this project's runtime loop side by side with
// robfig/cron's Cron runner and go-co-op/gocron v2, and writes BENCHMARKS.md.
//
// It builds one program per scheduler (ours, robfig, gocron) and runs them in
// turn, each in a process of its own so that memory is its own, in rounds
// (A B C A B C …) with the same GOMAXPROCS, job bodies and scenarios. It
// prints the medians and our ratio to the best peer, checks the targets of
// issue 6, and profiles our program for any target it misses.
//
// From the repository root:
//
//	go -C bench run ./cmd/compare          # full: 3 rounds, 1,000 to 1,000,000 jobs (about 2½ hours)
//	go -C bench run ./cmd/compare -quick   # about 2½ minutes: 1,000 and 10,000 jobs, 1 round
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/scheduler-dev/scheduler/bench/internal/harness"
	"github.com/scheduler-dev/scheduler/bench/internal/measure"
)

// schedulers are the programs compared, in the order of each round.
var schedulers = []string{"ours", "robfig", "gocron"}

// peerNames are the column titles.
var peerNames = map[string]string{"ours": "ours", "robfig": "robfig/cron runner", "gocron": "gocron v2"}

type config struct {
	quick      bool
	rounds     int
	ns         []int
	scenarios  []string
	procs      int
	out        string
	raw        string
	grace      time.Duration
	memLimit   int64
	profile    bool
	idle       time.Duration
	settle     time.Duration
	budget     time.Duration
	period     time.Duration // 0: the program's default for N
	window     time.Duration
	lead       time.Duration
	benchDir   string
	binDir     string
	commandArg string
}

func main() {
	var cfg config
	var ns, scenarios string
	flag.BoolVar(&cfg.quick, "quick", false, "a short run: 1,000 and 10,000 jobs, one round, short waits (about 2½ minutes)")
	flag.IntVar(&cfg.rounds, "rounds", 3, "rounds of every scheduler (-quick: 1)")
	flag.StringVar(&ns, "n", "1000,10000,100000,1000000", "comma-separated job counts (-quick: 1000,10000)")
	flag.StringVar(&scenarios, "scenarios", "idle,burst,steady", "comma-separated scenarios")
	flag.IntVar(&cfg.procs, "gomaxprocs", runtime.GOMAXPROCS(0), "GOMAXPROCS of every program")
	flag.StringVar(&cfg.out, "out", "", "where to write the report (default: BENCHMARKS.md in the repository root)")
	flag.StringVar(&cfg.raw, "raw", "", "also write every run's JSON result line to `file`")
	flag.DurationVar(&cfg.grace, "limit", 60*time.Second, "how far past its scenario's own length a run may go before it did not finish")
	memGiB := flag.Float64("mem", 8, "RSS limit of each run, GiB; a run above it is killed and did not finish")
	flag.BoolVar(&cfg.profile, "profile", true, "profile our program for each target it misses and put the profile's top in the report")
	flag.Parse()
	if flag.NArg() > 0 {
		fatalf(2, "unexpected arguments: %q", flag.Args())
	}
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if cfg.quick {
		if !set["rounds"] {
			cfg.rounds = 1
		}
		if !set["n"] {
			ns = "1000,10000"
		}
	}
	cfg.memLimit = int64(*memGiB * (1 << 30))
	var err error
	if cfg.ns, err = parseNs(ns); err != nil {
		fatalf(2, "-n: %v", err)
	}
	for s := range strings.SplitSeq(scenarios, ",") {
		if !slices.Contains([]string{measure.Idle, measure.Burst, measure.Steady}, s) {
			fatalf(2, "-scenarios: unknown scenario %q (want idle, burst, steady)", s)
		}
		cfg.scenarios = append(cfg.scenarios, s)
	}
	if cfg.rounds < 1 || cfg.procs < 1 {
		fatalf(2, "-rounds and -gomaxprocs: want at least 1")
	}
	cfg.idle, cfg.settle, cfg.budget, cfg.window, cfg.lead = 10*time.Second, 2*time.Second, 10*time.Second, 2*time.Minute, 2*time.Second
	if cfg.quick {
		cfg.idle, cfg.settle, cfg.budget, cfg.period, cfg.window, cfg.lead = 2*time.Second, time.Second, 2*time.Second, 2*time.Second, 10*time.Second, time.Second
	}
	cfg.commandArg = strings.Join(os.Args[1:], " ")

	cfg.benchDir, err = benchModuleDir()
	if err != nil {
		fatalf(1, "%v", err)
	}
	if cfg.out == "" {
		cfg.out = filepath.Join(filepath.Dir(cfg.benchDir), "BENCHMARKS.md")
	}
	cfg.binDir, err = os.MkdirTemp("", "scheduler-bench-")
	if err != nil {
		fatalf(1, "%v", err)
	}
	defer os.RemoveAll(cfg.binDir)
	if err := run(&cfg); err != nil {
		fmt.Fprintf(os.Stderr, "compare: %v\n", err)
		os.RemoveAll(cfg.binDir)
		os.Exit(1)
	}
}

func fatalf(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "compare: "+format+"\n", args...)
	os.Exit(code)
}

func parseNs(s string) ([]int, error) {
	var ns []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.ReplaceAll(strings.TrimSpace(f), "_", ""))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q: want a positive job count", f)
		}
		ns = append(ns, n)
	}
	return ns, nil
}

// benchModuleDir returns the directory of the bench module, which the go
// command run in the current directory must be inside.
func benchModuleDir() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Path}} {{.Dir}}").Output()
	if err != nil {
		return "", fmt.Errorf("go list -m: %w (run from the bench module: go -C bench run ./cmd/compare)", err)
	}
	path, dir, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	if path != "github.com/scheduler-dev/scheduler/bench" {
		return "", fmt.Errorf("current module is %s, not the bench module: run go -C bench run ./cmd/compare from the repository root", path)
	}
	return dir, nil
}

// build compiles the three programs once, with the toolchain running us.
func build(cfg *config) error {
	for _, s := range schedulers {
		cmd := exec.Command("go", "build", "-o", filepath.Join(cfg.binDir, s), "./cmd/"+s)
		cmd.Dir = cfg.benchDir
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build ./cmd/%s: %w\n%s", s, err, out)
		}
	}
	return nil
}

type cell struct {
	scenario string
	n        int
}

func run(cfg *config) error {
	progress("building the programs in %s", cfg.binDir)
	if err := build(cfg); err != nil {
		return err
	}
	var raw *os.File
	if cfg.raw != "" {
		var err error
		if raw, err = os.Create(cfg.raw); err != nil {
			return err
		}
		defer raw.Close()
	}
	rep := newReport(cfg)
	var cells []cell
	for _, s := range cfg.scenarios {
		for _, n := range cfg.ns {
			cells = append(cells, cell{s, n})
		}
	}
	total := cfg.rounds * len(cells) * len(schedulers)
	done := 0
	for round := 1; round <= cfg.rounds; round++ {
		for _, c := range cells {
			for _, s := range schedulers {
				done++
				r := runOne(cfg, s, c)
				progress("[%d/%d] round %d/%d  %-6s n=%-9s %-6s  %s  (%.1fs)", done, total, round, cfg.rounds,
					c.scenario, group(c.n), s, summary(r), r.wall.Seconds())
				rep.add(r)
				if raw != nil {
					fmt.Fprintln(raw, r.line)
				}
			}
		}
	}
	rep.finishedAt = time.Now()
	rep.loadAfter = loadAvg()
	if cfg.profile {
		for _, c := range cells {
			if missed := rep.missedTargets(c); len(missed) > 0 {
				progress("profiling ours: %s n=%s (missed: %s)", c.scenario, group(c.n), strings.Join(missed, "; "))
				rep.profiles = append(rep.profiles, profileOurs(cfg, c, missed))
			}
		}
	}
	if err := os.WriteFile(cfg.out, []byte(rep.markdown()), 0o644); err != nil {
		return err
	}
	fmt.Print(rep.console())
	progress("wrote %s", cfg.out)
	return nil
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// args returns the program's flags for a cell.
func (cfg *config) args(c cell) []string {
	a := []string{"-scenario", c.scenario, "-n", strconv.Itoa(c.n)}
	switch c.scenario {
	case measure.Idle:
		a = append(a, "-idle", cfg.idle.String(), "-settle", cfg.settle.String(), "-pairs-budget", cfg.budget.String())
	case measure.Burst:
		if cfg.period > 0 {
			a = append(a, "-period", cfg.period.String())
		}
		a = append(a, "-lead", cfg.lead.String(), "-limit", cfg.grace.String())
	case measure.Steady:
		a = append(a, "-duration", cfg.window.String(), "-lead", cfg.lead.String(), "-limit", cfg.grace.String())
	}
	return a
}

// nominal is how long a run of the cell takes when nothing is late.
func (cfg *config) nominal(c cell) time.Duration {
	switch c.scenario {
	case measure.Idle:
		return cfg.settle + cfg.idle + cfg.budget + 5*time.Second
	case measure.Burst:
		p := cfg.period
		if p == 0 {
			p = harness.DefaultPeriod(c.n)
		}
		return cfg.lead + 4*p + 5*time.Second
	default:
		return cfg.lead + cfg.window + 5*time.Second
	}
}

// outcome is one run of one program.
type outcome struct {
	res     measure.Result
	peakRSS int64
	wall    time.Duration
	line    string // the JSON line, or a description of the failure
}

// runOne runs a program for a cell, killing it past its time limit (the
// scenario's own length, plus the grace for registration and lateness) or
// its RSS limit.
func runOne(cfg *config, sched string, c cell, extra ...string) outcome {
	limit := cfg.nominal(c) + 2*cfg.grace
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	ctx, stop := context.WithTimeoutCause(ctx, limit, fmt.Errorf("killed after %s", limit.Round(time.Second)))
	defer stop()

	args := append(cfg.args(c), extra...)
	cmd := exec.CommandContext(ctx, filepath.Join(cfg.binDir, sched), args...)
	cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(cfg.procs))
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	o := outcome{res: measure.Result{Scheduler: sched, Scenario: c.scenario, N: c.n}}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		o.res.DNF = err.Error()
		return o
	}
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			rss, err := measure.RSS(cmd.Process.Pid)
			if err != nil {
				return // exited
			}
			o.peakRSS = max(o.peakRSS, rss)
			if rss > cfg.memLimit {
				cancel(fmt.Errorf("killed at %s RSS (limit %s)", bytesText(rss), bytesText(cfg.memLimit)))
				return
			}
		}
	}()
	err := cmd.Wait()
	o.wall = time.Since(t0)
	killed := context.Cause(ctx) // before stop, which ends ctx too
	stop()
	<-watched
	out := strings.TrimSpace(stdout.String())
	o.line = out[strings.LastIndexByte(out, '\n')+1:]
	switch {
	case killed != nil && err != nil:
		o.res.DNF = killed.Error()
		o.line = ""
	case err != nil:
		o.res.DNF = fmt.Sprintf("failed: %v: %s", err, lastLine(stderr.String()))
	default:
		if jerr := unmarshal(o.line, &o.res); jerr != nil {
			o.res.DNF = fmt.Sprintf("unreadable result %q: %v", o.line, jerr)
		}
	}
	if o.line == "" {
		o.line = fmt.Sprintf(`{"scheduler":%q,"scenario":%q,"n":%d,"dnf":%q}`, sched, c.scenario, c.n, o.res.DNF)
	}
	return o
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndexByte(s, '\n')+1:]
}

// summary is the progress line's gist of a run.
func summary(o outcome) string {
	r := o.res
	if r.DNF != "" {
		return "did not finish: " + r.DNF
	}
	switch r.Scenario {
	case measure.Idle:
		return fmt.Sprintf("register+start %s, RSS %s, %.0f B/job, idle CPU %s, add+remove %s",
			dur(r.Register), bytesText(r.RSS), r.HeapPerJob, dur(r.IdleCPU), dur(r.AddRemove))
	case measure.Burst:
		all := make([]string, len(r.AllStarted))
		for i, a := range r.AllStarted {
			all[i] = dur(a)
		}
		return fmt.Sprintf("all started after %s; lag p50 %s p99 %s%s", strings.Join(all, " / "), dur(r.LagP50), dur(r.LagP99), stealText(r.Steal))
	default:
		return fmt.Sprintf("lag p50 %s p99 %s max %s, missed %d, doubled %d, CPU %.1f%% of a core%s",
			dur(r.LagP50), dur(r.LagP99), dur(r.LagMax), r.Missed, r.Doubled, 100*float64(r.CPU)/float64(max(r.Window, 1)), stealText(r.Steal))
	}
}

// stealText is the progress line's account of the hypervisor's steal, if
// the run has one.
func stealText(s *measure.Steal) string {
	share, ok := s.Share()
	if !ok {
		return ""
	}
	return fmt.Sprintf("; steal %s, worst second %s", percent(share), dur(s.WorstSecond))
}

// profileOurs runs our program once more for a cell with CPU and mutex
// profiles of its measured phase, and returns the tops of the profiles.
func profileOurs(cfg *config, c cell, missed []string) profile {
	p := profile{cell: c, missed: missed}
	base := filepath.Join(cfg.binDir, fmt.Sprintf("ours-%s-%d", c.scenario, c.n))
	o := runOne(cfg, "ours", c, "-cpuprofile", base+".cpu.pprof", "-mutexprofile", base+".mutex.pprof")
	if o.res.DNF != "" {
		p.cpu = "profiling run did not finish: " + o.res.DNF
		return p
	}
	p.run = summary(o)
	p.cpu = pprofTop(cfg, base+".cpu.pprof")
	p.mutex = pprofTop(cfg, base+".mutex.pprof")
	return p
}

func pprofTop(cfg *config, path string) string {
	out, err := exec.Command("go", "tool", "pprof", "-top", "-nodecount=25", filepath.Join(cfg.binDir, "ours"), path).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("go tool pprof: %v\n%s", err, out)
	}
	// Drop the lines naming the temporary files.
	var lines []string
	for l := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		if !strings.HasPrefix(l, "File: ") && !strings.HasPrefix(l, "Build ID: ") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}
