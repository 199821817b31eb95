// Package control is the operator's side of a running scheduler: the
// service behind `scheduler jobs`, `trigger`, `pause`, `resume`, `history`
// and `reload` (served on a Unix socket), and the read-only HTTP endpoints
// /metrics, /healthz and /jobs.
//
// A Service owns the runtime.Group of the configured jobs: it applies job
// lists to it (at start and on each reload), keeps paused jobs paused
// across both, and answers the API's questions from the group, the loop's
// reports and the state store.
package control

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scheduler-dev/scheduler/runtime"
	"github.com/scheduler-dev/scheduler/state"
)

// ErrUnknownJob is the error of a request naming no configured job.
var ErrUnknownJob = errors.New("no such job")

// Store keeps what outlives the process about each job: its run history
// and whether it is paused. *state.DB implements it.
type Store interface {
	Record(ctx context.Context, job string, r state.RunRecord) error
	History(ctx context.Context, job string, limit int) ([]state.RunRecord, error)
	SetPaused(ctx context.Context, job string, paused bool) error
	Paused(ctx context.Context, job string) (bool, error)
}

// Options configures a Service.
type Options struct {
	// Group holds the jobs. The Service applies every job list to it; do
	// not call Group.Apply directly.
	Group *runtime.Group
	// Store is where pauses persist and history is kept.
	Store Store
	// Reload, if set, re-reads the configuration and applies it (through
	// Service.Apply); it returns the configuration's problems when the file
	// is rejected. Nil means the API cannot reload.
	Reload func(ctx context.Context) (runtime.Changes, error)
	// Health, if set, reports why the scheduler is unhealthy, by component
	// ("loop", "telegram"); an empty or nil map means healthy.
	Health func() map[string]string
	// Metrics, if set, is served at /metrics of the HTTP endpoints.
	Metrics *Metrics
	// Logger receives the API's records; nil means slog.Default().
	Logger *slog.Logger
}

// Service answers the control API for one running scheduler. Its methods
// are safe for concurrent use.
type Service struct {
	opts   Options
	logger *slog.Logger

	mu      sync.Mutex
	paused  map[string]bool
	running map[string]*atomic.Int64 // runs executing now, by job
}

// NewService returns the service of the jobs in opts.Group.
func NewService(opts Options) *Service {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	s := &Service{opts: opts, logger: logger, paused: map[string]bool{}, running: map[string]*atomic.Int64{}}
	if opts.Metrics != nil {
		opts.Metrics.registry.MustRegister(newJobsCollector(s))
	}
	return s
}

// Apply makes the group hold exactly jobs, like runtime.Group.Apply, and
// keeps the jobs paused in the store stopped: a pause outlives restarts
// and reloads.
func (s *Service) Apply(ctx context.Context, jobs []runtime.Job) (runtime.Changes, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	jobs = slices.Clone(jobs) // their functions get wrapped
	paused := make(map[string]bool)
	for i, j := range jobs {
		p, err := s.opts.Store.Paused(ctx, j.Name)
		if err != nil {
			return runtime.Changes{}, fmt.Errorf("job %q: %w", j.Name, err)
		}
		if p {
			paused[j.Name] = true
		}
		jobs[i].Func = s.counted(j.Name, j.Func)
	}
	ch, err := s.opts.Group.Apply(jobs)
	if err != nil {
		return ch, err
	}
	s.paused = paused
	// Updated entries keep their stopped state; new ones start scheduled.
	for _, e := range s.opts.Group.Entries() {
		if paused[e.Name()] {
			e.Stop()
		}
	}
	for _, name := range ch.Removed {
		delete(s.running, name)
		if s.opts.Metrics != nil {
			s.opts.Metrics.forget(name)
		}
	}
	return ch, nil
}

// counted wraps fn so that the job's running runs can be counted.
// s.mu must be held.
func (s *Service) counted(job string, fn runtime.Func) runtime.Func {
	if fn == nil {
		return nil
	}
	n := s.running[job]
	if n == nil {
		n = new(atomic.Int64)
		s.running[job] = n
	}
	return func(ctx context.Context, r runtime.Run) error {
		n.Add(1)
		defer n.Add(-1)
		return fn(ctx, r)
	}
}

// entry returns the named job's entry, or an error wrapping ErrUnknownJob.
func (s *Service) entry(name string) (*runtime.Entry, error) {
	e, ok := s.opts.Group.Entry(name)
	if !ok {
		return nil, fmt.Errorf("job %q: %w", name, ErrUnknownJob)
	}
	return e, nil
}

// Job states in JobStatus.State.
const (
	StateScheduled = "scheduled" // waiting for its next fire
	StateRunning   = "running"   // a run is going
	StatePaused    = "paused"    // paused by the operator; fires nothing
	StateIdle      = "idle"      // its schedule fires no more (a spent @start, 30 February)
)

// JobStatus is one job as `scheduler jobs --json` and GET /jobs show it.
// Times are in the job's zone.
type JobStatus struct {
	Name     string `json:"name"`
	Schedule string `json:"schedule"`
	Timezone string `json:"timezone"`
	State    string `json:"state"`
	// Running counts the job's runs executing now.
	Running int `json:"running"`
	// LastOutcome, LastError and LastRun (its start) describe the latest
	// recorded run; absent before the first.
	LastOutcome string     `json:"last_outcome,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
	LastRun     *time.Time `json:"last_run,omitempty"`
	NextRun     *time.Time `json:"next_run,omitempty"`
}

// Jobs returns the status of every job, ordered by name.
func (s *Service) Jobs(ctx context.Context) ([]JobStatus, error) {
	entries := s.opts.Group.Entries()
	out := make([]JobStatus, 0, len(entries))
	for _, e := range entries {
		st := JobStatus{Name: e.Name(), Schedule: e.Spec(), Timezone: e.Location().String()}
		s.mu.Lock()
		paused := s.paused[e.Name()]
		if n := s.running[e.Name()]; n != nil {
			st.Running = int(n.Load())
		}
		s.mu.Unlock()
		next := e.NextFire()
		if !next.IsZero() {
			st.NextRun = &next
		}
		switch {
		case paused:
			st.State = StatePaused
		case st.Running > 0:
			st.State = StateRunning
		case next.IsZero():
			st.State = StateIdle
		default:
			st.State = StateScheduled
		}
		last, err := s.opts.Store.History(ctx, e.Name(), 1)
		if err != nil {
			return nil, fmt.Errorf("job %q: %w", e.Name(), err)
		}
		if len(last) == 1 {
			r := last[0]
			st.LastOutcome, st.LastError = r.Outcome, r.Error
			if !r.Start.IsZero() {
				at := r.Start.In(e.Location())
				st.LastRun = &at
			}
		}
		out = append(out, st)
	}
	return out, nil
}

// OnRunEnd records the end of a run in its job's history and in the
// metrics: set it as the loop's runtime.Config.OnRunEnd.
func (s *Service) OnRunEnd(r runtime.Report) {
	rec := state.RunRecord{Scheduled: r.Scheduled, Start: r.Start, End: r.End, Attempts: r.Attempt, Outcome: r.Outcome}
	if r.Err != nil {
		rec.Error = r.Err.Error()
	}
	if err := s.opts.Store.Record(context.Background(), r.Job, rec); err != nil {
		s.logger.Error("could not record the run in the history", "job", r.Job, "error", err)
	}
	if s.opts.Metrics != nil {
		s.opts.Metrics.Observe(r)
	}
}

// Entries returns the jobs' entries, ordered by name.
func (s *Service) Entries() []*runtime.Entry { return s.opts.Group.Entries() }

// Running returns how many runs are executing now, over all jobs.
func (s *Service) Running() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	total := 0
	for _, n := range s.running {
		total += int(n.Load())
	}
	return total
}

// RunResult is the end of a run started by Trigger with wait.
type RunResult struct {
	Job       string    `json:"job"`
	Scheduled time.Time `json:"scheduled"`
	// Ended is false when the trigger did not wait for the run.
	Ended    bool   `json:"ended"`
	Attempts int    `json:"attempts,omitempty"`
	Outcome  string `json:"outcome,omitempty"`
	Error    string `json:"error,omitempty"`
}

// Trigger starts a run of the job now, as its overlap policy allows
// (runtime.ErrSkipped when it refuses). With wait, it returns once the run
// has ended (or ctx has), with its outcome. A paused job can be triggered:
// the pause stops its schedule, not the operator.
func (s *Service) Trigger(ctx context.Context, name string, wait bool) (RunResult, error) {
	e, err := s.entry(name)
	if err != nil {
		return RunResult{}, err
	}
	fired, err := e.Fire()
	if err != nil {
		return RunResult{}, fmt.Errorf("job %q: %w", name, err)
	}
	s.logger.Info("run triggered through the control API", "job", name, "wait", wait)
	res := RunResult{Job: name, Scheduled: fired.Scheduled()}
	if !wait {
		return res, nil
	}
	run, err := fired.Wait(ctx)
	if ctx.Err() != nil {
		return res, fmt.Errorf("job %q: waiting for the run: %w", name, ctx.Err())
	}
	res.Ended, res.Attempts, res.Outcome = true, run.Attempt, runtime.OutcomeOf(err)
	if err != nil {
		res.Error = err.Error()
	}
	return res, nil
}

// SetPaused pauses the job (it fires nothing until resumed; a run going
// finishes) or resumes it (from its next instant after now: what was
// missed while paused is not caught up). The pause is stored first, so that
// it holds across restarts.
func (s *Service) SetPaused(ctx context.Context, name string, paused bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.entry(name)
	if err != nil {
		return err
	}
	if err := s.opts.Store.SetPaused(ctx, name, paused); err != nil {
		return fmt.Errorf("job %q: %w", name, err)
	}
	s.paused[name] = paused
	if paused {
		e.Stop()
		s.logger.Info("job paused", "job", name)
	} else {
		e.Start()
		s.logger.Info("job resumed", "job", name, "next", e.NextFire())
	}
	return nil
}

// Run is one recorded run of a job, as `scheduler history --json` shows it.
type Run struct {
	Scheduled time.Time `json:"scheduled"`
	Start     time.Time `json:"start,omitzero"`
	End       time.Time `json:"end,omitzero"`
	Attempts  int       `json:"attempts"`
	Outcome   string    `json:"outcome"`
	Error     string    `json:"error,omitempty"`
}

// History returns up to limit of the job's recorded runs, newest first,
// in its zone; limit <= 0 means all that are kept.
func (s *Service) History(ctx context.Context, name string, limit int) ([]Run, error) {
	e, err := s.entry(name)
	if err != nil {
		return nil, err
	}
	recs, err := s.opts.Store.History(ctx, name, limit)
	if err != nil {
		return nil, fmt.Errorf("job %q: %w", name, err)
	}
	loc := e.Location()
	out := make([]Run, len(recs))
	for i, r := range recs {
		out[i] = Run{Scheduled: r.Scheduled.In(loc), Attempts: r.Attempts, Outcome: r.Outcome, Error: r.Error}
		if !r.Start.IsZero() {
			out[i].Start = r.Start.In(loc)
		}
		if !r.End.IsZero() {
			out[i].End = r.End.In(loc)
		}
	}
	return out, nil
}

// ErrNoReload is returned by Reload when the service was given no way to
// reload.
var ErrNoReload = errors.New("reload is not available")

// Reload re-reads and applies the configuration, as SIGHUP does.
func (s *Service) Reload(ctx context.Context) (runtime.Changes, error) {
	if s.opts.Reload == nil {
		return runtime.Changes{}, ErrNoReload
	}
	return s.opts.Reload(ctx)
}

// Health reports the problems of the scheduler by component; empty means
// healthy.
func (s *Service) Health() map[string]string {
	if s.opts.Health == nil {
		return nil
	}
	return s.opts.Health()
}
