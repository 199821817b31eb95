// Command ours runs one benchmark scenario against this project's
// runtime.Loop, through its public API only, and prints the result as a
// JSON line. The compare command runs it; see BENCHMARKS.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/scheduler-dev/scheduler/bench/internal/harness"
	"github.com/scheduler-dev/scheduler/runtime"
)

func main() {
	maxConcurrent := flag.Int("max-concurrent", 0, "the loop's Config.MaxConcurrent; 0 means the number of jobs, so that no fire waits for a slot (the peers start a goroutine per fire without a limit)")
	harness.Main("ours", func(cfg harness.Config) (harness.Scheduler[*runtime.Entry], error) {
		limit := *maxConcurrent
		if limit <= 0 {
			limit = cfg.N
		}
		loop := runtime.NewLoop(runtime.Config{
			Logger:        slog.New(slog.DiscardHandler),
			Location:      time.UTC,
			MaxConcurrent: limit,
			ShutdownGrace: -1,
		})
		return &ours{loop: loop, limit: limit}, nil
	})
}

type ours struct {
	loop  *runtime.Loop
	limit int
}

func (s *ours) Add(spec string, job int, fire func(int)) (*runtime.Entry, error) {
	return s.loop.Add(runtime.Job{
		Name: "job", // one shared string, as the peers keep no per-job name either
		Spec: spec,
		Func: func(context.Context, runtime.Run) error { fire(job); return nil },
	})
}

func (s *ours) Remove(e *runtime.Entry) error {
	e.Remove()
	return nil
}

// Start runs the loop until the process exits: entries added before Run
// already hold their next instants, so the loop is ready at once.
func (s *ours) Start() error {
	go s.loop.Run(context.Background())
	return nil
}

func (s *ours) Settings() string {
	return fmt.Sprintf("Config.MaxConcurrent=%d, discard logger", s.limit)
}
