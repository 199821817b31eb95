// Command scheduler runs the cron jobs described in a YAML file.
//
// Usage:
//
//	scheduler run      --config FILE   run the jobs until SIGINT or SIGTERM
//	scheduler validate --config FILE   check the file, report every problem
//	scheduler next     --config FILE   print the next fire instants of each job
//	scheduler login    --config FILE   log a Telegram user account in
//	scheduler version                  print the version
//
// --config defaults to $SCHEDULER_CONFIG. The exit status is 0 on success, 1
// on a runtime failure and 2 on a usage or configuration error. See the
// README for the file format and every flag.
package main

import (
	"os"
	"os/signal"
	"syscall"
	"time"

	// Embed the IANA zone database so that timezone: keys work on hosts
	// without /usr/share/zoneinfo (distroless and scratch images).
	_ "time/tzdata"
)

func main() {
	c := &cli{
		stdin:     os.Stdin,
		stdout:    os.Stdout,
		stderr:    os.Stderr,
		lookupEnv: os.LookupEnv,
		now:       time.Now,
		notify: func(ch chan<- os.Signal) (stop func()) {
			signal.Notify(ch, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
			return func() { signal.Stop(ch) }
		},
	}
	os.Exit(c.main(os.Args[1:]))
}
