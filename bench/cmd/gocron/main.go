// Command gocron runs one benchmark scenario against
// github.com/go-co-op/gocron/v2 and prints the result as a JSON line. The
// compare command runs it; see BENCHMARKS.md.
package main

import (
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/google/uuid"

	"github.com/scheduler-dev/scheduler/bench/internal/harness"
)

func main() {
	harness.Main("gocron", func(harness.Config) (harness.Scheduler[uuid.UUID], error) {
		s, err := gocron.NewScheduler(gocron.WithLocation(time.UTC))
		if err != nil {
			return nil, err
		}
		return &goCron{s: s}, nil
	})
}

type goCron struct{ s gocron.Scheduler }

func (s *goCron) Add(spec string, job int, fire func(int)) (uuid.UUID, error) {
	j, err := s.s.NewJob(gocron.CronJob(spec, true), gocron.NewTask(func() { fire(job) }))
	if err != nil {
		return uuid.UUID{}, err
	}
	return j.ID(), nil
}

func (s *goCron) Remove(id uuid.UUID) error { return s.s.RemoveJob(id) }

// Start returns once the scheduler has armed every job's timer.
func (s *goCron) Start() error {
	s.s.Start()
	return nil
}

func (s *goCron) Settings() string {
	return "gocron.NewScheduler(gocron.WithLocation(time.UTC)), default (no-op) logger, no concurrency limit"
}
