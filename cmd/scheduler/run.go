package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"syscall"

	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/scheduler-dev/scheduler/jobs"
	"github.com/scheduler-dev/scheduler/runtime"
	"github.com/scheduler-dev/scheduler/state"
	"github.com/scheduler-dev/scheduler/telegram"
)

func (c *cli) runCommand(args []string) int {
	f := c.newFlags("run", "run [--config FILE] [--log-format auto|text|json] [--log-level LEVEL]",
		`Run the jobs of the config file until SIGINT or SIGTERM.

The first signal stops firing, lets running jobs finish for shutdown_grace,
then cancels them, waits for them and exits 0. A second signal exits 1 at
once, without waiting. A config error is reported before anything starts,
with exit status 2. Logs go to stderr.
`)
	config := f.configFlag()
	logFormat := f.String("log-format", "auto", "log `FORMAT`: auto (text on a terminal, else json), text or json")
	logLevel := f.String("log-level", "info", "the least `LEVEL` logged: debug, info, warn or error")
	if code, ok := f.parse(args); !ok {
		return code
	}
	path, code, ok := f.configPath(*config)
	if !ok {
		return code
	}
	logger, err := newLogger(c.stderr, *logFormat, *logLevel)
	if err != nil {
		return f.usageError("%v", err)
	}
	cfg, ok := c.load(path)
	if !ok {
		return exitUsage
	}

	db, err := openState(cfg)
	if err != nil {
		// A corrupt, unreadable or locked state file must stop us: starting
		// from empty would lose or repeat runs.
		fmt.Fprintln(c.stderr, err)
		return exitUsage
	}
	defer db.Close()

	clock := runtime.SystemClock{}
	loop := runtime.NewLoop(runtime.Config{
		Clock:         clock,
		Logger:        logger,
		MaxConcurrent: cfg.MaxConcurrent,
		ShutdownGrace: cfg.ShutdownGrace,
		Location:      cfg.Timezone,
		Store:         db,
		OnRunEnd:      recordHistory(db, logger),
	})
	// No client-wide timeout: each job's policy timeout bounds its requests
	// through the run's context.
	deps := jobs.Deps{Logger: logger, Clock: clock, HTTPClient: &http.Client{}}
	var client *telegram.Client
	if cfg.Telegram != nil {
		tc := *cfg.Telegram
		tc.Logger, tc.Clock = logger, clock
		if client, err = telegram.NewClient(tc); err != nil {
			fmt.Fprintf(c.stderr, "%s: telegram: %v\n", cfg.File, err)
			return exitUsage
		}
		deps.Telegram = client
	}
	group := runtime.NewGroup(loop)
	if _, err := group.Apply(cfg.RuntimeJobs(deps)); err != nil {
		fmt.Fprintf(c.stderr, "%s: %v\n", cfg.File, err)
		return exitUsage
	}
	systemd := systemdNotifier{logger}
	if err := systemd.watchdog(loop); err != nil {
		logger.Error("systemd watchdog not fed", "error", err)
	}
	logger.Info("scheduler started",
		"config", cfg.File,
		"state", db.Path(),
		"jobs", len(cfg.Jobs),
		"timezone", cfg.Timezone.String(),
		"max_concurrent", cfg.MaxConcurrent,
		"shutdown_grace", cfg.ShutdownGrace,
		"version", buildVersion())
	run := func(ctx context.Context) error {
		// Ready: the config is loaded, the state open, Telegram logged in
		// and every job scheduled.
		systemd.notify(daemon.SdNotifyReady, "STATUS="+status(group.Entries()))
		return loop.Run(ctx)
	}
	if client != nil {
		// The loop runs inside the client's connection and ends with it:
		// nothing is sent before the login, and an outage beyond the
		// budget shuts the loop down gracefully (exit 1, for systemd's
		// Restart=on-failure).
		inner := run
		run = func(ctx context.Context) error {
			// A stop signal ends the loop, not the connection: runs going
			// during the graceful shutdown can still send. The connection
			// closes once the loop has returned.
			return client.Run(context.WithoutCancel(ctx), func(connected context.Context) error {
				loopCtx, cancel := context.WithCancel(connected)
				defer context.AfterFunc(ctx, cancel)()
				return inner(loopCtx)
			})
		}
	}
	r := &reloader{path: path, lookupEnv: c.lookupEnv, logger: logger, deps: deps, group: group, systemd: systemd, running: cfg}
	return c.serve(run, logger, systemd, r.reload)
}

// signalError is the cancellation cause of the loop's context after a stop
// signal.
type signalError struct{ sig os.Signal }

func (e *signalError) Error() string { return "received " + e.sig.String() }

// serve calls run (the loop, possibly inside the Telegram client) until the
// first SIGINT or SIGTERM cancels its context and it has shut down
// gracefully; a second signal abandons the shutdown. SIGHUP calls reload
// meanwhile. run returning by itself is a failure. It returns the exit
// status.
func (c *cli) serve(run func(context.Context) error, logger *slog.Logger, systemd systemdNotifier, reload func()) int {
	// Two slots: the second signal must not be lost while the first is
	// being handled.
	sigs := make(chan os.Signal, 2)
	stop := c.notify(sigs)
	defer stop()

	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()

	for stopping := false; !stopping; {
		select {
		case err := <-done:
			logger.Error("scheduler stopped: the loop ended without a stop signal", "error", errString(err))
			return exitFailure
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				reload()
				continue
			}
			logger.Info("shutting down: no new runs; waiting for running jobs", "signal", sig.String())
			systemd.notify(daemon.SdNotifyStopping, "STATUS=stopping: waiting for running jobs")
			cancel(&signalError{sig})
			stopping = true
		}
	}

	for {
		select {
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				logger.Warn("reload ignored: shutting down")
				continue
			}
			// Running jobs are abandoned; exec jobs' process groups may outlive
			// us, which is what the operator asked for by signalling twice.
			logger.Error("scheduler stopped: second signal, not waiting for running jobs", "signal", sig.String())
			return exitFailure
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) && !errors.As(err, new(*signalError)) {
				logger.Error("scheduler stopped: shutdown failed", "err", err.Error())
				return exitFailure
			}
			logger.Info("scheduler stopped")
			return exitOK
		}
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// openState opens the state store under the config's state_dir.
func openState(cfg *jobs.Config) (*state.DB, error) {
	return state.Open(filepath.Join(cfg.StateDir, "state.db"), state.Options{History: cfg.History})
}

// recordHistory returns the loop's OnRunEnd hook: each run's outcome goes
// into its job's bounded history.
func recordHistory(db *state.DB, logger *slog.Logger) func(runtime.Report) {
	return func(r runtime.Report) {
		rec := state.RunRecord{
			Scheduled: r.Scheduled, Start: r.Start, End: r.End,
			Attempts: r.Attempt, Outcome: r.Outcome,
		}
		if r.Err != nil {
			rec.Error = r.Err.Error()
		}
		if err := db.Record(context.Background(), r.Job, rec); err != nil {
			logger.Error("could not record the run in the history", "job", r.Job, "error", err)
		}
	}
}
