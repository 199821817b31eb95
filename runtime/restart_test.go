package runtime_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/scheduler-dev/scheduler/runtime"
	"github.com/scheduler-dev/scheduler/state"
)

// process is one life of a scheduler process on a state file: a loop on a
// fake clock set to now, with the real bbolt store.
func process(t *testing.T, path string, now time.Time, job runtime.Job) (*harness, *state.DB) {
	t.Helper()
	db, err := state.Open(path, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, runtime.Config{Store: db})
	h.clock.AdvanceTo(now)
	h.add(job)
	return h, db
}

func TestRestartHandlesMissedInstantsByPolicy(t *testing.T) {
	// The first process runs an hourly job from 10:00 to 12:30 (11:00 and
	// 12:00 run), then stops. The next starts at 17:30: 13:00 to 17:00 were
	// missed while it was down.
	cases := []struct {
		name   string
		policy runtime.Policy
		want   string // runs of the second process until 18:30
	}{
		{"auto", runtime.Policy{}, "17:00:00 18:00:00"},
		{"skip", runtime.Policy{Misfire: runtime.MisfireSkip}, "18:00:00"},
		{"run_once", runtime.Policy{Misfire: runtime.MisfireRunOnce}, "17:00:00 18:00:00"},
		{"run_all", runtime.Policy{Misfire: runtime.MisfireRunAll}, "13:00:00 14:00:00 15:00:00 16:00:00 17:00:00 18:00:00"},
		{"run_all max 2", runtime.Policy{Misfire: runtime.MisfireRunAll, MaxCatchup: 2}, "16:00:00 17:00:00 18:00:00"},
		{"run_all grace 3h", runtime.Policy{Misfire: runtime.MisfireRunAll, Grace: 3 * time.Hour}, "15:00:00 16:00:00 17:00:00 18:00:00"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.db")
			bubble(t, func(t *testing.T) {
				var first recorder
				p := c.policy
				h, db := process(t, path, t0, runtime.Job{Name: "hourly", Spec: "0 * * * *", Func: first.record, Policy: &p})
				h.start()
				h.advance(150 * time.Minute)
				h.shutdown()
				db.Close()
				if got := scheduledTimes(first.list()); got != "11:00:00 12:00:00" {
					t.Fatalf("first process ran %q", got)
				}

				var second recorder
				h, db = process(t, path, t0.Add(450*time.Minute), runtime.Job{Name: "hourly", Spec: "0 * * * *", Func: second.record, Policy: &p})
				defer db.Close()
				h.start()
				h.advance(time.Hour)
				if got := scheduledTimes(second.list()); got != c.want {
					t.Errorf("second process ran %q, want %q", got, c.want)
				}
			})
		})
	}
}

func TestRestartNeverRepeatsAClaimedRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	bubble(t, func(t *testing.T) {
		var first recorder
		job := runtime.Job{Name: "hourly", Spec: "0 * * * *", Func: first.record, Policy: &runtime.Policy{Misfire: runtime.MisfireRunAll}}
		h, db := process(t, path, t0, job)
		h.start()
		h.advance(time.Hour) // runs 11:00
		h.shutdown()
		db.Close()

		// Restarted a minute later: 11:00 is claimed, nothing was missed.
		var second recorder
		job.Func = second.record
		h, db = process(t, path, t0.Add(61*time.Minute), job)
		defer db.Close()
		h.start()
		h.advance(time.Hour)
		if got := scheduledTimes(second.list()); got != "12:00:00" {
			t.Errorf("second process ran %q, want only 12:00", got)
		}
	})
}

// TestDeliveryAfterACrash kills a process in the middle of a run (its loop
// is abandoned, never shut down) and checks what the next process does.
func TestDeliveryAfterACrash(t *testing.T) {
	cases := []struct {
		delivery runtime.Delivery
		want     string // runs of the restarted process in its first minute
	}{
		{runtime.AtMostOnce, ""},          // claimed before it started: lost
		{runtime.AtLeastOnce, "12:00:00"}, // unclaimed: missed, so run again
	}
	for _, c := range cases {
		t.Run(c.delivery.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.db")
			bubble(t, func(t *testing.T) {
				b := newBlocker()
				policy := &runtime.Policy{Delivery: c.delivery, Misfire: runtime.MisfireRunOnce}
				h, db := process(t, path, t0, runtime.Job{Name: "report", Spec: "0 * * * *", Func: b.run, Policy: policy})
				ctx, crash := context.WithCancel(context.Background())
				go h.loop.Run(ctx)
				h.advance(time.Hour)
				<-b.started
				b.release <- struct{}{} // 11:00 succeeds
				h.advance(time.Hour)
				<-b.started // 12:00 is going when the process dies
				db.Close()  // and its file lock goes with it

				var second recorder
				h2, db2 := process(t, path, t0.Add(130*time.Minute), runtime.Job{Name: "report", Spec: "0 * * * *", Func: second.record, Policy: policy})
				defer db2.Close()
				h2.start()
				h2.advance(time.Minute)
				if got := scheduledTimes(second.list()); got != c.want {
					t.Errorf("restarted process ran %q, want %q", got, c.want)
				}
				close(b.release)
				crash()
			})
		})
	}
}

func TestClaimedElsewhereIsSkipped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	bubble(t, func(t *testing.T) {
		var rec recorder
		reports := make(chan runtime.Report, 10)
		db, err := state.Open(path, state.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		h := newHarness(t, runtime.Config{Store: db, OnRunEnd: func(r runtime.Report) { reports <- r }})
		e := h.add(runtime.Job{Name: "shared", Spec: "0 * * * *", Func: rec.record})
		// Another replica sharing the store claims 11:00 first.
		if ok, err := db.Claim(context.Background(), "shared", t0.Add(time.Hour)); !ok || err != nil {
			t.Fatal(ok, err)
		}
		h.start()
		next := h.loop.Go(func(ctx context.Context) error { _, err := e.Next(ctx); return err })
		h.advance(time.Hour)
		if n := len(rec.list()); n != 0 {
			t.Errorf("ran %d times an occurrence claimed elsewhere", n)
		}
		if err := next.Err(); !errors.Is(err, runtime.ErrClaimed) {
			t.Errorf("Next: %v, want ErrClaimed", err)
		}
		if r := <-reports; r.Outcome != "skipped" || r.Job != "shared" {
			t.Errorf("report %+v", r)
		}
	})
}
