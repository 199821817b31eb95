//go:build linux

package main

// End-to-end tests: the scheduler binary, built once, run as a real process
// with real signals and real child processes. These are the only tests here
// that take real time, a few seconds each at most; they wait for output
// lines rather than sleeping.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// waitLimit bounds every wait for the binary. Generous: under -race on two
// busy cores a second-long job can be late; the waits end as soon as the
// awaited line arrives.
const waitLimit = 15 * time.Second

var (
	binDir    string // holds the binary; removed by TestMain
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "scheduler-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	// Orphaned grandchildren (the background processes of exec jobs) are
	// reparented to this process rather than to init, so that the tests can
	// reap them and watch their process groups vanish, whatever the init of
	// the machine does about zombies.
	if err := setChildSubreaper(); err != nil {
		fmt.Fprintln(os.Stderr, "prctl(PR_SET_CHILD_SUBREAPER):", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func setChildSubreaper() error {
	const prSetChildSubreaper = 36 // from linux/prctl.h
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); errno != 0 {
		return errno
	}
	return nil
}

// binary builds the command once per test binary (with the race detector
// when the tests have it, so the binary's races fail the tests too) and
// returns its path.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binPath = filepath.Join(binDir, "scheduler")
		args := []string{"build", "-o", binPath}
		if raceEnabled {
			args = append(args, "-race")
		}
		out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// proc is a running scheduler whose stdout and stderr are collected line by
// line.
type proc struct {
	t    *testing.T
	args []string
	cmd  *exec.Cmd

	mu      sync.Mutex
	lines   []string      // stdout and stderr, interleaved as read
	changed chan struct{} // closed and replaced whenever lines grows

	exited   chan struct{}
	exitCode int // set before exited is closed
}

// start runs the binary with args in dir, without $SCHEDULER_CONFIG.
func start(t *testing.T, dir string, args ...string) *proc {
	t.Helper()
	return startEnv(t, dir, nil, args...)
}

// startEnv is start with env added to the environment.
func startEnv(t *testing.T, dir string, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Dir = dir
	cmd.Env = append(environ(), env...)
	// Its own process group, so that cleanup can kill what is left of it
	// without touching the test.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}

	// Pipes given as *os.File, not StdoutPipe: the exit must be seen as soon
	// as the scheduler is gone, even while a grandchild holds a pipe open.
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	p := &proc{t: t, args: args, cmd: cmd, changed: make(chan struct{}), exited: make(chan struct{})}
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		t.Fatal(err)
	}
	go p.scan(outR)
	go p.scan(errR)
	go func() {
		cmd.Wait()
		p.exitCode = cmd.ProcessState.ExitCode()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-p.exited
		}
		outR.Close()
		errR.Close()
		if t.Failed() {
			t.Logf("output of scheduler %s:\n%s", strings.Join(args, " "), strings.Join(p.snapshot(), "\n"))
		}
	})
	return p
}

func (p *proc) scan(r *os.File) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		p.mu.Lock()
		p.lines = append(p.lines, sc.Text())
		close(p.changed)
		p.changed = make(chan struct{})
		p.mu.Unlock()
	}
}

func (p *proc) snapshot() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...)
}

// waitFor waits for the n-th line (counting from 1) that satisfies match
// and returns it.
func (p *proc) waitFor(what string, n int, match func(string) bool) string {
	p.t.Helper()
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		seen := 0
		for _, l := range p.lines {
			if match(l) {
				if seen++; seen == n {
					p.mu.Unlock()
					return l
				}
			}
		}
		changed := p.changed
		p.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			p.t.Fatalf("no %s after %s", what, waitLimit)
		}
	}
}

// waitRecord waits for the first JSON log record with message msg whose
// other attributes include attrs (compared as formatted by fmt's %v).
func (p *proc) waitRecord(msg string, attrs ...string) map[string]any {
	p.t.Helper()
	var rec map[string]any
	p.waitFor(fmt.Sprintf("log record %q %v", msg, attrs), 1, func(l string) bool {
		r, ok := parseRecord(l)
		if !ok || r["msg"] != msg {
			return false
		}
		for i := 0; i+1 < len(attrs); i += 2 {
			if fmt.Sprint(r[attrs[i]]) != attrs[i+1] {
				return false
			}
		}
		rec = r
		return true
	})
	return rec
}

func parseRecord(line string) (map[string]any, bool) {
	var r map[string]any
	if !strings.HasPrefix(line, "{") || json.Unmarshal([]byte(line), &r) != nil {
		return nil, false
	}
	return r, true
}

func (p *proc) signal(sig syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("sending %v: %v", sig, err)
	}
}

// wait waits for the process to exit within limit and returns its status.
func (p *proc) wait(limit time.Duration) int {
	p.t.Helper()
	select {
	case <-p.exited:
		return p.exitCode
	case <-time.After(limit):
		p.t.Fatalf("still running %s later", limit)
		return -1
	}
}

// runOnce runs the binary to completion in dir and returns its stdout,
// stderr and exit status. For commands that start no jobs.
func runOnce(t *testing.T, dir string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), args...)
	cmd.Dir = dir
	cmd.Env = environ()
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("scheduler %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

// environ is the test's environment without $SCHEDULER_CONFIG, and with
// races in a race-enabled binary failing it with a distinctive status.
func environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, configEnv+"=") {
			env = append(env, kv)
		}
	}
	return append(env, "GORACE=halt_on_error=1 exitcode=66")
}

// writeFile writes a config file into dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// waitPIDs polls for a file the job writes (atomically, by rename) holding
// process ids; polling a file is the only way to hear from the job's shell.
func waitPIDs(t *testing.T, path string) []int {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		data, err := os.ReadFile(path)
		if err == nil {
			var pids []int
			for _, f := range strings.Fields(string(data)) {
				pid, err := strconv.Atoi(f)
				if err != nil {
					t.Fatalf("%s: %q", path, data)
				}
				pids = append(pids, pid)
			}
			return pids
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not written after %s", path, waitLimit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// groupGone reports whether no process is left in group pgid, reaping
// those of its members that were orphaned to the test process.
func groupGone(pgid int) bool {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-pgid, &ws, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			break
		}
	}
	return errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH)
}

// killGroup kills what is left of group pgid at the end of a test.
func killGroup(t *testing.T, pgid int) {
	t.Cleanup(func() {
		syscall.Kill(-pgid, syscall.SIGKILL)
		deadline := time.Now().Add(5 * time.Second)
		for !groupGone(pgid) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// TestRunExampleConfig runs the shipped example: the clock job logs the
// time every second, and SIGTERM stops the scheduler cleanly.
func TestRunExampleConfig(t *testing.T) {
	t.Parallel()
	example, err := filepath.Abs(filepath.Join("..", "..", "config.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p := start(t, t.TempDir(), "run", "--config", example, "--log-format", "json")
	started := p.waitRecord("scheduler started", "config", example, "jobs", "1")
	if started["level"] != "INFO" {
		t.Errorf("start record: %v", started)
	}
	isClock := func(l string) bool { return strings.Contains(l, "The time: ") }
	first := p.waitFor("first clock line", 1, isClock)
	second := p.waitFor("second clock line", 2, isClock)
	for _, l := range []string{first, second} {
		r, ok := parseRecord(l)
		if !ok || r["job"] != "clock" || !clockLine.MatchString(fmt.Sprint(r["msg"])) {
			t.Errorf("clock line %q: want a JSON record of job clock saying The time: HH:MM:SS", l)
		}
	}
	p.signal(syscall.SIGTERM)
	if code := p.wait(waitLimit); code != exitOK {
		t.Fatalf("exit status %d after SIGTERM, want 0", code)
	}
	p.waitRecord("shutting down: no new runs; waiting for running jobs", "signal", "terminated")
	p.waitRecord("scheduler stopped")
}

var clockLine = regexp.MustCompile(`^The time: \d\d:\d\d:\d\d$`)

// TestExecTimeoutKillsProcessGroup checks that a timed-out exec run takes
// its whole process group with it, background children included, and is
// logged as a timeout.
func TestExecTimeoutKillsProcessGroup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pids")
	// Only the first run does anything (mkdir is the guard): it starts a
	// background sleep, records "SHELL_PID SLEEP_PID", and waits. In YAML,
	// $$ is a literal $, so $$$$ is the shell's $$.
	config := writeFile(t, dir, "timeout.yaml", `
shutdown_grace: 5s
jobs:
  - name: sleeper
    schedule: "@every 1s"
    timeout: 1s
    exec:
      command:
        - /bin/sh
        - -c
        - 'mkdir "$0.lock" 2>/dev/null || exit 0; sleep 30 & echo "$$$$ $!" > "$0.tmp" && mv "$0.tmp" "$0"; wait'
        - `+pidFile+`
`)
	p := start(t, dir, "run", "--config", config, "--log-format", "json")
	pids := waitPIDs(t, pidFile)
	if len(pids) != 2 {
		t.Fatalf("pid file: %v, want shell and sleep pids", pids)
	}
	shell, sleep := pids[0], pids[1]
	pgid, err := syscall.Getpgid(sleep)
	if err != nil {
		t.Fatalf("the background sleep is gone before the timeout: %v", err)
	}
	killGroup(t, pgid)
	if pgid != shell || pgid == p.cmd.Process.Pid {
		t.Fatalf("process group %d, want the job's own group %d", pgid, shell)
	}

	ended := p.waitRecord("run ended", "job", "sleeper", "outcome", "timeout")
	if ended["level"] != "ERROR" || !strings.Contains(fmt.Sprint(ended["error"]), "timed out after 1s") {
		t.Errorf("run ended record: %v, want an error saying timed out after 1s", ended)
	}
	deadline := time.Now().Add(waitLimit)
	for !groupGone(pgid) {
		if time.Now().After(deadline) {
			t.Fatalf("process group %d still has processes %s after the timeout", pgid, waitLimit)
		}
		time.Sleep(10 * time.Millisecond)
	}

	p.signal(syscall.SIGTERM)
	if code := p.wait(waitLimit); code != exitOK {
		t.Fatalf("exit status %d after SIGTERM, want 0", code)
	}
}

// brokenConfig has several problems; validate must report them all.
const brokenConfig = `timezone: Mars/Olympus
jobs:
  - name: bad-spec
    schedule: "61 * * * *"
    log: "hello"
  - name: typo
    schedule: "@every 1s"
    timeout: soon
    overlaps: forbid
    exec: {command: [touch, started]}
  - schedule: "@hourly"
    log: "no name"
`

func TestBrokenConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "broken.yaml", brokenConfig)
	want := []string{
		`broken.yaml:1:11: timezone: unknown time zone "Mars/Olympus" (want an IANA name such as Europe/Berlin, or UTC or Local)`,
		// The reason comes from the cron parser; the prefix is ours.
		`broken.yaml:4:15: job "bad-spec": schedule: invalid schedule "61 * * * *": `,
		`broken.yaml:8:14: job "typo": timeout: invalid duration "soon" (use Go syntax, e.g. 90s, 1h30m)`,
		`broken.yaml:9:5: job "typo": overlaps: unknown key (did you mean overlap?)`,
		`broken.yaml:11:5: jobs[2].name: missing (every job needs a unique name)`,
	}
	check := func(t *testing.T, stderr string) {
		t.Helper()
		got := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
		if len(got) != len(want) {
			t.Fatalf("stderr has %d lines, want %d:\n%s", len(got), len(want), stderr)
		}
		for i := range want {
			if got[i] != want[i] && !(strings.HasSuffix(want[i], ": ") && strings.HasPrefix(got[i], want[i])) {
				t.Errorf("line %d:\n got %s\nwant %s", i+1, got[i], want[i])
			}
		}
	}

	t.Run("validate", func(t *testing.T) {
		stdout, stderr, code := runOnce(t, dir, "validate", "--config", "broken.yaml")
		if code != exitUsage {
			t.Errorf("exit status %d, want 2", code)
		}
		if stdout != "" {
			t.Errorf("stdout %q, want nothing", stdout)
		}
		check(t, stderr)
	})
	t.Run("run", func(t *testing.T) {
		stdout, stderr, code := runOnce(t, dir, "run", "--config", "broken.yaml", "--log-format", "json")
		if code != exitUsage {
			t.Errorf("exit status %d, want 2", code)
		}
		if stdout != "" {
			t.Errorf("stdout %q, want nothing", stdout)
		}
		check(t, stderr) // and so no log record: nothing started
		if _, err := os.Stat(filepath.Join(dir, "started")); err == nil {
			t.Error("a job ran")
		}
	})
}

// nextConfig has a job in the default zone across the EU change to summer
// time (Riga: 2026-03-29 03:00 EET becomes 04:00 EEST), one that can never
// fire, and one in its own zone.
const nextConfig = `timezone: Europe/Riga
jobs:
  - name: riga
    schedule: "0 4 * * *"
    log: riga
  - name: never
    schedule: "0 0 30 2 *"
    log: never
  - name: ny
    schedule: "30 9 * * MON-FRI"
    timezone: America/New_York
    log: ny
`

func TestNext(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "next.yaml", nextConfig)
	tests := []struct {
		name   string
		args   []string
		stdout string
	}{{
		name: "json",
		args: []string{"--from", "2026-03-27T12:00:00.5Z", "--count", "3", "--json"},
		stdout: `[{"job":"riga","next":["2026-03-28T04:00:00+02:00","2026-03-29T04:00:00+03:00","2026-03-30T04:00:00+03:00"]},` +
			`{"job":"never","next":[]},` +
			`{"job":"ny","next":["2026-03-27T09:30:00-04:00","2026-03-30T09:30:00-04:00","2026-03-31T09:30:00-04:00"]}]` + "\n",
	}, {
		name:   "text",
		args:   []string{"--from", "2026-03-28T04:00:00+02:00", "--count", "2", "--job", "riga"},
		stdout: "riga\t2026-03-29T04:00:00+03:00\nriga\t2026-03-30T04:00:00+03:00\n",
	}, {
		name:   "strictly after, fractional seconds",
		args:   []string{"--from", "2026-03-29T03:59:59.999+03:00", "--count", "1", "--job", "riga", "--json"},
		stdout: `[{"job":"riga","next":["2026-03-29T04:00:00+03:00"]}]` + "\n",
	}, {
		name:   "never fires",
		args:   []string{"--from", "2026-01-01T00:00:00Z", "--job", "never", "--json"},
		stdout: `[{"job":"never","next":[]}]` + "\n",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"next", "--config", "next.yaml"}, tt.args...)
			stdout, stderr, code := runOnce(t, dir, args...)
			if code != exitOK {
				t.Fatalf("exit status %d, stderr:\n%s", code, stderr)
			}
			if stdout != tt.stdout {
				t.Errorf("stdout:\n got %s\nwant %s", stdout, tt.stdout)
			}
		})
	}

	t.Run("default count and now", func(t *testing.T) {
		stdout, stderr, code := runOnce(t, dir, "next", "--config", "next.yaml", "--job", "riga")
		if code != exitOK {
			t.Fatalf("exit status %d, stderr:\n%s", code, stderr)
		}
		lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
		if len(lines) != 5 {
			t.Fatalf("%d lines, want 5:\n%s", len(lines), stdout)
		}
		prev := time.Now().Add(-time.Second)
		for _, l := range lines {
			name, instant, _ := strings.Cut(l, "\t")
			at, err := time.Parse(time.RFC3339, instant)
			if name != "riga" || err != nil || !at.After(prev) || at.Hour() != 4 {
				t.Errorf("line %q after %s: want riga<TAB>a later 04:00 Riga time", l, prev)
			}
			prev = at
		}
	})

	t.Run("unknown job", func(t *testing.T) {
		stdout, stderr, code := runOnce(t, dir, "next", "--config", "next.yaml", "--job", "nope")
		if code != exitUsage || stdout != "" || !strings.Contains(stderr, `no job named "nope"`) {
			t.Errorf("exit %d, stdout %q, stderr %q; want 2 and an error naming the job", code, stdout, stderr)
		}
	})
}

// TestSecondSignal checks that a second SIGTERM ends a shutdown that is
// waiting for a job which ignores SIGTERM, at once and with status 1.
func TestSecondSignal(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	config := writeFile(t, dir, "stubborn.yaml", `
shutdown_grace: 20s
jobs:
  - name: stubborn
    schedule: "@every 1s"
    exec:
      command:
        - /bin/sh
        - -c
        - 'trap "" TERM; mkdir "$0.lock" 2>/dev/null || exit 0; echo "$$$$" > "$0.tmp" && mv "$0.tmp" "$0"; sleep 30'
        - `+pidFile+`
`)
	p := start(t, dir, "run", "--config", config, "--log-format", "json")
	pgid := waitPIDs(t, pidFile)[0]
	killGroup(t, pgid)

	p.signal(syscall.SIGTERM)
	p.waitRecord("shutting down: no new runs; waiting for running jobs")
	p.waitRecord("loop stopping", "running", "1")
	select {
	case <-p.exited:
		t.Fatalf("exited with status %d during the 20s grace period, before a second signal", p.exitCode)
	default:
	}
	sent := time.Now()
	p.signal(syscall.SIGTERM)
	if code := p.wait(waitLimit); code != exitFailure {
		t.Fatalf("exit status %d after the second SIGTERM, want 1", code)
	}
	if d := time.Since(sent); d > 5*time.Second {
		t.Errorf("exited %s after the second SIGTERM, want at once", d)
	}
	p.waitRecord("scheduler stopped: second signal, not waiting for running jobs", "signal", "terminated")
}

func TestHelpAndUsage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for cmd, flags := range map[string][]string{
		"run":      {"--config", "--log-format", "--log-level"},
		"validate": {"--config"},
		"next":     {"--config", "--job", "--count", "--from", "--json"},
		"version":  nil,
	} {
		t.Run(cmd, func(t *testing.T) {
			stdout, stderr, code := runOnce(t, dir, cmd, "--help")
			if code != exitOK || stderr != "" {
				t.Fatalf("exit %d, stderr %q; want 0 and nothing", code, stderr)
			}
			if !strings.HasPrefix(stdout, "Usage: scheduler "+cmd) {
				t.Errorf("help does not start with its usage line:\n%s", stdout)
			}
			for _, f := range flags {
				if !strings.Contains(stdout, "  "+f) {
					t.Errorf("help does not name %s:\n%s", f, stdout)
				}
			}
		})
	}
	t.Run("unknown command", func(t *testing.T) {
		stdout, stderr, code := runOnce(t, dir, "frobnicate")
		if code != exitUsage || stdout != "" || !strings.Contains(stderr, `unknown command "frobnicate"`) {
			t.Errorf("exit %d, stdout %q, stderr %q; want 2 and an error", code, stdout, stderr)
		}
	})
	t.Run("version", func(t *testing.T) {
		stdout, _, code := runOnce(t, dir, "version")
		if code != exitOK || !regexp.MustCompile(`^scheduler \S.* go1\.\d+\S* \w+/\w+\n$`).MatchString(stdout) {
			t.Errorf("exit %d, stdout %q", code, stdout)
		}
	})
}

// TestKillAndRestartCatchesUpOnce kills `scheduler run` with SIGKILL in the
// middle of an every-second schedule, restarts it on the same state file a
// few seconds later, and checks that the misfire policy ran exactly one
// catch-up run and that no instant ran twice.
func TestKillAndRestartCatchesUpOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	config := writeFile(t, dir, "config.yaml", `timezone: UTC
state_dir: state
jobs:
  - name: tick
    schedule: "* * * * * *"
    misfire: run_once
    log: "tick {{ .Scheduled.Format \"15:04:05\" }}"
`)
	started := func(p *proc) []time.Time {
		var out []time.Time
		for _, l := range p.snapshot() {
			if r, ok := parseRecord(l); ok && r["msg"] == "run started" && r["job"] == "tick" {
				at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(r["scheduled"]))
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, at)
			}
		}
		return out
	}

	first := start(t, dir, "run", "--config", config, "--log-format", "json")
	first.waitFor("a third run", 3, func(l string) bool {
		r, ok := parseRecord(l)
		return ok && r["msg"] == "run ended" && r["job"] == "tick"
	})
	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	first.wait(waitLimit)
	before := started(first)

	time.Sleep(3 * time.Second) // the process is down: instants go by
	restart := time.Now()
	second := start(t, dir, "run", "--config", config, "--log-format", "json")
	second.waitFor("a third run", 3, func(l string) bool {
		r, ok := parseRecord(l)
		return ok && r["msg"] == "run ended" && r["job"] == "tick"
	})
	second.signal(syscall.SIGTERM)
	if code := second.wait(waitLimit); code != 0 {
		t.Fatalf("exit status %d after SIGTERM", code)
	}
	after := started(second)

	seen := map[time.Time]bool{}
	for _, at := range append(before, after...) {
		if seen[at] {
			t.Errorf("instant %s ran twice", at.Format(time.TimeOnly))
		}
		seen[at] = true
	}
	var catchUp []time.Time
	for _, at := range after {
		if at.Before(restart.Add(-time.Second)) {
			catchUp = append(catchUp, at)
		}
	}
	if len(catchUp) != 1 {
		t.Fatalf("catch-up runs after the restart: %v, want exactly one", catchUp)
	}
	last := before[len(before)-1]
	if !catchUp[0].After(last.Add(time.Second)) {
		t.Errorf("the catch-up ran %s, not the latest missed instant (the first process last ran %s)",
			catchUp[0].Format(time.TimeOnly), last.Format(time.TimeOnly))
	}
	if len(after) < 2 || !after[1].Equal(catchUp[0].Add(time.Second)) {
		t.Errorf("after the catch-up the schedule did not resume every second: %v", after)
	}
	second.waitRecord("missed fire instants dropped", "job", "tick", "misfire", "run_once")
}

// TestCorruptStateFileStopsTheStart checks that a state file that is not a
// state file is a clear error and exit 2, and is left as it was.
func TestCorruptStateFileStopsTheStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	config := writeFile(t, dir, "config.yaml", "state_dir: state\njobs:\n  - {name: j, schedule: \"@every 1s\", log: hi}\n")
	if err := os.Mkdir(filepath.Join(dir, "state"), 0o700); err != nil {
		t.Fatal(err)
	}
	garbage := []byte("this is not a bbolt file, but it is long enough to look at")
	path := writeFile(t, filepath.Join(dir, "state"), "state.db", string(garbage))
	_, stderr, code := runOnce(t, dir, "run", "--config", config)
	if code != 2 {
		t.Errorf("exit status %d, want 2", code)
	}
	if !strings.Contains(stderr, "state file state/state.db is corrupt") || strings.Contains(stderr, "run started") {
		t.Errorf("stderr does not name the state file, or a job ran:\n%s", stderr)
	}
	if data, _ := os.ReadFile(path); string(data) != string(garbage) {
		t.Error("the corrupt state file was changed")
	}
}

// TestSystemdNotify runs the binary under a fake $NOTIFY_SOCKET, as systemd
// would with Type=notify and WatchdogSec=2s, and checks what it says, in
// order: ready (with a status), watchdog pings from the loop, stopping.
func TestSystemdNotify(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sock := filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	messages := make(chan string, 100)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(messages)
				return
			}
			messages <- string(buf[:n])
		}
	}()
	next := func() string {
		select {
		case m := <-messages:
			return m
		case <-time.After(waitLimit):
			t.Fatal("no message on NOTIFY_SOCKET")
			return ""
		}
	}

	config := writeFile(t, dir, "config.yaml", "state_dir: state\njobs:\n  - {name: nightly, schedule: \"0 3 * * *\", timezone: UTC, log: hi}\n")
	p := startEnv(t, dir, []string{"NOTIFY_SOCKET=" + sock, "WATCHDOG_USEC=2000000"}, "run", "--config", config, "--log-format", "json")

	ready := next()
	if !strings.HasPrefix(ready, "READY=1\nSTATUS=1 jobs; next: nightly at ") || !strings.HasSuffix(ready, "T03:00:00Z") {
		t.Errorf("first message %q, want READY=1 with the status", ready)
	}
	for range 2 {
		if m := next(); m != "WATCHDOG=1" {
			t.Errorf("message %q, want WATCHDOG=1", m)
		}
	}
	p.signal(syscall.SIGHUP)
	for {
		m := next()
		if m == "WATCHDOG=1" {
			continue
		}
		if !regexp.MustCompile(`^RELOADING=1\nMONOTONIC_USEC=[1-9][0-9]*$`).MatchString(m) {
			t.Errorf("message %q after SIGHUP, want RELOADING=1 with MONOTONIC_USEC", m)
		}
		break
	}
	for {
		m := next()
		if m == "WATCHDOG=1" {
			continue
		}
		if !strings.HasPrefix(m, "READY=1\nSTATUS=1 jobs; next: nightly at ") {
			t.Errorf("message %q after the reload, want READY=1 with the status", m)
		}
		break
	}
	p.signal(syscall.SIGTERM)
	for {
		m := next()
		if m == "WATCHDOG=1" {
			continue // a ping may have been on its way
		}
		if !strings.HasPrefix(m, "STOPPING=1\n") {
			t.Errorf("message %q after SIGTERM, want STOPPING=1", m)
		}
		break
	}
	if code := p.wait(waitLimit); code != 0 {
		t.Errorf("exit status %d", code)
	}
}

// TestReloadOnSIGHUP changes the config file under a running scheduler:
// SIGHUP applies a valid file (a job added, one kept) and rejects an
// invalid one whole, keeping the jobs running.
func TestReloadOnSIGHUP(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	config := writeFile(t, dir, "config.yaml", `state_dir: state
jobs:
  - {name: kept, schedule: "@every 1s", log: "kept ran"}
`)
	p := start(t, dir, "run", "--config", config, "--log-format", "json")
	p.waitRecord("kept ran")

	writeFile(t, dir, "config.yaml", `state_dir: state
jobs:
  - {name: kept, schedule: "@every 1s", log: "kept ran"}
  - {name: added, schedule: "@every 1s", log: "added ran"}
`)
	p.signal(syscall.SIGHUP)
	p.waitRecord("configuration reloaded", "added", "[added]", "updated", "[kept]", "removed", "<nil>")
	p.waitRecord("added ran")

	writeFile(t, dir, "config.yaml", `state_dir: state
jobs:
  - {name: kept, schedule: "61 * * * *", log: "kept ran"}
`)
	p.signal(syscall.SIGHUP)
	p.waitRecord("reload rejected: the configuration has errors; the running one stays")
	ran := func(msg string) int {
		n := 0
		for _, l := range p.snapshot() {
			if r, ok := parseRecord(l); ok && r["msg"] == msg {
				n++
			}
		}
		return n
	}
	before := ran("added ran")
	p.waitFor("another run of the added job", before+1, func(l string) bool {
		r, ok := parseRecord(l)
		return ok && r["msg"] == "added ran"
	})
	p.signal(syscall.SIGTERM)
	if code := p.wait(waitLimit); code != 0 {
		t.Errorf("exit status %d", code)
	}
}
