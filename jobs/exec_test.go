package jobs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scheduler-dev/scheduler/runtime"
)

// runJob parses a one-job configuration and runs the job once.
func runJob(t *testing.T, ctx context.Context, yamlText string, env map[string]string) (error, *recordStore) {
	t.Helper()
	cfg := mustParse(t, yamlText, env)
	logger, recs := newRecorder()
	err := cfg.Jobs[0].Func(Deps{Logger: logger})(ctx, runtime.Run{Job: cfg.Jobs[0].Name, Attempt: 1})
	return err, recs
}

// TestMain makes the test process a child subreaper: the grandchildren of
// the commands it runs are then reparented to it rather than to init, so
// assertGroupGone can reap them and see at once whether any is alive.
func TestMain(m *testing.M) {
	const prSetChildSubreaper = 36
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); errno != 0 {
		fmt.Fprintln(os.Stderr, "prctl(PR_SET_CHILD_SUBREAPER):", errno)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// assertGroupGone checks that no process is left in the process group whose
// leader's pid is pidText. A killed process lingers as a zombie until it is
// reaped, and kill(2) still finds zombies: reap the group's first.
func assertGroupGone(t *testing.T, pidText string) {
	t.Helper()
	pgid, err := strconv.Atoi(strings.TrimSpace(pidText))
	if err != nil {
		t.Fatalf("pid %q: %v", pidText, err)
	}
	for range 500 {
		for {
			var ws syscall.WaitStatus
			if pid, err := syscall.Wait4(-pgid, &ws, syscall.WNOHANG, nil); pid <= 0 || err != nil {
				break
			}
		}
		if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	t.Fatalf("process group %d still has processes", pgid)
}

func TestExecLogsOutputLines(t *testing.T) {
	dir := t.TempDir()
	err, recs := runJob(t, t.Context(), fmt.Sprintf(`jobs:
  - name: out
    schedule: "@hourly"
    exec:
      command: [/bin/sh, -c, 'echo "one $$FOO"; echo two >&2; printf "no newline"; pwd >&2']
      env: {FOO: "${BAR:-bar}"}
      dir: %s
`, dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	stdout := recs.messages(map[string]string{"job": "out", "stream": "stdout"})
	stderr := recs.messages(map[string]string{"job": "out", "stream": "stderr"})
	if strings.Join(stdout, "|") != "one bar|no newline" || strings.Join(stderr, "|") != "two|"+dir {
		t.Errorf("stdout = %q, stderr = %q", stdout, stderr)
	}
}

func TestExecExitCodeAndSignal(t *testing.T) {
	err, _ := runJob(t, t.Context(), `jobs:
  - name: fails
    schedule: "@hourly"
    exec: {command: "echo about to fail; echo why >&2; exit 7", shell: true}
`, nil)
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 7 || ee.Signal != 0 {
		t.Fatalf("err = %v", err)
	}
	if err.Error() != "job fails: exec: command failed: exit status 7" {
		t.Errorf("err = %v", err)
	}
	if !strings.Contains(ee.Output, "about to fail\n") || !strings.Contains(ee.Output, "why\n") {
		t.Errorf("Output = %q", ee.Output)
	}

	err, _ = runJob(t, t.Context(), `jobs:
  - name: killed
    schedule: "@hourly"
    exec: {command: "kill -KILL $$$$", shell: true}
`, nil)
	if !errors.As(err, &ee) || ee.Code != -1 || ee.Signal != syscall.SIGKILL || err.Error() != "job killed: exec: command failed: signal: killed" {
		t.Fatalf("err = %v (%+v)", err, ee)
	}
}

func TestExecOutputTail(t *testing.T) {
	err, recs := runJob(t, t.Context(), `jobs:
  - name: chatty
    schedule: "@hourly"
    exec: {command: "i=0; while [ $i -lt 1000 ]; do echo line $i; i=$((i+1)); done; exit 1", shell: true}
`, nil)
	var ee *ExitError
	if !errors.As(err, &ee) {
		t.Fatal(err)
	}
	if len(ee.Output) > outputTail || len(ee.Output) < outputTail-20 || !strings.HasPrefix(ee.Output, "line ") || !strings.HasSuffix(ee.Output, "line 999\n") {
		t.Errorf("Output (%d bytes) = %q...", len(ee.Output), ee.Output[:min(40, len(ee.Output))])
	}
	if n := len(recs.messages(map[string]string{"stream": "stdout"})); n != 1000 {
		t.Errorf("%d records, want 1000", n)
	}
}

func TestExecKillsGroupOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancelCause(t.Context())
	defer cancel(nil)
	type result struct {
		err  error
		recs *recordStore
	}
	cfg := mustParse(t, `jobs:
  - name: sleeper
    schedule: "@hourly"
    exec: {command: "echo $$$$; sleep 60 & sleep 60", shell: true, kill_after: 100ms}
`, nil)
	logger, recs := newRecorder()
	done := make(chan error, 1)
	go func() { done <- cfg.Jobs[0].Func(Deps{Logger: logger})(ctx, runtime.Run{Job: "sleeper", Attempt: 1}) }()
	pid := recs.waitFor(t, func(r record) bool { return r.Attrs["stream"] == "stdout" })
	timeout := &runtime.TimeoutError{Timeout: time.Second}
	cancel(timeout)
	err := <-done
	var te *runtime.TimeoutError
	if !errors.As(err, &te) || !strings.HasPrefix(err.Error(), "job sleeper: exec: command stopped (timed out after 1s): signal: terminated") {
		t.Errorf("err = %v", err)
	}
	assertGroupGone(t, pid.Msg)
}

func TestExecKillAfterForStubbornProcesses(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cfg := mustParse(t, `jobs:
  - name: stubborn
    schedule: "@hourly"
    exec: {command: "trap '' TERM; echo $$$$; sleep 60 & sleep 60; echo survived", shell: true, kill_after: 100ms}
`, nil)
	logger, recs := newRecorder()
	done := make(chan error, 1)
	go func() { done <- cfg.Jobs[0].Func(Deps{Logger: logger})(ctx, runtime.Run{Job: "stubborn", Attempt: 1}) }()
	pid := recs.waitFor(t, func(r record) bool { return r.Attrs["stream"] == "stdout" })
	cancel()
	err := <-done
	var ee *ExitError
	if !errors.Is(err, context.Canceled) || !errors.As(err, &ee) || ee.Signal != syscall.SIGKILL {
		t.Errorf("err = %v", err)
	}
	assertGroupGone(t, pid.Msg)
	if len(recs.messages(map[string]string{"stream": "stdout"})) != 1 {
		t.Errorf("records = %+v", recs.all())
	}
}

func TestExecKillsLeftoversAfterNormalExit(t *testing.T) {
	// The background sleep holds the output pipe: the run must neither wait
	// for it nor leave it running.
	start := time.Now()
	err, recs := runJob(t, t.Context(), `jobs:
  - name: leaves-child
    schedule: "@hourly"
    exec: {command: "echo $$$$; sleep 60 &", shell: true, kill_after: 5s}
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed > 4*time.Second {
		t.Errorf("took %s", elapsed)
	}
	assertGroupGone(t, recs.messages(map[string]string{"stream": "stdout"})[0])
}

func TestExecStartErrors(t *testing.T) {
	err, _ := runJob(t, t.Context(), `jobs:
  - {name: missing, schedule: "@hourly", exec: {command: [/nonexistent/program]}}
`, nil)
	if err == nil || err.Error() != "job missing: exec: starting the command: fork/exec /nonexistent/program: no such file or directory" {
		t.Errorf("err = %v", err)
	}
	// A program named by the environment is not repeated.
	err, _ = runJob(t, t.Context(), `jobs:
  - {name: missing, schedule: "@hourly", exec: {command: ["${PROG}"]}}
`, map[string]string{"PROG": "/s3cr3t/program"})
	if err == nil || err.Error() != "job missing: exec: starting the command: no such file or directory" {
		t.Errorf("err = %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err, _ = runJob(t, ctx, `jobs:
  - {name: late, schedule: "@hourly", exec: {command: ["true"]}}
`, nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}

func TestExecLongLines(t *testing.T) {
	err, recs := runJob(t, t.Context(), `jobs:
  - name: long
    schedule: "@hourly"
    exec: {command: "head -c 200000 /dev/zero | tr '\\0' a; echo; echo end", shell: true}
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	msgs := recs.messages(map[string]string{"stream": "stdout"})
	total := 0
	for _, m := range msgs[:len(msgs)-1] {
		if len(m) > maxLineLen {
			t.Errorf("record of %d bytes", len(m))
		}
		total += len(m)
	}
	if total != 200000 || msgs[len(msgs)-1] != "end" {
		t.Errorf("%d bytes in %d records, last %q", total, len(msgs), msgs[len(msgs)-1])
	}
}
