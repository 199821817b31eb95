// Command robfig runs one benchmark scenario against github.com/robfig/cron/v3's
// Cron runner and prints the result as a JSON line. The compare command
// runs it; see BENCHMARKS.md.
package main

import (
	"time"

	"github.com/robfig/cron/v3"

	"github.com/scheduler-dev/scheduler/bench/internal/harness"
)

func main() {
	harness.Main("robfig", func(harness.Config) (harness.Scheduler[cron.EntryID], error) {
		return &robfig{c: cron.New(cron.WithSeconds(), cron.WithLocation(time.UTC), cron.WithLogger(cron.DiscardLogger))}, nil
	})
}

type robfig struct{ c *cron.Cron }

func (s *robfig) Add(spec string, job int, fire func(int)) (cron.EntryID, error) {
	return s.c.AddFunc(spec, func() { fire(job) })
}

func (s *robfig) Remove(id cron.EntryID) error {
	s.c.Remove(id)
	return nil
}

// Start returns once the runner has computed every entry's first instant.
// Cron.Start returns before that, in its own goroutine; an AddFunc on a
// running Cron is received by that goroutine only once it is done, so one
// more job (one that never fires in the benchmark) serves as the barrier.
func (s *robfig) Start() error {
	s.c.Start()
	_, err := s.c.AddFunc("0 0 0 1 1 *", func() {})
	return err
}

func (s *robfig) Settings() string {
	return "cron.New(cron.WithSeconds(), cron.WithLocation(time.UTC), cron.WithLogger(cron.DiscardLogger))"
}
