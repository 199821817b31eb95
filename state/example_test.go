package state_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/scheduler-dev/scheduler/state"
)

// The loop claims an occurrence before starting it; after a restart the
// occurrence stays claimed, and Last tells the loop where to resume.
func ExampleDB_Claim() {
	dir, err := os.MkdirTemp("", "state-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "state.db")
	ctx := context.Background()
	occurrence := time.Date(2026, 3, 29, 3, 30, 0, 0, time.UTC)

	db, err := state.Open(path, state.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	ok, err := db.Claim(ctx, "backup", occurrence)
	fmt.Println("first process claims it:", ok, err)
	db.Close()

	db, err = state.Open(path, state.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	ok, err = db.Claim(ctx, "backup", occurrence)
	fmt.Println("next process claims it:", ok, err)
	last, _, _ := db.Last(ctx, "backup")
	fmt.Println("resume after:", last.Format(time.RFC3339))
	// Output:
	// first process claims it: true <nil>
	// next process claims it: false <nil>
	// resume after: 2026-03-29T03:30:00Z
}

// Each job keeps a bounded history of outcomes, newest first.
func ExampleDB_History() {
	dir, err := os.MkdirTemp("", "state-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	db, err := state.Open(filepath.Join(dir, "state.db"), state.Options{History: 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	ctx := context.Background()
	start := time.Date(2026, 3, 29, 9, 0, 0, 0, time.UTC)
	for i, outcome := range []string{"ok", "failed", "timeout"} {
		scheduled := start.Add(time.Duration(i) * time.Hour)
		db.Record(ctx, "ping", state.RunRecord{
			Scheduled: scheduled, Start: scheduled, End: scheduled.Add(time.Second),
			Attempts: 1, Outcome: outcome,
		})
	}
	runs, _ := db.History(ctx, "ping", 0)
	for _, r := range runs {
		fmt.Println(r.Scheduled.Format(time.Kitchen), r.Outcome)
	}
	// Output:
	// 11:00AM timeout
	// 10:00AM failed
}
