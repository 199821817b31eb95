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

// watchdog makes the loop itself keep systemd's watchdog fed: an entry with
// no function fires every half WatchdogSec, and a task on the loop pings
// at each of its fires. A wedged loop stops firing, the pings stop, and
// systemd restarts the service.
func (n systemdNotifier) watchdog(loop *runtime.Loop) error {
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil || interval == 0 {
		return err
	}
	every := max(time.Second, (interval / 2).Truncate(time.Second))
	tick, err := loop.Add(runtime.Job{Name: "systemd-watchdog", Spec: "@every " + every.String()})
	if err != nil {
		return err
	}
	loop.Go(func(ctx context.Context) error {
		for {
			if _, err := tick.Next(ctx); err != nil {
				return nil // the loop is shutting down
			}
			n.notify(daemon.SdNotifyWatchdog)
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
