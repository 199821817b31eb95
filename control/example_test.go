package control_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/scheduler-dev/scheduler/control"
	"github.com/scheduler-dev/scheduler/runtime"
	"github.com/scheduler-dev/scheduler/state"
)

// A loop of your own, steered over its control socket: what `scheduler
// run` and `scheduler trigger` do.
func Example() {
	dir, _ := os.MkdirTemp("", "control-example")
	defer os.RemoveAll(dir)
	db, err := state.Open(filepath.Join(dir, "state.db"), state.Options{})
	if err != nil {
		panic(err)
	}
	defer db.Close()
	logger := slog.New(slog.DiscardHandler)
	var svc *control.Service // records each run's end in the history
	loop := runtime.NewLoop(runtime.Config{Store: db, Logger: logger, OnRunEnd: func(r runtime.Report) { svc.OnRunEnd(r) }})
	svc = control.NewService(control.Options{Group: runtime.NewGroup(loop), Store: db, Logger: logger})
	svc.Apply(context.Background(), []runtime.Job{{
		Name: "report",
		Spec: "0 9 * * MON-FRI",
		Func: func(ctx context.Context, r runtime.Run) error { return nil },
	}})

	socket := filepath.Join(dir, control.SocketName)
	l, err := control.Listen(socket, logger)
	if err != nil {
		panic(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go control.Serve(ctx, l, svc.Handler())
	go loop.Run(ctx)

	// Elsewhere, maybe in another process:
	client := control.NewClient(socket)
	res, err := client.Trigger(context.Background(), "report", true)
	fmt.Println(res.Job, res.Outcome, res.Attempts, err)
	jobs, _ := client.Jobs(context.Background())
	fmt.Println(jobs[0].Name, jobs[0].State, jobs[0].LastOutcome)
	// Output:
	// report ok 1 <nil>
	// report scheduled ok
}
