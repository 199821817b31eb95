// Package runtime is the scheduler's one shared loop: it holds any number of
// cron jobs and runs each at its instants, the way aiocron runs crontabs on
// an asyncio loop.
//
//	loop := runtime.NewLoop(runtime.Config{})
//	loop.Add(runtime.Job{Name: "clock", Spec: "@every 1s", Func: printTime})
//	loop.Run(ctx) // until ctx ends, then a graceful shutdown
//
// A Job's Policy says what a run does when the previous one is still going
// (Overlap), how long it may take (Timeout), how it retries, and what
// happens to instants missed while the process was down or asleep
// (Misfire, with a Store to remember them across restarts). Loop.Add
// returns an Entry, which can be stopped, started, updated, triggered or
// waited on; a Group replaces a set of entries at once, as a configuration
// reload does. The package knows nothing of YAML or Telegram: package jobs
// builds its Jobs from a configuration file.
//
// # Timing
//
// The entries sit in a 4-ary min-heap keyed by their next instant, behind
// one timer; entries with the same spec share one parsed schedule. A
// little ahead of each instant the loop prepares it: it takes the entries
// due then off the heap, computes their next instants and orders their
// runs, so that at the instant only handing the runs to the workers is
// left. For an instant with many runs the loop waits out the last
// milliseconds awake instead of trusting a timer, and a stand-by worker,
// woken by a timer of its own thread, waits with it on another processor.
// Runs go to a pool of worker goroutines; a run that blocks holds up no
// other.
//
// Everything about time goes through a Clock, so that tests can use a
// fake one (package runtimetest).
package runtime
