package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/scheduler-dev/scheduler/runtime"
)

// quiet keeps the loop's per-run records out of the examples' output.
var quiet = slog.New(slog.DiscardHandler)

// A loop with one job, run until its context ends: aiocron's
// @crontab decorator and loop.run_forever().
func Example() {
	loop := runtime.NewLoop(runtime.Config{Logger: quiet})
	clock, err := loop.Add(runtime.Job{
		Name: "clock",
		Spec: "@every 1s",
		Func: func(ctx context.Context, r runtime.Run) error {
			fmt.Printf("%s: the time is a whole second: %t\n", r.Job, r.Scheduled.Nanosecond() == 0)
			return nil
		},
	})
	if err != nil {
		panic(err)
	}

	ctx, stop := context.WithCancel(context.Background())
	go func() {
		clock.Next(ctx) // wait for one run, then stop the loop
		stop()
	}()
	if err := loop.Run(ctx); err != nil { // returns after a graceful shutdown
		panic(err)
	}
	// Output: clock: the time is a whole second: true
}

// Entry.Next waits for an entry's next run, like aiocron's
// `await crontab.next()`; an entry needs no function to be waited on.
func ExampleEntry_Next() {
	loop := runtime.NewLoop(runtime.Config{Logger: quiet})
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go loop.Run(ctx)

	tick, _ := loop.Add(runtime.Job{Name: "tick", Spec: "* * * * * *"})
	for range 2 {
		r, err := tick.Next(ctx)
		fmt.Println(r.Job, r.Attempt, err)
	}
	// Output:
	// tick 1 <nil>
	// tick 1 <nil>
}

// Loop.Go starts a function on the loop from any goroutine and returns a
// Task to wait on, like asyncio's run_coroutine_threadsafe.
func ExampleLoop_Go() {
	loop := runtime.NewLoop(runtime.Config{Logger: quiet})
	task := loop.Go(func(ctx context.Context) error {
		return errors.New("fetched nothing")
	})
	fmt.Println(task.Wait(context.Background()))
	// Output: fetched nothing
}

// A Policy says how runs behave: here a run is skipped while the previous
// one is going, each attempt gets ten seconds, and a failure is retried
// twice with a jittered exponential backoff.
func ExamplePolicy() {
	loop := runtime.NewLoop(runtime.Config{Logger: quiet})
	policy := &runtime.Policy{
		Overlap: runtime.OverlapForbid,
		Timeout: 10 * time.Second,
		Retry:   runtime.Retry{Attempts: 3, Backoff: 10 * time.Millisecond, MaxBackoff: time.Second},
	}
	flaky, _ := loop.Add(runtime.Job{
		Name:   "flaky",
		Spec:   "* * * * * *",
		Policy: policy,
		Func: func(ctx context.Context, r runtime.Run) error {
			if r.Attempt < 3 {
				return fmt.Errorf("attempt %d failed", r.Attempt)
			}
			return nil
		},
	})
	ctx, stop := context.WithCancel(context.Background())
	go func() {
		r, err := flaky.Next(ctx)
		fmt.Println("succeeded on attempt", r.Attempt, err)
		stop()
	}()
	loop.Run(ctx)
	// Output: succeeded on attempt 3 <nil>
}
