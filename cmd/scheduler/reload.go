package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/coreos/go-systemd/v22/daemon"
	"golang.org/x/sys/unix"

	"github.com/scheduler-dev/scheduler/control"
	"github.com/scheduler-dev/scheduler/jobs"
	"github.com/scheduler-dev/scheduler/runtime"
	"github.com/scheduler-dev/scheduler/telegram"
)

// reloader re-reads the config file on SIGHUP and `scheduler reload`, and
// applies its jobs to the running loop.
type reloader struct {
	path      string
	lookupEnv func(string) (string, bool)
	logger    *slog.Logger
	deps      jobs.Deps
	service   *control.Service
	systemd   systemdNotifier

	mu      sync.Mutex   // one reload at a time: a signal and a command may cross
	running *jobs.Config // the configuration in force
}

// onSIGHUP reloads; the outcome goes to the log and to systemd's STATUS=.
func (r *reloader) onSIGHUP() {
	r.reload(context.Background())
}

// reload applies the config file anew: jobs added start, removed ones stop
// (a run going finishes), and jobs whose schedule did not change keep their
// next fire instant. An invalid file is rejected whole: the running
// configuration stays, the problems go to the log and to systemd's
// STATUS=, and the error returned lists them, one line each.
func (r *reloader) reload(ctx context.Context) (runtime.Changes, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.systemd.notify("RELOADING=1", fmt.Sprintf("MONOTONIC_USEC=%d", monotonicMicros()))
	ch, status, err := r.apply(ctx)
	r.systemd.notify(daemon.SdNotifyReady, "STATUS="+status)
	return ch, err
}

// apply loads and applies the file; it returns the STATUS= line to show.
func (r *reloader) apply(ctx context.Context) (runtime.Changes, string, error) {
	entries := func() string { return status(r.service.Entries()) }
	cfg, err := jobs.Load(r.path, r.lookupEnv)
	if err != nil {
		problems := strings.Split(err.Error(), "\n")
		r.logger.Error("reload rejected: the configuration has errors; the running one stays",
			"config", r.path, "problems", problems)
		return runtime.Changes{}, fmt.Sprintf("reload rejected (%d problems, see the log): %s; %s",
			len(problems), problems[0], entries()), err
	}
	if (cfg.Telegram == nil) != (r.running.Telegram == nil) {
		err := fmt.Errorf("%s: adding or removing the telegram: block needs a restart", r.path)
		r.logger.Error("reload rejected: adding or removing the telegram: block needs a restart; the running configuration stays",
			"config", r.path)
		return runtime.Changes{}, "reload rejected: the telegram: block changed (restart needed); " + entries(), err
	}
	r.warnRestartOnly(cfg)
	ch, err := r.service.Apply(ctx, cfg.RuntimeJobs(r.deps))
	if err != nil {
		r.logger.Error("reload failed", "config", r.path, "error", err)
		return ch, "reload failed: " + err.Error(), fmt.Errorf("%s: %w", r.path, err)
	}
	r.running = cfg
	r.logger.Info("configuration reloaded", "config", r.path,
		"added", ch.Added, "updated", ch.Updated, "rescheduled", ch.Rescheduled, "removed", ch.Removed)
	return ch, entries(), nil
}

// warnRestartOnly logs the top-level settings that a reload cannot change
// in a running process.
func (r *reloader) warnRestartOnly(cfg *jobs.Config) {
	old := r.running
	for _, s := range []struct {
		key     string
		was, is any
	}{
		{"state_dir", old.StateDir, cfg.StateDir},
		{"history", old.History, cfg.History},
		{"max_concurrent", old.MaxConcurrent, cfg.MaxConcurrent},
		{"shutdown_grace", old.ShutdownGrace, cfg.ShutdownGrace},
		{"telegram", telegramSummary(old.Telegram), telegramSummary(cfg.Telegram)},
		{"http", httpSummary(old.HTTP), httpSummary(cfg.HTTP)},
	} {
		if s.was != s.is {
			r.logger.Warn("changed setting takes effect at the next restart", "key", s.key, "running", s.was, "new", s.is)
		}
	}
}

// monotonicMicros is CLOCK_MONOTONIC in microseconds, which systemd wants
// with RELOADING=1.
func monotonicMicros() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return ts.Nano() / 1000
}

// telegramSummary tells apart telegram: blocks without their secrets.
func telegramSummary(c *telegram.Config) string {
	if c == nil {
		return "none"
	}
	return fmt.Sprintf("app %d, server %q, dc %d, session %s, rates %v", c.AppID, c.Server, c.DC, c.SessionFile, c.RateLimit)
}

func httpSummary(c *jobs.HTTPConfig) string {
	if c == nil {
		return "none"
	}
	return fmt.Sprintf("listen %s, public %t", c.Listen, c.Public)
}
