package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/scheduler-dev/scheduler/control"
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
	socket := f.socketFlag()
	if code, ok := f.parse(args); !ok {
		return code
	}
	logger, err := newLogger(c.stderr, *logFormat, *logLevel)
	if err != nil {
		return f.usageError("%v", err)
	}
	cfg, code, ok := f.loadConfig(*config)
	if !ok {
		return code
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
	metrics := control.NewMetrics(buildVersion())
	var svc *control.Service // set before the loop runs
	loop := runtime.NewLoop(runtime.Config{
		Clock:         clock,
		Logger:        logger,
		MaxConcurrent: cfg.MaxConcurrent,
		ShutdownGrace: cfg.ShutdownGrace,
		Location:      cfg.Timezone,
		Store:         db,
		OnRunEnd:      func(r runtime.Report) { svc.OnRunEnd(r) },
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
	var connected func() bool
	if client != nil {
		connected = func() bool { return client.Stats().Connected }
		metrics.WatchTelegram(client.Stats)
	}
	health, err := newHealth(loop, connected)
	if err != nil {
		fmt.Fprintln(c.stderr, err)
		return exitFailure
	}
	systemd := systemdNotifier{logger}
	group := runtime.NewGroup(loop)
	r := &reloader{path: *config, lookupEnv: c.lookupEnv, logger: logger, deps: deps, systemd: systemd, running: cfg}
	svc = control.NewService(control.Options{
		Group:   group,
		Store:   db,
		Reload:  r.reload,
		Health:  health.problems,
		Metrics: metrics,
		Logger:  logger,
	})
	r.service = svc
	if _, err := svc.Apply(context.Background(), cfg.RuntimeJobs(deps)); err != nil {
		fmt.Fprintf(c.stderr, "%s: %v\n", cfg.File, err)
		return exitUsage
	}
	if err := systemd.watchdog(loop); err != nil {
		logger.Error("systemd watchdog not fed", "error", err)
	}
	socketPath := c.daemonSocket(*socket, cfg)
	sock, err := control.Listen(socketPath, logger)
	if err != nil {
		fmt.Fprintln(c.stderr, err)
		return exitFailure
	}
	servers := newServers(logger)
	defer servers.stop()
	servers.serve("control socket", sock, svc.Handler())
	httpAddr := ""
	if cfg.HTTP != nil {
		l, err := net.Listen("tcp", cfg.HTTP.Listen)
		if err != nil {
			fmt.Fprintf(c.stderr, "%s: http.listen: %v\n", cfg.File, err)
			return exitFailure
		}
		httpAddr = l.Addr().String()
		servers.serve("HTTP endpoints", l, svc.PublicHandler())
	}
	logger.Info("scheduler started",
		"config", cfg.File,
		"state", db.Path(),
		"socket", socketPath,
		"http", httpAddr,
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
	return c.serve(run, logger, systemd, r.onSIGHUP)
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

// servers serves the control socket and the HTTP endpoints for as long as
// the process runs.
type servers struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	logger *slog.Logger
}

func newServers(logger *slog.Logger) *servers {
	ctx, cancel := context.WithCancel(context.Background())
	return &servers{ctx: ctx, cancel: cancel, logger: logger}
}

// serve serves h on l until stop; what names it in the log.
func (s *servers) serve(what string, l net.Listener, h http.Handler) {
	s.wg.Go(func() {
		if err := control.Serve(s.ctx, l, h); err != nil {
			s.logger.Error(what+" failed", "address", l.Addr().String(), "error", err)
		}
	})
}

// stop shuts the servers down and waits for them.
func (s *servers) stop() {
	s.cancel()
	s.wg.Wait()
}
