package control_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scheduler-dev/scheduler/control"
	"github.com/scheduler-dev/scheduler/runtime"
	"github.com/scheduler-dev/scheduler/runtime/runtimetest"
	"github.com/scheduler-dev/scheduler/state"
)

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// daemon is a running loop with its service on a real state file and a
// real control socket.
type daemon struct {
	t       *testing.T
	clock   *runtimetest.Clock
	loop    *runtime.Loop
	db      *state.DB
	svc     *control.Service
	metrics *control.Metrics
	client  *control.Client
	socket  string
	reload  func(ctx context.Context) (runtime.Changes, error)
	stop    func() // ends the daemon, releasing its state file
}

// start runs jobs on a fresh loop over the state file in dir.
func start(t *testing.T, dir string, jobs ...runtime.Job) *daemon {
	t.Helper()
	d := &daemon{t: t, clock: runtimetest.NewClock(t0), socket: filepath.Join(dir, control.SocketName)}
	db, err := state.Open(filepath.Join(dir, "state.db"), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d.db = db
	d.metrics = control.NewMetrics("test")
	d.loop = runtime.NewLoop(runtime.Config{
		Clock: d.clock, Logger: slog.New(slog.DiscardHandler), Location: time.UTC, Store: db,
		OnRunEnd: func(r runtime.Report) { d.svc.OnRunEnd(r) },
	})
	d.svc = control.NewService(control.Options{
		Group:   runtime.NewGroup(d.loop),
		Store:   db,
		Metrics: d.metrics,
		Reload: func(ctx context.Context) (runtime.Changes, error) {
			if d.reload == nil {
				return runtime.Changes{}, errors.New("no reload in this test")
			}
			return d.reload(ctx)
		},
		Health: func() map[string]string { return nil },
		Logger: slog.New(slog.DiscardHandler),
	})
	if _, err := d.svc.Apply(t.Context(), jobs); err != nil {
		t.Fatal(err)
	}
	l, err := control.Listen(d.socket, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	loopDone, serveDone := make(chan error, 1), make(chan error, 1)
	go func() { loopDone <- d.loop.Run(ctx) }()
	go func() { serveDone <- control.Serve(ctx, l, d.svc.Handler()) }()
	var stopped bool
	d.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-serveDone; err != nil {
			t.Errorf("Serve: %v", err)
		}
		<-loopDone
		db.Close()
	}
	t.Cleanup(d.stop)
	d.client = control.NewClient(d.socket)
	return d
}

// counter is a job body that counts its runs and fails while fail is set.
type counter struct {
	runs chan runtime.Run
	fail error
}

func newCounter() *counter { return &counter{runs: make(chan runtime.Run, 100)} }

func (c *counter) run(ctx context.Context, r runtime.Run) error {
	c.runs <- r
	return c.fail
}

func TestTriggerWaitReportsTheOutcomeAndRecordsIt(t *testing.T) {
	c := newCounter()
	c.fail = errors.New("disk full")
	d := start(t, t.TempDir(), runtime.Job{Name: "backup", Spec: "0 3 * * *", Func: c.run,
		Policy: &runtime.Policy{Retry: runtime.Retry{Attempts: 2}}})

	res, err := d.client.Trigger(t.Context(), "backup", true)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Ended || res.Outcome != runtime.OutcomeFailed || res.Attempts != 2 || !strings.Contains(res.Error, "disk full") ||
		!res.Scheduled.Equal(t0) {
		t.Errorf("Trigger --wait = %+v", res)
	}
	if n := len(c.runs); n != 2 {
		t.Errorf("%d attempts ran, want 2", n)
	}
	hist, err := d.client.History(t.Context(), "backup", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 || hist[0].Outcome != runtime.OutcomeFailed || hist[0].Attempts != 2 || !strings.Contains(hist[0].Error, "disk full") {
		t.Errorf("History = %+v", hist)
	}
	jobs, err := d.client.Jobs(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 1 || jobs[0].LastOutcome != "failed" || jobs[0].LastRun == nil || !jobs[0].LastRun.Equal(t0) ||
		jobs[0].State != control.StateScheduled || jobs[0].NextRun == nil || !jobs[0].NextRun.Equal(time.Date(2026, 3, 3, 3, 0, 0, 0, time.UTC)) {
		t.Errorf("Jobs = %+v", jobs)
	}
}

func TestTriggerHonoursTheOverlapPolicy(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 10)
	d := start(t, t.TempDir(), runtime.Job{Name: "slow", Spec: "@yearly",
		Func: func(ctx context.Context, r runtime.Run) error {
			started <- struct{}{}
			<-release
			return nil
		},
		Policy: &runtime.Policy{Overlap: runtime.OverlapForbid}})
	res, err := d.client.Trigger(t.Context(), "slow", false)
	if err != nil || res.Ended {
		t.Fatalf("Trigger without wait = %+v, %v", res, err)
	}
	<-started
	jobs, err := d.client.Jobs(t.Context())
	if err != nil || jobs[0].State != control.StateRunning || jobs[0].Running != 1 {
		t.Errorf("Jobs while running = %+v, %v", jobs, err)
	}
	if _, err := d.client.Trigger(t.Context(), "slow", true); err == nil || !strings.Contains(err.Error(), "skipped by the overlap policy") {
		t.Errorf("second trigger under forbid: %v, want a skip", err)
	}
	close(release)
}

func TestUnknownJobAndNoDaemon(t *testing.T) {
	d := start(t, t.TempDir(), runtime.Job{Name: "a", Spec: "@hourly", Func: newCounter().run})
	for name, call := range map[string]func() error{
		"trigger": func() error { _, err := d.client.Trigger(t.Context(), "nope", false); return err },
		"pause":   func() error { return d.client.SetPaused(t.Context(), "nope", true) },
		"history": func() error { _, err := d.client.History(t.Context(), "nope", 1); return err },
	} {
		if err := call(); !errors.Is(err, control.ErrUnknownJob) || !strings.Contains(err.Error(), `job "nope"`) {
			t.Errorf("%s of an unknown job: %v", name, err)
		}
	}
	_, err := control.NewClient(filepath.Join(t.TempDir(), "none.sock")).Jobs(t.Context())
	if !errors.Is(err, control.ErrNotRunning) || !strings.Contains(err.Error(), "none.sock") {
		t.Errorf("no daemon: %v", err)
	}
}

func TestPauseStopsFiresAndOutlivesARestart(t *testing.T) {
	dir := t.TempDir()
	c := newCounter()
	job := runtime.Job{Name: "tick", Spec: "* * * * *", Func: c.run}
	d := start(t, dir, job)
	if err := d.client.SetPaused(t.Context(), "tick", true); err != nil {
		t.Fatal(err)
	}
	jobs, _ := d.client.Jobs(t.Context())
	if jobs[0].State != control.StatePaused || jobs[0].NextRun != nil {
		t.Errorf("paused job: %+v", jobs[0])
	}
	d.clock.Advance(3 * time.Minute)
	if err := d.client.SetPaused(t.Context(), "tick", true); err != nil { // a round trip: the loop has woken
		t.Fatal(err)
	}
	if n := len(c.runs); n != 0 {
		t.Fatalf("a paused job ran %d times", n)
	}
	// A new process on the same state: the job comes back paused.
	d.stop()
	d2 := start(t, dir, job)
	jobs, _ = d2.client.Jobs(t.Context())
	if jobs[0].State != control.StatePaused {
		t.Fatalf("after a restart: %+v", jobs[0])
	}
	// Resuming fires from the next instant after now: the paused minutes
	// are not caught up.
	if err := d2.client.SetPaused(t.Context(), "tick", false); err != nil {
		t.Fatal(err)
	}
	jobs, _ = d2.client.Jobs(t.Context())
	if jobs[0].State != control.StateScheduled || jobs[0].NextRun == nil || !jobs[0].NextRun.Equal(t0.Add(time.Minute)) {
		t.Errorf("resumed: %+v", jobs[0])
	}
	d2.clock.Advance(time.Minute)
	r := <-c.runs
	if !r.Scheduled.Equal(t0.Add(time.Minute)) {
		t.Errorf("first run after resume scheduled at %v", r.Scheduled)
	}
}

func TestReloadKeepsPausesAndReportsProblems(t *testing.T) {
	c := newCounter()
	d := start(t, t.TempDir(), runtime.Job{Name: "a", Spec: "* * * * *", Func: c.run})
	if err := d.client.SetPaused(t.Context(), "a", true); err != nil {
		t.Fatal(err)
	}
	d.reload = func(ctx context.Context) (runtime.Changes, error) {
		return d.svc.Apply(ctx, []runtime.Job{
			{Name: "a", Spec: "*/2 * * * *", Func: c.run}, // rescheduled: a new entry
			{Name: "b", Spec: "@hourly", Func: c.run},
		})
	}
	ch, err := d.client.Reload(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ch.Rescheduled, ch.Added) != "[a] [b]" {
		t.Errorf("Changes = %+v", ch)
	}
	jobs, _ := d.client.Jobs(t.Context())
	if jobs[0].Name != "a" || jobs[0].State != control.StatePaused || jobs[0].Schedule != "*/2 * * * *" {
		t.Errorf("after the reload: %+v", jobs[0])
	}

	d.reload = func(context.Context) (runtime.Changes, error) {
		return runtime.Changes{}, errors.New("config.yaml:3:5: job \"a\": schedule: bad\nconfig.yaml:9:1: jobs: empty")
	}
	_, err = d.client.Reload(t.Context())
	var rejected *control.RejectedError
	if !errors.As(err, &rejected) || len(rejected.Problems) != 2 || !strings.HasPrefix(rejected.Problems[1], "config.yaml:9:1:") {
		t.Errorf("rejected reload: %#v", err)
	}
}

func TestSocketIsPrivateAndAStaleOneIsReplaced(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, control.SocketName)
	l, err := control.Listen(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Mode().Type() != os.ModeSocket {
		t.Fatalf("socket mode %v, %v; want a 0600 socket", fi.Mode(), err)
	}
	// A process that died leaves its socket file: the next one takes over.
	l.(interface{ SetUnlinkOnClose(bool) }).SetUnlinkOnClose(false)
	l.Close()
	l, err = control.Listen(path, nil)
	if err != nil {
		t.Fatalf("over a stale socket: %v", err)
	}
	l.Close()

	plain := filepath.Join(dir, "plain")
	os.WriteFile(plain, nil, 0o600)
	if _, err := control.Listen(plain, nil); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("over a regular file: %v", err)
	}
	long := filepath.Join(dir, strings.Repeat("x", 120), control.SocketName)
	if _, err := control.Listen(long, nil); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Errorf("a path too long: %v", err)
	}
}

func TestPublicHandlerServesMetricsHealthAndJobsOnly(t *testing.T) {
	c := newCounter()
	d := start(t, t.TempDir(), runtime.Job{Name: "hourly-news", Spec: "0 * * * *", Func: c.run})
	if _, err := d.client.Trigger(t.Context(), "hourly-news", true); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d.svc.PublicHandler())
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	status, body := get("/metrics")
	for _, want := range []string{
		`scheduler_runs_total{job="hourly-news",outcome="ok"} 1`,
		`scheduler_run_duration_seconds_count{job="hourly-news"} 1`,
		`scheduler_fire_lag_seconds_count 1`,
		fmt.Sprintf(`scheduler_next_fire_timestamp_seconds{job="hourly-news"} %g`, float64(t0.Add(time.Hour).Unix())),
		`scheduler_job_paused{job="hourly-news"} 0`,
		`scheduler_running_runs 0`,
		`scheduler_jobs 1`,
		`scheduler_build_info{version="test"} 1`,
		`go_goroutines`,
	} {
		if status != 200 || !strings.Contains(body, want) {
			t.Errorf("/metrics (status %d) lacks %q", status, want)
		}
	}
	if status, body := get("/healthz"); status != 200 || !strings.Contains(body, `"ok"`) {
		t.Errorf("/healthz: %d %s", status, body)
	}
	if status, body := get("/jobs"); status != 200 || !strings.Contains(body, `"name": "hourly-news"`) {
		t.Errorf("/jobs: %d %s", status, body)
	}
	resp, err := http.Post(srv.URL+"/v1/jobs/hourly-news/trigger", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("the public handler let a trigger through: %s", resp.Status)
	}
}

// TestPeerOfAnotherUserIsRefused connects as another user (nobody) to a
// socket whose mode would let it in: the peer check must still refuse.
// It needs root, to run the client as someone else.
func TestPeerOfAnotherUserIsRefused(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to connect as another user")
	}
	dir, err := os.MkdirTemp("", "peer")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	d := start(t, dir, runtime.Job{Name: "a", Spec: "@hourly", Func: newCounter().run})
	if err := os.Chmod(d.socket, 0o666); err != nil {
		t.Fatal(err)
	}
	// The test binary sits in a directory only root may enter: run a copy.
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	helper := filepath.Join(dir, "helper.test")
	if err := os.WriteFile(helper, self, 0o755); err != nil {
		t.Fatal(err)
	}
	ask := func(uid uint32) error {
		t.Helper()
		cmd := exec.Command(helper, "-test.run=^TestDialHelper$")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CONTROL_TEST_SOCKET="+d.socket)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
		out, err := cmd.CombinedOutput()
		if err != nil && !strings.Contains(string(out), "DIAL FAILED") {
			t.Fatalf("the helper did not run as uid %d: %v\n%s", uid, err, out)
		}
		if err != nil {
			return errors.New(string(out))
		}
		return nil
	}
	if err := ask(0); err != nil {
		t.Errorf("root was refused: %v", err)
	}
	if err := ask(65534); err == nil {
		t.Error("a peer running as nobody got an answer")
	}
}

// TestDialHelper is run by TestPeerOfAnotherUserIsRefused in a child
// process, as another user.
func TestDialHelper(t *testing.T) {
	path := os.Getenv("CONTROL_TEST_SOCKET")
	if path == "" {
		t.Skip("only run as a child of TestPeerOfAnotherUserIsRefused")
	}
	if _, err := control.NewClient(path).Jobs(context.Background()); err != nil {
		fmt.Println("DIAL FAILED:", err)
		os.Exit(1)
	}
}
