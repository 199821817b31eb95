package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/scheduler-dev/scheduler/runtime"
)

// systemdNotifier reports the service's state to systemd (sd_notify, for
// the unit's Type=notify and WatchdogSec=). Outside systemd, with no
// $NOTIFY_SOCKET, it does nothing.
type systemdNotifier struct {
	logger *slog.Logger
}

func (n systemdNotifier) notify(states ...string) {
	if _, err := daemon.SdNotify(false, strings.Join(states, "\n")); err != nil {
		n.logger.Warn("could not notify systemd", "error", err)
	}
}

// watchdog makes the loop itself keep systemd's watchdog fed: a heartbeat
// every half WatchdogSec. A wedged loop stops firing, the pings stop, and
// systemd restarts the service.
func (n systemdNotifier) watchdog(loop *runtime.Loop) error {
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil || interval == 0 {
		return err
	}
	every := max(time.Second, (interval / 2).Truncate(time.Second))
	return heartbeat(loop, "systemd-watchdog", every, func() { n.notify(daemon.SdNotifyWatchdog) })
}

// heartbeat calls beat at each fire of an entry with no function that
// fires every interval, from a task on the loop: proof that the loop itself
// is firing, for the systemd watchdog and /healthz.
func heartbeat(loop *runtime.Loop, name string, every time.Duration, beat func()) error {
	tick, err := loop.Add(runtime.Job{Name: name, Spec: "@every " + every.String()})
	if err != nil {
		return err
	}
	loop.Go(func(ctx context.Context) error {
		for {
			if _, err := tick.Next(ctx); err != nil {
				return nil // the loop is shutting down
			}
			beat()
		}
	})
	return nil
}

// status is the one-line STATUS= systemd shows: the jobs and the next fire.
func status(entries []*runtime.Entry) string {
	var next *runtime.Entry
	for _, e := range entries {
		if at := e.NextFire(); !at.IsZero() && (next == nil || at.Before(next.NextFire())) {
			next = e
		}
	}
	if next == nil {
		return fmt.Sprintf("%d jobs, none scheduled", len(entries))
	}
	return fmt.Sprintf("%d jobs; next: %s at %s", len(entries), next.Name(), next.NextFire().Format(time.RFC3339))
}
