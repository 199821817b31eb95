package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/scheduler-dev/scheduler/control"
	"github.com/scheduler-dev/scheduler/jobs"
)

// socketEnv names the environment variable that --socket defaults to.
const socketEnv = "SCHEDULER_SOCKET"

// systemdSocket is where the unit in systemd/ puts the control socket
// (RuntimeDirectory=scheduler): the last place a command looks.
const systemdSocket = "/run/scheduler/" + control.SocketName

// socketFlag adds --socket, whose default is $SCHEDULER_SOCKET.
func (f *flags) socketFlag() *string {
	def, _ := f.c.lookupEnv(socketEnv)
	return f.String("socket", def, "the control socket `PATH` (default $"+socketEnv+", else $RUNTIME_DIRECTORY/"+
		control.SocketName+", else the config's state_dir/"+control.SocketName+")")
}

// daemonSocket is where `run` listens: --socket, else $RUNTIME_DIRECTORY
// (systemd's RuntimeDirectory=), else the state directory.
func (c *cli) daemonSocket(flag string, cfg *jobs.Config) string {
	if flag != "" {
		return flag
	}
	if dir, ok := c.lookupEnv("RUNTIME_DIRECTORY"); ok && dir != "" {
		dir, _, _ = strings.Cut(dir, ":") // systemd may list several; the first is ours
		return filepath.Join(dir, control.SocketName)
	}
	return filepath.Join(cfg.StateDir, control.SocketName)
}

// clientSocket is where a control command finds the daemon: as `run` would
// put it, reading the config for its state_dir when one is given; without
// one, the systemd unit's socket if there is one, else the default
// state_dir's.
func (c *cli) clientSocket(socket, config string) (string, int, bool) {
	if socket != "" {
		return socket, exitOK, true
	}
	if dir, ok := c.lookupEnv("RUNTIME_DIRECTORY"); ok && dir != "" {
		return c.daemonSocket("", nil), exitOK, true
	}
	if config != "" {
		cfg, ok := c.load(config)
		if !ok {
			return "", exitUsage, false
		}
		return c.daemonSocket("", cfg), exitOK, true
	}
	if _, err := os.Stat(systemdSocket); err == nil {
		return systemdSocket, exitOK, true
	}
	return filepath.Join(".scheduler", control.SocketName), exitOK, true
}

// controlCommand parses the flags and arguments of a control command,
// which wants nargs job names, and returns a client of the daemon they
// point at and the names.
func (c *cli) controlCommand(f *flags, args []string, nargs int) (client *control.Client, names []string, code int, ok bool) {
	socket := f.socketFlag()
	config := f.configFlag()
	names, code, ok = f.parseArgs(args)
	switch {
	case !ok:
		return nil, nil, code, false
	case len(names) > nargs:
		return nil, nil, f.usageError("unexpected argument %q", names[nargs]), false
	case len(names) < nargs:
		return nil, nil, f.usageError("want a job name"), false
	}
	path, code, ok := c.clientSocket(*socket, *config)
	if !ok {
		return nil, nil, code, false
	}
	return control.NewClient(path), names, exitOK, true
}

// controlError reports a failed call and returns the exit status: 2 for
// what the user asked wrong (an unknown job, a rejected configuration), 1
// for the rest (no daemon, a refused run).
func (c *cli) controlError(name string, err error) int {
	var rejected *control.RejectedError
	switch {
	case errors.As(err, &rejected):
		fmt.Fprintln(c.stderr, "scheduler "+name+": the configuration was rejected; the running one stays:")
		for _, p := range rejected.Problems {
			fmt.Fprintln(c.stderr, p)
		}
		return exitUsage
	case errors.Is(err, control.ErrUnknownJob):
		fmt.Fprintf(c.stderr, "scheduler %s: %v\n", name, err)
		return exitUsage
	case errors.Is(err, control.ErrNotRunning):
		fmt.Fprintf(c.stderr, "scheduler %s: %v; start it with 'scheduler run', or point --socket or --config at it\n", name, err)
		return exitFailure
	}
	fmt.Fprintf(c.stderr, "scheduler %s: %v\n", name, err)
	return exitFailure
}

const controlDoc = `
It talks to the running scheduler ('scheduler run') over its control
socket: --socket, else $RUNTIME_DIRECTORY/scheduler.sock, else the
state_dir of --config, else /run/scheduler/scheduler.sock (the systemd
unit's) if it exists, else .scheduler/scheduler.sock.
`

func (c *cli) jobsCommand(args []string) int {
	f := c.newFlags("jobs", "jobs [--json] [--socket PATH | --config FILE]",
		`Print the jobs of the running scheduler: name, schedule, zone, state
(scheduled, running, paused or idle), the outcome and start of the last
run, and the next run. --json prints the array GET /jobs serves.
`+controlDoc)
	asJSON := f.Bool("json", false, "print JSON instead of a table")
	client, _, code, ok := c.controlCommand(f, args, 0)
	if !ok {
		return code
	}
	statuses, err := client.Jobs(context.Background())
	if err != nil {
		return c.controlError("jobs", err)
	}
	if *asJSON {
		return c.printJSON(statuses)
	}
	w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tSCHEDULE\tZONE\tSTATE\tLAST\tLAST RUN\tNEXT RUN")
	for _, j := range statuses {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", j.Name, j.Schedule, j.Timezone, j.State,
			orDash(j.LastOutcome), timeOrDash(j.LastRun), timeOrDash(j.NextRun))
	}
	w.Flush()
	return exitOK
}

func (c *cli) triggerCommand(args []string) int {
	f := c.newFlags("trigger", "trigger NAME [--wait] [--json] [--socket PATH | --config FILE]",
		`Run the job NAME now, outside its schedule, as its overlap policy allows:
under forbid (or queue, with a run already queued) a run going makes it
refuse, with exit status 1. A paused job can be triggered.

Without --wait it returns once the run has started. With --wait it waits
for the run to end (retries included), prints its outcome, and exits 0 if
the run succeeded, 1 if not.
`+controlDoc)
	wait := f.Bool("wait", false, "wait for the run to end and print its outcome")
	asJSON := f.Bool("json", false, "print JSON instead of text")
	client, names, code, ok := c.controlCommand(f, args, 1)
	if !ok {
		return code
	}
	res, err := client.Trigger(context.Background(), names[0], *wait)
	if err != nil {
		return c.controlError("trigger", err)
	}
	if *asJSON {
		c.printJSON(res)
	} else if !res.Ended {
		fmt.Fprintf(c.stdout, "%s: started (scheduled %s)\n", res.Job, res.Scheduled.Format(time.RFC3339))
	} else {
		fmt.Fprintf(c.stdout, "%s: %s after %d attempt(s)", res.Job, res.Outcome, res.Attempts)
		if res.Error != "" {
			fmt.Fprintf(c.stdout, ": %s", res.Error)
		}
		fmt.Fprintln(c.stdout)
	}
	if res.Ended && res.Outcome != "ok" {
		return exitFailure
	}
	return exitOK
}

func (c *cli) pauseCommand(args []string) int  { return c.setPaused("pause", args, true) }
func (c *cli) resumeCommand(args []string) int { return c.setPaused("resume", args, false) }

func (c *cli) setPaused(name string, args []string, paused bool) int {
	doc := `Resume the job NAME: it fires again from its next instant after now;
what it missed while paused is not caught up.
`
	if paused {
		doc = `Pause the job NAME: it fires nothing until 'scheduler resume NAME'. A run
going finishes. The pause is stored in the state and holds across restarts
and reloads.
`
	}
	f := c.newFlags(name, name+" NAME [--socket PATH | --config FILE]", doc+controlDoc)
	client, names, code, ok := c.controlCommand(f, args, 1)
	if !ok {
		return code
	}
	if err := client.SetPaused(context.Background(), names[0], paused); err != nil {
		return c.controlError(name, err)
	}
	fmt.Fprintf(c.stdout, "%s: %sd\n", names[0], name)
	return exitOK
}

func (c *cli) historyCommand(args []string) int {
	f := c.newFlags("history", "history NAME [--limit N] [--json] [--socket PATH | --config FILE]",
		`Print the recorded runs of the job NAME, newest first: scheduled instant,
start, duration, attempts, outcome and error. The state keeps the last
history: runs of each job (default 100).
`+controlDoc)
	limit := f.Int("limit", 20, "print at most `N` runs; 0 for all that are kept")
	asJSON := f.Bool("json", false, "print JSON instead of a table")
	client, names, code, ok := c.controlCommand(f, args, 1)
	if !ok {
		return code
	}
	if *limit < 0 {
		return f.usageError("--limit %d: want 0 or more", *limit)
	}
	runs, err := client.History(context.Background(), names[0], *limit)
	if err != nil {
		return c.controlError("history", err)
	}
	if *asJSON {
		return c.printJSON(runs)
	}
	w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "SCHEDULED\tSTART\tDURATION\tATTEMPTS\tOUTCOME\tERROR")
	for _, r := range runs {
		duration := "-"
		if !r.Start.IsZero() && !r.End.IsZero() {
			duration = roundDuration(r.End.Sub(r.Start)).String()
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%s\n", r.Scheduled.Format(time.RFC3339), timeOrDash(&r.Start),
			duration, r.Attempts, r.Outcome, orDash(firstLine(r.Error)))
	}
	w.Flush()
	return exitOK
}

func (c *cli) reloadCommand(args []string) int {
	f := c.newFlags("reload", "reload [--socket PATH | --config FILE]",
		`Make the running scheduler re-read its configuration file, as SIGHUP does,
and print what changed. A file with errors is rejected whole: the running
configuration stays, the problems are printed, and the exit status is 2.
`+controlDoc)
	client, _, code, ok := c.controlCommand(f, args, 0)
	if !ok {
		return code
	}
	ch, err := client.Reload(context.Background())
	if err != nil {
		return c.controlError("reload", err)
	}
	fmt.Fprintf(c.stdout, "reloaded: added %s; updated %s; rescheduled %s; removed %s\n",
		joinNames(ch.Added), joinNames(ch.Updated), joinNames(ch.Rescheduled), joinNames(ch.Removed))
	return exitOK
}

func (c *cli) printJSON(v any) int {
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		fmt.Fprintln(c.stderr, err)
		return exitFailure
	}
	return exitOK
}

func joinNames(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func timeOrDash(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.Format(time.RFC3339)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// roundDuration drops the digits nobody reads: 1m30s, 1.234s, 15.301ms.
func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second)
	case d >= time.Second:
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Microsecond)
}
