package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/scheduler-dev/scheduler/runtime"
	"github.com/scheduler-dev/scheduler/runtime/runtimetest"
	"github.com/scheduler-dev/scheduler/state"
)

// alertT0 is a Monday, 10:00 UTC: the fake clock's start in these tests.
var alertT0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// hook is one request a webhook server received.
type hook struct {
	path, body string
}

// webhook starts a server that answers status and hands each request to
// the returned channel; before, if set, runs first in the handler.
func webhook(t *testing.T, status int, before func()) (*httptest.Server, <-chan hook) {
	t.Helper()
	ch := make(chan hook, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if before != nil {
			before()
		}
		ch <- hook{r.URL.Path, string(body)}
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

// loopRun is a runtime loop on a fake clock running cfg's jobs, with every
// run's report.
type loopRun struct {
	loop    *runtime.Loop
	clock   *runtimetest.Clock
	entries map[string]*runtime.Entry
	reports chan runtime.Report
	stop    context.CancelFunc
	done    chan error
	once    sync.Once
}

func startLoop(t *testing.T, cfg *Config, deps Deps, rc runtime.Config) *loopRun {
	t.Helper()
	l := &loopRun{clock: runtimetest.NewClock(alertT0), entries: map[string]*runtime.Entry{},
		reports: make(chan runtime.Report, 100), done: make(chan error, 1)}
	rc.Clock, rc.Logger, rc.Location = l.clock, deps.Logger, time.UTC
	rc.OnRunEnd = func(r runtime.Report) { l.reports <- r }
	l.loop = runtime.NewLoop(rc)
	deps.Clock = l.clock
	for _, j := range cfg.RuntimeJobs(deps) {
		e, err := l.loop.Add(j)
		if err != nil {
			t.Fatal(err)
		}
		l.entries[j.Name] = e
	}
	ctx, cancel := context.WithCancel(context.Background())
	l.stop = cancel
	go func() { l.done <- l.loop.Run(ctx) }()
	t.Cleanup(l.shutdown)
	return l
}

// shutdown stops the loop and waits for Run, which waits for every run
// and its alerts, to return.
func (l *loopRun) shutdown() {
	l.once.Do(func() {
		l.stop()
		<-l.done // Run returns nil once started
	})
}

func (l *loopRun) report(t *testing.T) runtime.Report {
	t.Helper()
	select {
	case r := <-l.reports:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no run ended within 10s")
		return runtime.Report{}
	}
}

// TestAlertOnFailureAfterLastRetry runs a failing command with three
// attempts in a real loop: its on_failure webhook gets exactly one POST,
// after the third attempt, rendered with the run's error, the command's
// output and the attempts made; on_success stays silent.
func TestAlertOnFailureAfterLastRetry(t *testing.T) {
	counter := filepath.Join(t.TempDir(), "attempts")
	attemptsAtPost := make(chan int, 10)
	srv, hooks := webhook(t, http.StatusNoContent, func() {
		data, _ := os.ReadFile(counter)
		attemptsAtPost <- strings.Count(string(data), "\n")
	})
	cfg := mustParse(t, fmt.Sprintf(`timezone: UTC
jobs:
  - name: backup
    schedule: "@start"
    retry: {attempts: 3, backoff: 10s}
    exec: {command: "echo attempt >> %s; echo 'disk full: /dev/sda1' >&2; exit 3", shell: true}
    on_failure:
      - http:
          url: %s/alert
          method: POST
          headers: {Content-Type: application/json}
          body: '{"job": {{ .Job | json }}, "attempts": {{ .Attempts }}, "outcome": {{ .Outcome | json }}, "error": {{ .Error | json }}, "output": {{ .Output | json }}}'
    on_success:
      - http: {url: %s/success, method: POST}
`, counter, srv.URL, srv.URL), nil)
	logger, _ := newRecorder()
	l := startLoop(t, cfg, Deps{Logger: logger, HTTPClient: srv.Client()}, runtime.Config{})

	// Two failed attempts, each followed by a backoff on the fake clock
	// (besides the loop's own timer): no alert meanwhile.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for _, backoff := range []time.Duration{10 * time.Second, 20 * time.Second} {
		if err := l.clock.WaitTimers(ctx, 2); err != nil {
			t.Fatal("no retry backoff pending")
		}
		select {
		case h := <-hooks:
			t.Fatalf("alert before the last attempt: %+v", h)
		default:
		}
		l.clock.Advance(backoff)
	}

	r := l.report(t)
	if r.Outcome != runtime.OutcomeFailed || r.Attempt != 3 {
		t.Errorf("report = %+v", r)
	}
	var h hook
	select {
	case h = <-hooks:
	case <-time.After(10 * time.Second):
		t.Fatal("no alert within 10s of the last attempt")
	}
	if n := <-attemptsAtPost; n != 3 {
		t.Errorf("the alert came after %d attempts, want 3", n)
	}
	var got struct {
		Job, Outcome, Error, Output string
		Attempts                    int
	}
	if err := json.Unmarshal([]byte(h.body), &got); err != nil {
		t.Fatalf("body %q: %v", h.body, err)
	}
	want := struct {
		Job, Outcome, Error, Output string
		Attempts                    int
	}{"backup", "failed", "job backup: exec: command failed: exit status 3", "disk full: /dev/sda1\n", 3}
	if h.path != "/alert" || got != want {
		t.Errorf("alert %s %+v, want /alert %+v", h.path, got, want)
	}

	// Once per run: nothing else arrives, on_success included.
	l.shutdown()
	select {
	case h := <-hooks:
		t.Errorf("a second request: %+v", h)
	default:
	}
}

// TestAlertOutcomes checks which alert each outcome runs, and what its
// templates see.
func TestAlertOutcomes(t *testing.T) {
	cfg := mustParse(t, `jobs:
  - name: j
    schedule: "@hourly"
    timezone: Asia/Tokyo
    log: hi
    on_failure:
      - log: "FAILED {{ .Job }} {{ .Outcome }} after {{ .Attempts }} (#{{ .Attempt }}) in {{ .Duration }}, due {{ .Scheduled.Format \"15:04 MST\" }}, now {{ .Now.Format \"15:04\" }}: {{ .Error }} [{{ .Output }}]"
    on_success:
      - log: "OK {{ .Job }} {{ .Outcome }} after {{ .Attempts }} [{{ .Error }}{{ .Output }}]"
`, nil)
	clk := runtimetest.NewClock(alertT0.Add(90 * time.Second))
	logger, recs := newRecorder()
	onEnd := cfg.job(t, "j").OnEnd(Deps{Logger: logger, Clock: clk})
	exitErr := fmt.Errorf("job j: exec: command failed: %w", &ExitError{Code: 2, Output: "no space left\n"})
	for _, tt := range []struct {
		outcome  string
		err      error
		attempts int
		want     string // "" for no alert
	}{
		{runtime.OutcomeOK, nil, 2, "OK j ok after 2 []"},
		{runtime.OutcomeFailed, exitErr, 3, "FAILED j failed after 3 (#3) in 1m30s, due 19:00 JST, now 19:01: job j: exec: command failed: exit status 2 [no space left\n]"},
		{runtime.OutcomeFailed, errors.New("job j: http GET https://example.com/: status 500"), 1,
			"FAILED j failed after 1 (#1) in 1m30s, due 19:00 JST, now 19:01: job j: http GET https://example.com/: status 500 []"},
		{runtime.OutcomeTimeout, fmt.Errorf("%w: job j: exec: command stopped (timed out after 1m0s): %w", &runtime.TimeoutError{Timeout: time.Minute}, &ExitError{Code: -1, Signal: syscall.SIGTERM, Output: "half done\n"}), 1,
			"FAILED j timeout after 1 (#1) in 1m30s, due 19:00 JST, now 19:01: timed out after 1m0s: job j: exec: command stopped (timed out after 1m0s): signal: terminated [half done\n]"},
		{runtime.OutcomePanic, &runtime.PanicError{Value: "boom"}, 1, "FAILED j panic after 1 (#1) in 1m30s, due 19:00 JST, now 19:01: panic: boom []"},
		{runtime.OutcomeCanceled, fmt.Errorf("%w: job j: exec: command stopped", runtime.ErrShutdown), 1, ""},
		{runtime.OutcomeCanceled, fmt.Errorf("%w: job j: exec: command stopped", runtime.ErrReplaced), 1, ""},
		{runtime.OutcomeSkipped, runtime.ErrClaimed, 1, ""},
	} {
		before := len(recs.all())
		onEnd(t.Context(), runtime.Report{
			Run:   runtime.Run{Job: "j", Scheduled: alertT0, Attempt: tt.attempts},
			Start: alertT0, End: alertT0.Add(90 * time.Second), Outcome: tt.outcome, Err: tt.err,
		})
		var got []string
		sent := 0
		for _, r := range recs.all()[before:] {
			if r.Attrs["job"] != "j" {
				t.Errorf("%s: record %+v", tt.outcome, r)
			}
			switch {
			case r.Level == slog.LevelDebug && r.Msg == "alert sent":
				sent++
			case r.Level == slog.LevelInfo:
				got = append(got, r.Msg)
			default:
				t.Errorf("%s: record %+v", tt.outcome, r)
			}
		}
		var want []string
		if tt.want != "" {
			want = []string{tt.want}
		}
		if !slices.Equal(got, want) || sent != len(want) {
			t.Errorf("%s (%v): logged %q and %d alert sent, want %q", tt.outcome, tt.err, got, sent, want)
		}
	}
}

// TestAlertNotOnCanceledOrSkipped runs jobs in a real loop whose runs end
// cancelled (replaced by a newer run, or stopped at shutdown) or skipped
// (the occurrence was claimed before): on_failure stays silent.
func TestAlertNotOnCanceledOrSkipped(t *testing.T) {
	const alerts = `
    on_failure: [{log: "ALERT {{ .Outcome }}"}]
    on_success: [{log: "SUCCESS {{ .Attempts }}"}]
`
	alerted := func(recs *recordStore) []string {
		var out []string
		for _, r := range recs.all() {
			if strings.HasPrefix(r.Msg, "ALERT") || strings.HasPrefix(r.Msg, "SUCCESS") || r.Msg == "alert failed" {
				out = append(out, r.Msg)
			}
		}
		return out
	}

	t.Run("replaced", func(t *testing.T) {
		marker := filepath.Join(t.TempDir(), "started")
		cfg := mustParse(t, fmt.Sprintf(`jobs:
  - name: r
    schedule: "@yearly"
    overlap: replace
    exec: {command: "[ -e %[1]s ] && exit 0; touch %[1]s; echo started; exec sleep 60", shell: true, kill_after: 100ms}
`+alerts, marker), nil)
		logger, recs := newRecorder()
		l := startLoop(t, cfg, Deps{Logger: logger}, runtime.Config{})
		first, err := l.entries["r"].Fire()
		if err != nil {
			t.Fatal(err)
		}
		recs.waitFor(t, func(r record) bool { return r.Msg == "started" })
		second, err := l.entries["r"].Fire()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := first.Wait(t.Context()); !errors.Is(err, runtime.ErrReplaced) {
			t.Errorf("first run: %v", err)
		}
		if _, err := second.Wait(t.Context()); err != nil {
			t.Errorf("second run: %v", err)
		}
		outcomes := []string{l.report(t).Outcome, l.report(t).Outcome}
		slices.Sort(outcomes)
		if !slices.Equal(outcomes, []string{runtime.OutcomeCanceled, runtime.OutcomeOK}) {
			t.Errorf("outcomes %v", outcomes)
		}
		// Fired.Wait returns once the run's alerts are done.
		if got := alerted(recs); !slices.Equal(got, []string{"SUCCESS 1"}) {
			t.Errorf("alerts %q, want only the second run's on_success", got)
		}
	})

	t.Run("shutdown", func(t *testing.T) {
		cfg := mustParse(t, `jobs:
  - name: s
    schedule: "@start"
    exec: {command: "echo started; exec sleep 60", shell: true, kill_after: 100ms}
`+alerts, nil)
		logger, recs := newRecorder()
		l := startLoop(t, cfg, Deps{Logger: logger}, runtime.Config{ShutdownGrace: -1})
		recs.waitFor(t, func(r record) bool { return r.Msg == "started" })
		l.shutdown()
		if r := l.report(t); r.Outcome != runtime.OutcomeCanceled {
			t.Errorf("report %+v", r)
		}
		if got := alerted(recs); len(got) != 0 {
			t.Errorf("alerts %q", got)
		}
	})

	t.Run("claimed", func(t *testing.T) {
		db, err := state.Open(filepath.Join(t.TempDir(), "state.db"), state.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if ok, err := db.Claim(t.Context(), "c", alertT0); !ok || err != nil {
			t.Fatalf("claim: %v %v", ok, err)
		}
		cfg := mustParse(t, "jobs:\n  - name: c\n    schedule: \"@start\"\n    log: ran"+alerts, nil)
		logger, recs := newRecorder()
		l := startLoop(t, cfg, Deps{Logger: logger}, runtime.Config{Store: db})
		if r := l.report(t); r.Outcome != runtime.OutcomeSkipped {
			t.Errorf("report %+v", r)
		}
		l.shutdown()
		if got := alerted(recs); len(got) != 0 {
			t.Errorf("alerts %q", got)
		}
		if got := recs.messages(map[string]string{"job": "c"}); slices.Contains(got, "ran") {
			t.Errorf("the claimed occurrence ran: %q", got)
		}
	})
}

// TestAlertDefaultsAndOverrides checks inheritance from defaults:, a job's
// own alert replacing the default, [] turning it off, and that jobs
// without alerts get no OnEnd.
func TestAlertDefaultsAndOverrides(t *testing.T) {
	cfg := mustParse(t, `defaults:
  timeout: 10m
  on_failure: [{log: "default failure {{ .Job }}"}]
  on_success: [{log: "default success {{ .Job }}"}]
jobs:
  - {name: inherits, schedule: "@hourly", log: hi}
  - name: overrides
    schedule: "@hourly"
    log: hi
    on_failure:
      - log: "own failure {{ .Job }}, 1"
      - log: "own failure {{ .Job }}, 2"
  - name: opts-out
    schedule: "@hourly"
    log: hi
    on_failure: []
    on_success: []
  - name: success-only
    schedule: "@hourly"
    log: hi
    on_failure: []
`, nil)
	logger, recs := newRecorder()
	deps := Deps{Logger: logger}
	rjs := cfg.RuntimeJobs(deps)
	for _, tt := range []struct {
		job              string
		failure, success []string
	}{
		{"inherits", []string{"default failure inherits"}, []string{"default success inherits"}},
		{"overrides", []string{"own failure overrides, 1", "own failure overrides, 2"}, []string{"default success overrides"}},
		{"opts-out", nil, nil},
		{"success-only", nil, []string{"default success success-only"}},
	} {
		i := slices.IndexFunc(cfg.Jobs, func(j *Job) bool { return j.Name == tt.job })
		j, rj := cfg.Jobs[i], rjs[i]
		if tt.failure == nil && tt.success == nil {
			if j.OnEnd(deps) != nil || rj.Policy != &j.Policy || rj.Policy.OnEnd != nil {
				t.Errorf("%s: has an OnEnd", tt.job)
			}
			continue
		}
		if rj.Policy.OnEnd == nil || !equalPolicy(withoutOnEnd(*rj.Policy), j.Policy) || rj.Policy.Timeout != 10*time.Minute {
			t.Errorf("%s: runtime policy %+v, job policy %+v", tt.job, rj.Policy, j.Policy)
			continue
		}
		for _, c := range []struct {
			outcome string
			want    []string
		}{{runtime.OutcomeFailed, tt.failure}, {runtime.OutcomeOK, tt.success}} {
			before := len(recs.all())
			rj.Policy.OnEnd(t.Context(), runtime.Report{Run: runtime.Run{Job: tt.job, Attempt: 1}, Outcome: c.outcome, Err: errors.New("x")})
			var got []string
			for _, r := range recs.all()[before:] {
				if r.Level == slog.LevelInfo {
					got = append(got, r.Msg)
				}
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("%s, %s: logged %q, want %q", tt.job, c.outcome, got, c.want)
			}
		}
	}

	// Without alerts anywhere, nothing is added to the policy.
	plain := mustParse(t, "jobs:\n  - {name: p, schedule: \"@hourly\", log: hi}\n", nil)
	if rj := plain.RuntimeJobs(deps)[0]; rj.Policy != &plain.Jobs[0].Policy || rj.Policy.OnEnd != nil {
		t.Errorf("policy of a job without alerts: %+v", rj.Policy)
	}
}

func withoutOnEnd(p runtime.Policy) runtime.Policy {
	p.OnEnd = nil
	return p
}

// TestAlertFailureIsLoggedNotTheOutcome runs, in a real loop, a job whose
// on_success webhook fails: the run stays ok, the failure is logged with
// the job and the alert, and the alert's next step still runs.
func TestAlertFailureIsLoggedNotTheOutcome(t *testing.T) {
	srv, hooks := webhook(t, http.StatusInternalServerError, nil)
	cfg := mustParse(t, fmt.Sprintf(`jobs:
  - name: ok-job
    schedule: "@yearly"
    log: working
    on_success:
      - http: {url: "%s/hook?token=s3cr3t", method: POST, body: "{{ .Job }} is fine"}
      - log: "second step ran"
`, srv.URL), nil)
	logger, recs := newRecorder()
	l := startLoop(t, cfg, Deps{Logger: logger, HTTPClient: srv.Client()}, runtime.Config{})
	if _, err := l.entries["ok-job"].Trigger(t.Context()); err != nil {
		t.Errorf("the run failed: %v", err)
	}
	if r := l.report(t); r.Outcome != runtime.OutcomeOK || r.Err != nil {
		t.Errorf("report %+v", r)
	}
	if h := <-hooks; h.body != "ok-job is fine" {
		t.Errorf("webhook got %+v", h)
	}
	var failed []record
	for _, r := range recs.all() {
		if r.Msg == "alert failed" {
			failed = append(failed, r)
		}
	}
	wantErr := "on_success[0] (http): http POST " + srv.URL + "/hook: status 500 Internal Server Error, expected 2xx"
	if len(failed) != 1 || failed[0].Level != slog.LevelError || failed[0].Attrs["job"] != "ok-job" ||
		failed[0].Attrs["alert"] != "on_success" || failed[0].Attrs["error"] != wantErr {
		t.Errorf("alert failure records %+v, want one with error %s", failed, wantErr)
	}
	if got := recs.messages(map[string]string{"job": "ok-job", "step": "on_success[1]"}); !slices.Equal(got, []string{"second step ran"}) {
		t.Errorf("second step: %q", got)
	}
	for _, r := range recs.all() {
		if strings.Contains(fmt.Sprint(r), "s3cr3t") {
			t.Errorf("a record shows the URL's query: %+v", r)
		}
	}
}

// TestAlertTimeout checks that an alert's steps are bounded by the job's
// timeout, or a minute without one, on the Deps clock.
func TestAlertTimeout(t *testing.T) {
	arrived := make(chan struct{}, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done()
	}))
	defer srv.Close()
	cfg := mustParse(t, fmt.Sprintf(`jobs:
  - name: bounded
    schedule: "@hourly"
    timeout: 5s
    log: hi
    on_failure:
      - http: {url: %[1]q}
      - log: never
  - name: default
    schedule: "@hourly"
    log: hi
    on_failure:
      - http: {url: %[1]q}
`, srv.URL), nil)
	for _, tt := range []struct {
		job     string
		timeout time.Duration
		want    []string
	}{
		{"bounded", 5 * time.Second, []string{
			"on_failure[0] (http): http GET " + srv.URL + ": timed out after 5s",
			"on_failure[1] (log) not started: timed out after 5s",
		}},
		{"default", time.Minute, []string{"on_failure[0] (http): http GET " + srv.URL + ": timed out after 1m0s"}},
	} {
		clk := runtimetest.NewClock(alertT0)
		logger, recs := newRecorder()
		onEnd := cfg.job(t, tt.job).OnEnd(Deps{Logger: logger, Clock: clk, HTTPClient: srv.Client()})
		done := make(chan struct{})
		go func() {
			defer close(done)
			onEnd(t.Context(), runtime.Report{Run: runtime.Run{Job: tt.job, Attempt: 1}, Outcome: runtime.OutcomeFailed, Err: errors.New("x")})
		}()
		<-arrived
		if deadline, ok := clk.NextDeadline(); !ok || deadline != alertT0.Add(tt.timeout) {
			t.Errorf("%s: alert deadline %v, want %v", tt.job, deadline, alertT0.Add(tt.timeout))
		}
		clk.Advance(tt.timeout)
		<-done
		var got []string
		for _, r := range recs.all() {
			if r.Msg == "alert failed" && r.Attrs["alert"] == "on_failure" && r.Attrs["job"] == tt.job {
				got = append(got, r.Attrs["error"])
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: alert failures %q, want %q", tt.job, got, tt.want)
		}
		if n := clk.Timers(); n != 0 {
			t.Errorf("%s: %d timers left", tt.job, n)
		}
	}
}

// TestAlertExecEnvironment checks that an exec step of an alert gets the
// alert's data as SCHEDULER_* variables, and that its own env: wins.
func TestAlertExecEnvironment(t *testing.T) {
	out := filepath.Join(t.TempDir(), "env")
	cfg := mustParse(t, fmt.Sprintf(`jobs:
  - name: j
    schedule: "@daily"
    timezone: Europe/Berlin
    log: hi
    on_failure:
      - exec:
          command: [/bin/sh, -c, 'env | grep ^SCHEDULER_ | sort > %s']
          env: {SCHEDULER_DURATION: overridden}
`, out), nil)
	exitErr := fmt.Errorf("job j: exec: command failed: %w", &ExitError{Code: 1, Output: "line 1\nline\x002\n"})
	cfg.job(t, "j").OnEnd(Deps{})(t.Context(), runtime.Report{
		Run: runtime.Run{Job: "j", Scheduled: alertT0, Attempt: 2}, Start: alertT0, End: alertT0.Add(time.Second),
		Outcome: runtime.OutcomeFailed, Err: exitErr,
	})
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want := "SCHEDULER_ATTEMPTS=2\n" +
		"SCHEDULER_DURATION=overridden\n" +
		"SCHEDULER_ERROR=job j: exec: command failed: exit status 1\n" +
		"SCHEDULER_JOB=j\n" +
		"SCHEDULER_OUTCOME=failed\n" +
		"SCHEDULER_OUTPUT=line 1\n" +
		"SCHEDULER_SCHEDULED=2026-03-02T11:00:00+01:00\n"
	// The NUL byte, which no environment can hold, is gone (or the command
	// would not have started); grep drops the output's other lines.
	if string(data) != want {
		t.Errorf("environment:\n%s\nwant:\n%s", data, want)
	}
}
