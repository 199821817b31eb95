package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/scheduler-dev/scheduler/jobs"
	"github.com/scheduler-dev/scheduler/runtime"
	"github.com/scheduler-dev/scheduler/runtime/runtimetest"
)

func ExampleParse() {
	cfg, err := jobs.Parse("scheduler.yaml", []byte(`
timezone: UTC
defaults: {overlap: forbid, timeout: 10m}
jobs:
  - name: clock
    schedule: "@every 1s"
    log: "The time: {{ .Now.Format \"15:04:05\" }}"
  - name: backup
    schedule: "30 3 * * *"
    timeout: 1h
    exec: {command: [/usr/local/bin/backup, --fast]}
`), os.LookupEnv)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, j := range cfg.Jobs {
		fmt.Println(j.Name, j.Kind, j.Spec, j.Policy.Overlap, j.Policy.Timeout)
	}

	// Run the clock once, as the runtime would at a fire.
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	clock := runtimetest.NewClock(time.Date(2026, 3, 29, 4, 0, 0, 0, time.UTC))
	run := cfg.Jobs[0].Func(jobs.Deps{Logger: logger, Clock: clock})
	_ = run(context.Background(), runtime.Run{Job: "clock", Scheduled: clock.Now(), Attempt: 1})

	_, err = jobs.Parse("bad.yaml", []byte("jobs:\n  - name: x\n    schedule: \"@every 1s\"\n    timeout: 5 minutes\n"), os.LookupEnv)
	fmt.Println(err)
	// Output:
	// clock log @every 1s forbid 10m0s
	// backup exec 30 3 * * * forbid 1h0m0s
	// level=INFO msg="The time: 04:00:00" job=clock
	// bad.yaml:2:5: job "x": no kind: a job needs exactly one of log, exec, http, telegram, parallel or sequence
	// bad.yaml:4:14: job "x": timeout: invalid duration "5 minutes" (use Go syntax, e.g. 90s, 1h30m)
}

func ExampleJob_OnEnd() {
	cfg, err := jobs.Parse("scheduler.yaml", []byte(`
timezone: UTC
jobs:
  - name: backup
    schedule: "30 3 * * *"
    exec: {command: [/usr/local/bin/backup]}
    on_failure:
      - log: "{{ .Job }} {{ .Outcome }} after {{ .Attempts }} attempts: {{ .Error }}"
`), os.LookupEnv)
	if err != nil {
		fmt.Println(err)
		return
	}
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	// The loop calls it once a run has ended, after its last attempt
	// (RuntimeJobs puts it in the job's runtime.Policy).
	onEnd := cfg.Jobs[0].OnEnd(jobs.Deps{Logger: logger})
	scheduled := time.Date(2026, 3, 29, 3, 30, 0, 0, time.UTC)
	onEnd(context.Background(), runtime.Report{
		Run:     runtime.Run{Job: "backup", Scheduled: scheduled, Attempt: 3},
		Start:   scheduled,
		End:     scheduled.Add(time.Minute),
		Outcome: runtime.OutcomeFailed,
		Err:     errors.New("job backup: exec: command failed: exit status 2"),
	})
	// Output:
	// level=INFO msg="backup failed after 3 attempts: job backup: exec: command failed: exit status 2" job=backup step=on_failure[0]
}
