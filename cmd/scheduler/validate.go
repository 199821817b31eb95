package main

import (
	"fmt"
)

func (c *cli) validateCommand(args []string) int {
	f := c.newFlags("validate", "validate [--config FILE]",
		`Check a config file without running anything.

On success it prints "FILE: N jobs OK" to stdout and exits 0. Otherwise it
prints every problem to stderr, one per line, as
  FILE:LINE:COL: job "NAME": field: message
and exits 2.
`)
	config := f.configFlag()
	if code, ok := f.parse(args); !ok {
		return code
	}
	cfg, code, ok := f.loadConfig(*config)
	if !ok {
		return code
	}
	noun := "jobs"
	if len(cfg.Jobs) == 1 {
		noun = "job"
	}
	fmt.Fprintf(c.stdout, "%s: %d %s OK\n", *config, len(cfg.Jobs), noun)
	return exitOK
}
