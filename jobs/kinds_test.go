package jobs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scheduler-dev/scheduler/runtime"
	"github.com/scheduler-dev/scheduler/runtime/runtimetest"
)

func TestLogRendersTemplate(t *testing.T) {
	cfg := mustParse(t, `timezone: UTC
jobs:
  - name: clock
    schedule: "@every 1s"
    log: "The time: {{ .Now.Format \"15:04:05\" }}"
  - name: details
    schedule: "0 9 * * *"
    timezone: Asia/Tokyo
    log: "{{ .Job }} #{{ .Attempt }} due {{ .Scheduled.Format \"15:04 MST\" }}, now {{ .Now.Format \"15:04:05 MST\" }}; price $$5 for ${WHO:-world} ${NAME}"
`, map[string]string{"NAME": "Ann"})
	clk := runtimetest.NewClock(time.Date(2026, 3, 29, 1, 2, 3, 0, time.UTC))
	logger, recs := newRecorder()
	d := Deps{Logger: logger, Clock: clk}

	if err := cfg.job(t, "clock").Func(d)(t.Context(), runtime.Run{Job: "clock", Scheduled: clk.Now(), Attempt: 1}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(5 * time.Second)
	sched := time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC) // 09:00 in Tokyo
	if err := cfg.job(t, "details").Func(d)(t.Context(), runtime.Run{Job: "details", Scheduled: sched, Attempt: 2}); err != nil {
		t.Fatal(err)
	}
	got := recs.all()
	if len(got) != 2 {
		t.Fatalf("records = %+v", got)
	}
	if got[0].Msg != "The time: 01:02:03" || got[0].Attrs["job"] != "clock" || got[0].Level != 0 {
		t.Errorf("clock record = %+v", got[0])
	}
	if want := "details #2 due 09:00 JST, now 10:02:08 JST; price $5 for world Ann"; got[1].Msg != want || got[1].Attrs["job"] != "details" {
		t.Errorf("details record = %+v, want %q", got[1], want)
	}
}

func TestSequenceStopsAtFirstFailure(t *testing.T) {
	cfg := mustParse(t, `jobs:
  - name: seq
    schedule: "@hourly"
    sequence:
      - log: one
      - exec: {command: "echo failing; exit 4", shell: true}
      - log: three
`, nil)
	logger, recs := newRecorder()
	err := cfg.Jobs[0].Func(Deps{Logger: logger})(t.Context(), runtime.Run{Job: "seq", Attempt: 1})
	if err == nil || err.Error() != "job seq: sequence[1] (exec): exec: command failed: exit status 4" {
		t.Fatalf("err = %v", err)
	}
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 4 || ee.Output != "failing\n" {
		t.Errorf("ExitError = %+v", ee)
	}
	var msgs []string
	for _, r := range recs.all() {
		msgs = append(msgs, r.Attrs["step"]+"="+r.Msg)
	}
	if strings.Join(msgs, ",") != "sequence[0]=one,sequence[1]=failing" {
		t.Errorf("records = %v", msgs)
	}
}

func TestParallelCancelsSiblingsOnFailure(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	// The failing step waits for the sleeper to be running, so that its
	// cancellation, not a lucky race, is what the test sees.
	cfg := mustParse(t, fmt.Sprintf(`jobs:
  - name: gather
    schedule: "@hourly"
    parallel:
      - exec: {command: "echo $$$$ > %[1]s; exec sleep 60", shell: true, kill_after: 100ms}
      - sequence:
          - log: waiting
          - exec: {command: "until [ -s %[1]s ]; do sleep 0.01; done; exit 3", shell: true}
      - log: done
`, pidFile), nil)
	logger, recs := newRecorder()
	start := time.Now()
	err := cfg.Jobs[0].Func(Deps{Logger: logger})(t.Context(), runtime.Run{Job: "gather", Attempt: 1})
	if err == nil || err.Error() != "job gather: parallel[1] (sequence): sequence[1] (exec): exec: command failed: exit status 3" {
		t.Fatalf("err = %v", err)
	}
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Errorf("took %s: the sleeping sibling was not cancelled", elapsed)
	}
	pid, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	assertGroupGone(t, string(pid))
	if len(recs.messages(map[string]string{"step": "parallel[2]"})) != 1 {
		t.Errorf("the log step did not run: %+v", recs.all())
	}
	if len(recs.messages(map[string]string{"step": "parallel[1].sequence[0]"})) != 1 {
		t.Errorf("nested steps are not tagged with their path: %+v", recs.all())
	}
}

func TestParallelAllSucceed(t *testing.T) {
	cfg := mustParse(t, `jobs:
  - name: gather
    schedule: "@hourly"
    parallel:
      - log: a
      - exec: {command: ["true"]}
      - parallel: [{log: b}, {log: c}]
`, nil)
	logger, recs := newRecorder()
	if err := cfg.Jobs[0].Func(Deps{Logger: logger})(t.Context(), runtime.Run{Job: "gather", Attempt: 1}); err != nil {
		t.Fatal(err)
	}
	if n := len(recs.all()); n != 3 {
		t.Errorf("%d records, want 3", n)
	}
}

func TestSequenceHonoursCancellation(t *testing.T) {
	cfg := mustParse(t, "jobs:\n  - {name: s, schedule: \"@hourly\", sequence: [{log: a}, {log: b}]}\n", nil)
	ctx, cancel := context.WithCancelCause(t.Context())
	cause := errors.New("shutting down")
	cancel(cause)
	err := cfg.Jobs[0].Func(Deps{})(ctx, runtime.Run{Job: "s", Attempt: 1})
	if !errors.Is(err, cause) {
		t.Errorf("err = %v, want the cancellation cause", err)
	}
}
