package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scheduler-dev/scheduler/jobs"
	"github.com/scheduler-dev/scheduler/runtime"
	"github.com/scheduler-dev/scheduler/runtime/runtimetest"
)

// inProcess runs the command in-process with the given environment and
// returns its stdout, stderr and exit status.
func inProcess(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut strings.Builder
	c := &cli{
		stdout: &out,
		stderr: &errOut,
		lookupEnv: func(k string) (string, bool) {
			v, ok := env[k]
			return v, ok
		},
		now: func() time.Time { return time.Date(2026, 3, 27, 12, 0, 0, 0, time.UTC) },
		notify: func(chan<- os.Signal) func() {
			t.Fatal("subscribed to signals")
			return nil
		},
	}
	code = c.main(args)
	return out.String(), errOut.String(), code
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		code       int
		stdout     string // substring; "" means stdout must be empty
		stderr     string // substring; "" means stderr must be empty
		needStdout bool
	}{
		{name: "no command", args: nil, code: exitUsage, stderr: "Commands:"},
		{name: "--help", args: []string{"--help"}, code: exitOK, stdout: "Commands:"},
		{name: "-h", args: []string{"-h"}, code: exitOK, stdout: "Commands:"},
		{name: "help", args: []string{"help"}, code: exitOK, stdout: "Commands:"},
		{name: "help run", args: []string{"help", "run"}, code: exitOK, stdout: "Usage: scheduler run"},
		{name: "unknown", args: []string{"start"}, code: exitUsage, stderr: `unknown command "start"`},
		{name: "unknown flag", args: []string{"validate", "--conf", "x"}, code: exitUsage,
			stderr: "flag provided but not defined: -conf"},
		{name: "positional", args: []string{"validate", "x.yaml"}, code: exitUsage,
			stderr: `scheduler validate: unexpected argument "x.yaml"`},
		{name: "no config", args: []string{"run"}, code: exitUsage,
			stderr: "scheduler run: no config file: pass --config FILE or set $SCHEDULER_CONFIG"},
		{name: "bad log format", args: []string{"run", "--config", "x", "--log-format", "xml"}, code: exitUsage,
			stderr: `--log-format "xml": want auto, text or json`},
		{name: "bad log level", args: []string{"run", "--config", "x", "--log-level", "loud"}, code: exitUsage,
			stderr: `--log-level "loud": want debug, info, warn or error`},
		{name: "next count", args: []string{"next", "--config", "x", "--count", "0"}, code: exitUsage,
			stderr: "--count 0: want 1 or more"},
		{name: "next from", args: []string{"next", "--config", "x", "--from", "2026-03-29 04:00"}, code: exitUsage,
			stderr: `--from "2026-03-29 04:00": want an RFC 3339 time`},
		{name: "missing file", args: []string{"validate", "--config", "does-not-exist.yaml"}, code: exitUsage,
			stderr: "does-not-exist.yaml: cannot read the configuration: no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := inProcess(t, nil, tt.args...)
			if code != tt.code {
				t.Errorf("exit status %d, want %d", code, tt.code)
			}
			for _, s := range []struct{ name, got, want string }{{"stdout", stdout, tt.stdout}, {"stderr", stderr, tt.stderr}} {
				if s.want == "" && s.got != "" || !strings.Contains(s.got, s.want) {
					t.Errorf("%s:\n%s\nwant it to contain %q", s.name, s.got, s.want)
				}
			}
		})
	}
}

func TestConfigFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(path, []byte("timezone: UTC\njobs:\n  - {name: a, schedule: \"@hourly\", log: a}\n  - {name: b, schedule: \"@daily\", log: b}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := inProcess(t, map[string]string{configEnv: path}, "validate")
	if code != exitOK || stdout != path+": 2 jobs OK\n" || stderr != "" {
		t.Errorf("validate with $%s: exit %d, stdout %q, stderr %q", configEnv, code, stdout, stderr)
	}
	// --config wins over the environment.
	_, stderr, code = inProcess(t, map[string]string{configEnv: path}, "validate", "--config", filepath.Join(dir, "other.yaml"))
	if code != exitUsage || !strings.Contains(stderr, "other.yaml") {
		t.Errorf("--config over $%s: exit %d, stderr %q", configEnv, code, stderr)
	}
	// next defaults to now (fixed here) and a count of 5.
	stdout, _, code = inProcess(t, map[string]string{configEnv: path}, "next", "--job", "b", "--json")
	want := `[{"job":"b","next":["2026-03-28T00:00:00Z","2026-03-29T00:00:00Z","2026-03-30T00:00:00Z","2026-03-31T00:00:00Z","2026-04-01T00:00:00Z"]}]` + "\n"
	if code != exitOK || stdout != want {
		t.Errorf("next: exit %d, stdout %s want %s", code, stdout, want)
	}
}

func TestNewLogger(t *testing.T) {
	var b strings.Builder
	// A strings.Builder is not a terminal: auto means JSON.
	l, err := newLogger(&b, "auto", "warn")
	if err != nil {
		t.Fatal(err)
	}
	l.Info("hidden")
	l.Warn("shown", "k", 1)
	var rec map[string]any
	if err := json.Unmarshal([]byte(b.String()), &rec); err != nil || rec["msg"] != "shown" || rec["k"] != 1.0 {
		t.Errorf("auto on a non-terminal wrote %q, want one JSON record at warn", b.String())
	}

	b.Reset()
	l, err = newLogger(&b, "text", "debug")
	if err != nil {
		t.Fatal(err)
	}
	l.Debug("hello", "job", "clock")
	if got := b.String(); !strings.Contains(got, "level=DEBUG msg=hello job=clock") {
		t.Errorf("text wrote %q", got)
	}
}

// logLines is an io.Writer for a slog handler that hands each record to
// the test as it is written.
type logLines chan string

func (l logLines) Write(p []byte) (int, error) {
	l <- string(p)
	return len(p), nil
}

// waitLog waits for a record with message msg, dropping those before it.
func (l logLines) waitLog(t *testing.T, msg string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case line := <-l:
			if strings.Contains(line, `"msg":"`+msg+`"`) {
				return
			}
		case <-timeout:
			t.Fatalf("no %q log record", msg)
		}
	}
}

// serveHarness runs serve on a loop with a fake clock and a task that runs
// until released, with signals delivered by the test.
type serveHarness struct {
	logs    logLines
	signals chan<- os.Signal
	release chan struct{}
	exit    chan int
	stopped chan struct{} // closed when serve unsubscribes
}

func startServe(t *testing.T) *serveHarness {
	t.Helper()
	h := &serveHarness{
		logs:    make(logLines, 100),
		release: make(chan struct{}),
		exit:    make(chan int, 1),
		stopped: make(chan struct{}),
	}
	logger := slog.New(slog.NewJSONHandler(h.logs, nil))
	clock := runtimetest.NewClock(time.Date(2026, 3, 27, 12, 0, 0, 0, time.UTC))
	// The grace period is on the fake clock, which never advances: only the
	// task's release or a second signal can end the shutdown.
	loop := runtime.NewLoop(runtime.Config{Clock: clock, Logger: logger, ShutdownGrace: time.Hour})
	loop.Go(func(ctx context.Context) error {
		select {
		case <-h.release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	subscribed := make(chan chan<- os.Signal, 1)
	c := &cli{
		stdout: &strings.Builder{}, stderr: &strings.Builder{},
		notify: func(ch chan<- os.Signal) func() {
			subscribed <- ch
			return func() { close(h.stopped) }
		},
	}
	go func() { h.exit <- c.serve(loop.Run, logger, systemdNotifier{logger}, func() {}) }()
	h.signals = <-subscribed
	t.Cleanup(func() {
		select {
		case <-h.release:
		default:
			close(h.release)
		}
	})
	return h
}

func (h *serveHarness) waitExit(t *testing.T) int {
	t.Helper()
	select {
	case code := <-h.exit:
		return code
	case <-time.After(10 * time.Second):
		t.Fatal("serve has not returned after 10s")
		return -1
	}
}

func TestServeFirstSignalShutsDownGracefully(t *testing.T) {
	h := startServe(t)
	h.signals <- syscall.SIGTERM
	h.logs.waitLog(t, "loop stopping")
	select {
	case code := <-h.exit:
		t.Fatalf("serve returned %d while a task was still running in the grace period", code)
	default:
	}
	close(h.release)
	if code := h.waitExit(t); code != exitOK {
		t.Errorf("exit status %d, want 0", code)
	}
	h.logs.waitLog(t, "scheduler stopped")
	<-h.stopped // serve unsubscribed before returning
}

func TestServeSecondSignalExitsAtOnce(t *testing.T) {
	h := startServe(t)
	h.signals <- syscall.SIGINT
	h.logs.waitLog(t, "loop stopping")
	h.signals <- syscall.SIGTERM
	if code := h.waitExit(t); code != exitFailure {
		t.Errorf("exit status %d, want 1", code)
	}
	h.logs.waitLog(t, "scheduler stopped: second signal, not waiting for running jobs")
	<-h.stopped
}

func TestServeLoopEndingAloneIsAFailure(t *testing.T) {
	loop := runtime.NewLoop(runtime.Config{Logger: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := loop.Run(ctx); err != nil {
		t.Fatal(err)
	}
	var errOut strings.Builder
	c := &cli{stdout: &strings.Builder{}, stderr: &errOut, notify: func(chan<- os.Signal) func() { return func() {} }}
	logger := slog.New(slog.NewJSONHandler(&errOut, nil))
	if code := c.serve(loop.Run, logger, systemdNotifier{logger}, func() {}); code != exitFailure {
		t.Errorf("serve on a closed loop: exit status %d, want 1", code)
	}
	if !strings.Contains(errOut.String(), "the loop ended without a stop signal") {
		t.Errorf("log: %s", errOut.String())
	}
}

// TestExampleConfig keeps config.example.yaml honest: as shipped it loads,
// and with every "# " line uncommented it still loads, save for the
// Telegram parts, which need credentials (and, for now, a later release).
func TestExampleConfig(t *testing.T) {
	path := filepath.Join("..", "..", "config.example.yaml")
	cfg, err := jobs.Load(path, nil)
	if err != nil {
		t.Fatalf("as shipped: %v", err)
	}
	if len(cfg.Jobs) != 1 || cfg.Jobs[0].Name != "clock" || cfg.Jobs[0].Spec != "@every 1s" {
		t.Errorf("as shipped: want just the clock job @every 1s, got %d jobs", len(cfg.Jobs))
	}

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Every example, uncommented, must be valid as it stands, given the
	// credentials systemd would pass.
	uncommented := regexp.MustCompile(`(?m)^(\s*)# `).ReplaceAll(data, []byte("$1"))
	creds := t.TempDir()
	for _, name := range []string{"app-hash", "bot-token"} {
		if err := os.WriteFile(filepath.Join(creds, name), []byte("secret\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{"TG_APP_ID": "12345", "CREDENTIALS_DIRECTORY": creds}
	cfg, err = jobs.Parse("uncommented.yaml", uncommented, func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	})
	if err != nil {
		t.Fatalf("uncommented:\n%v", err)
	}
	if cfg.Telegram == nil || len(cfg.Jobs) < 8 {
		t.Errorf("uncommented: telegram %v, %d jobs", cfg.Telegram != nil, len(cfg.Jobs))
	}
}
