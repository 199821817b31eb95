package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/scheduler-dev/scheduler/jobs"
)

// Exit statuses: part of the user contract (see DESIGN.md, "Contracts").
const (
	exitOK      = 0 // success
	exitFailure = 1 // runtime failure
	exitUsage   = 2 // usage or configuration error
)

// configEnv names the environment variable that --config defaults to.
const configEnv = "SCHEDULER_CONFIG"

// cli is the command with its environment made explicit, so that tests can
// run every subcommand in-process.
type cli struct {
	stdin          io.Reader // prompts of login
	stdout, stderr io.Writer
	lookupEnv      func(string) (string, bool)
	now            func() time.Time
	// notify subscribes ch to SIGINT, SIGTERM and SIGHUP and returns a
	// function that unsubscribes it.
	notify func(ch chan<- os.Signal) (stop func())
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(c *cli, args []string) int
}

// commands is in the order the usage message lists them.
var commands = []command{
	{"run", "run the jobs until SIGINT or SIGTERM", (*cli).runCommand},
	{"validate", "check a config file and report every problem", (*cli).validateCommand},
	{"next", "print the next fire instants of each job", (*cli).nextCommand},
	{"jobs", "list the running scheduler's jobs and their state", (*cli).jobsCommand},
	{"trigger", "run a job of the running scheduler now", (*cli).triggerCommand},
	{"pause", "stop a job of the running scheduler from firing", (*cli).pauseCommand},
	{"resume", "let a paused job fire again", (*cli).resumeCommand},
	{"history", "print the recorded runs of a job", (*cli).historyCommand},
	{"reload", "make the running scheduler re-read its config", (*cli).reloadCommand},
	{"login", "log a Telegram user account in for telegram jobs", (*cli).loginCommand},
	{"version", "print the version of the scheduler and of Go", (*cli).versionCommand},
}

// main runs the subcommand args name and returns the exit status.
func (c *cli) main(args []string) int {
	if len(args) == 0 {
		c.usage(c.stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		c.usage(c.stdout)
		return exitOK
	case "help":
		if len(args) == 1 {
			c.usage(c.stdout)
			return exitOK
		}
		// "scheduler help run" is "scheduler run --help".
		name, args = args[1], []string{args[1], "--help"}
	}
	for _, cmd := range commands {
		if cmd.name == name {
			return cmd.run(c, args[1:])
		}
	}
	fmt.Fprintf(c.stderr, "scheduler: unknown command %q\nRun 'scheduler --help' for usage.\n", name)
	return exitUsage
}

func (c *cli) usage(w io.Writer) {
	var b strings.Builder
	b.WriteString(`scheduler runs the cron jobs described in a YAML file.

Usage:
  scheduler <command> [flags]

Commands:
`)
	for _, cmd := range commands {
		fmt.Fprintf(&b, "  %-9s %s\n", cmd.name, cmd.summary)
	}
	b.WriteString(`
Run 'scheduler <command> --help' for the flags of a command.
--config defaults to $` + configEnv + `.
Exit status: 0 success, 1 runtime failure, 2 usage or configuration error.
`)
	io.WriteString(w, b.String())
}

// flags is a subcommand's flag set with the text of its --help.
type flags struct {
	*flag.FlagSet
	c        *cli
	synopsis string // the usage line after "scheduler "
	doc      string // what the command does, ending in a newline
}

func (c *cli) newFlags(name, synopsis, doc string) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	// Parse reports bad flags to stderr; --help output goes to stdout, and is
	// printed by parse, not by the flag package.
	fs.SetOutput(c.stderr)
	fs.Usage = func() {}
	return &flags{FlagSet: fs, c: c, synopsis: synopsis, doc: doc}
}

// configFlag adds --config, whose default is $SCHEDULER_CONFIG.
func (f *flags) configFlag() *string {
	def, _ := f.c.lookupEnv(configEnv)
	return f.String("config", def, "the YAML config `FILE` (default $"+configEnv+")")
}

// parse parses args, which must be flags only. When it returns ok false,
// the command must return code: 0 after --help, 2 after a usage error
// (already reported).
func (f *flags) parse(args []string) (code int, ok bool) {
	positional, code, ok := f.parseArgs(args)
	if ok && len(positional) > 0 {
		return f.usageError("unexpected argument %q", positional[0]), false
	}
	return code, ok
}

// parseArgs parses args, flags and arguments in any order ("trigger NAME
// --wait" as well as "trigger --wait NAME"), and returns the arguments. ok
// false is as for parse.
func (f *flags) parseArgs(args []string) (positional []string, code int, ok bool) {
	for {
		err := f.Parse(args)
		switch {
		case errors.Is(err, flag.ErrHelp):
			f.help(f.c.stdout)
			return nil, exitOK, false
		case err != nil:
			// The flag package has printed the error itself.
			fmt.Fprintf(f.c.stderr, "Run 'scheduler %s --help' for usage.\n", f.Name())
			return nil, exitUsage, false
		case f.NArg() == 0:
			return positional, exitOK, true
		}
		positional = append(positional, f.Arg(0))
		args = f.Args()[1:]
	}
}

// usageError reports a usage problem and returns the exit status for it.
func (f *flags) usageError(format string, args ...any) int {
	fmt.Fprintf(f.c.stderr, "scheduler %s: %s\nRun 'scheduler %s --help' for usage.\n",
		f.Name(), fmt.Sprintf(format, args...), f.Name())
	return exitUsage
}

// loadConfig loads the config file that --config names (value), or
// reports that there is none or that it has problems; the code is the exit
// status to return when ok is false.
func (f *flags) loadConfig(value string) (cfg *jobs.Config, code int, ok bool) {
	if value == "" {
		return nil, f.usageError("no config file: pass --config FILE or set $%s", configEnv), false
	}
	if cfg, ok = f.c.load(value); !ok {
		return nil, exitUsage, false
	}
	return cfg, exitOK, true
}

// help prints the command's --help text: synopsis, description and flags,
// written with the double dashes the README uses.
func (f *flags) help(w io.Writer) {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: scheduler %s\n\n%s", f.synopsis, f.doc)
	first := true
	f.VisitAll(func(fl *flag.Flag) {
		if first {
			b.WriteString("\nFlags:\n")
			first = false
		}
		name, usage := flag.UnquoteUsage(fl)
		fmt.Fprintf(&b, "  --%s", fl.Name)
		if name != "" {
			fmt.Fprintf(&b, " %s", name)
		}
		fmt.Fprintf(&b, "\n      %s", usage)
		// --config's default is $SCHEDULER_CONFIG, which its usage names.
		if fl.DefValue != "" && fl.DefValue != "false" && fl.Name != "config" {
			fmt.Fprintf(&b, " (default %s)", fl.DefValue)
		}
		b.WriteString("\n")
	})
	b.WriteString("\nExit status: 0 success, 1 runtime failure, 2 usage or configuration error.\n")
	io.WriteString(w, b.String())
}

// load reads and validates the config file; on failure it prints every
// problem, one FILE:LINE:COL line each, and reports false (exit 2).
func (c *cli) load(path string) (*jobs.Config, bool) {
	cfg, err := jobs.Load(path, c.lookupEnv)
	if err != nil {
		fmt.Fprintln(c.stderr, err)
		return nil, false
	}
	return cfg, true
}
