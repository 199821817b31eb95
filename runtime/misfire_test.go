package runtime_test

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"
	"testing"
	"time"

	"github.com/scheduler-dev/scheduler/runtime"
)

// sleepThrough simulates the machine sleeping for d: the wall clock steps,
// then the loop's capped timer notices within a minute.
func (h *harness) sleepThrough(d time.Duration) {
	h.advance(0)
	h.clock.Jump(d)
	h.advance(time.Minute)
}

func scheduledTimes(runs []runtime.Run) string {
	var out []string
	for _, r := range runs {
		out = append(out, r.Scheduled.Format("15:04:05"))
	}
	return strings.Join(out, " ")
}

func TestMisfirePolicies(t *testing.T) {
	// The loop starts at 10:00; the machine sleeps from 10:00:30 to 15:30:30.
	// An hourly job missed 11:00 to 15:00.
	cases := []struct {
		policy runtime.Policy
		want   string // runs in the first minute after waking, then at 16:00
		drops  string // the dropped-instants record, "" for none
	}{
		{runtime.Policy{}, "15:00:00 16:00:00", "dropped=4"}, // auto: run_once for an hourly spec
		{runtime.Policy{Misfire: runtime.MisfireSkip}, "16:00:00", "dropped=5"},
		{runtime.Policy{Misfire: runtime.MisfireRunOnce}, "15:00:00 16:00:00", "dropped=4"},
		{runtime.Policy{Misfire: runtime.MisfireRunAll}, "11:00:00 12:00:00 13:00:00 14:00:00 15:00:00 16:00:00", ""},
		{runtime.Policy{Misfire: runtime.MisfireRunAll, MaxCatchup: 2}, "14:00:00 15:00:00 16:00:00", "dropped=3"},
		{runtime.Policy{Misfire: runtime.MisfireRunAll, Grace: 151 * time.Minute}, "13:00:00 14:00:00 15:00:00 16:00:00", "dropped=2"},
		{runtime.Policy{Misfire: runtime.MisfireRunOnce, Grace: 10 * time.Minute}, "16:00:00", "dropped=5"},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/catchup=%d/grace=%s", c.policy.Misfire, c.policy.MaxCatchup, c.policy.Grace), func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				h := newHarness(t, runtime.Config{})
				var rec recorder
				p := c.policy
				h.add(runtime.Job{Name: "hourly", Spec: "0 * * * *", Func: rec.record, Policy: &p})
				h.start()
				h.advance(30 * time.Second)
				h.sleepThrough(5*time.Hour + 30*time.Minute)
				h.advance(30 * time.Minute)
				if got := scheduledTimes(rec.list()); got != c.want {
					t.Errorf("runs %q, want %q", got, c.want)
				}
				if c.drops != "" && h.logs.count("missed fire instants dropped", c.drops) != 1 {
					t.Errorf("no %q record\n%s", c.drops, h.logs)
				}
				if c.drops == "" && h.logs.count("missed fire instants dropped") != 0 {
					t.Errorf("unexpected drop record\n%s", h.logs)
				}
			})
		})
	}
}

func TestRunAllCatchUpRunsOneAfterAnother(t *testing.T) {
	bubble(t, func(t *testing.T) {
		h := newHarness(t, runtime.Config{})
		b := newBlocker()
		h.add(runtime.Job{Name: "hourly", Spec: "0 * * * *", Func: b.run,
			Policy: &runtime.Policy{Misfire: runtime.MisfireRunAll, Overlap: runtime.OverlapAllow}})
		h.start()
		h.sleepThrough(3*time.Hour + 30*time.Minute)
		for _, want := range []string{"11:00:00", "12:00:00", "13:00:00"} {
			started := drain(b.started)
			if got := scheduledTimes(started); got != want {
				t.Fatalf("started %q, want %q alone", got, want)
			}
			b.release <- struct{}{}
			h.advance(0)
		}
	})
}

func TestFrequentJobsSkipMissedInstantsByDefault(t *testing.T) {
	bubble(t, func(t *testing.T) {
		h := newHarness(t, runtime.Config{})
		var rec recorder
		h.add(runtime.Job{Name: "every-10s", Spec: "*/10 * * * * *", Func: rec.record})
		h.start()
		h.sleepThrough(time.Hour)
		for _, r := range rec.list() {
			if r.Scheduled.Before(t0.Add(time.Hour)) {
				t.Errorf("ran a missed instant %v", r.Scheduled)
			}
		}
		if h.logs.count("missed fire instants dropped", "misfire=skip", "dropped=360") != 1 {
			t.Errorf("no drop record\n%s", h.logs)
		}
	})
}

func TestSlightlyLateInstantsAreNotMissed(t *testing.T) {
	bubble(t, func(t *testing.T) {
		h := newHarness(t, runtime.Config{})
		var rec recorder
		h.add(runtime.Job{Name: "tick", Spec: "@every 1s", Func: rec.record, Policy: &runtime.Policy{Misfire: runtime.MisfireSkip}})
		h.start()
		h.advance(0)
		h.clock.Jump(900 * time.Millisecond) // the timer fires 0.9 s late
		h.advance(2 * time.Second)
		if got := scheduledTimes(rec.list()); got != "10:00:01 10:00:02" {
			t.Errorf("runs %q", got)
		}
	})
}

func TestStartSpecFiresOnceWhenTheLoopStarts(t *testing.T) {
	bubble(t, func(t *testing.T) {
		h := newHarness(t, runtime.Config{})
		var rec recorder
		e := h.add(runtime.Job{Name: "boot", Spec: "@start", Func: rec.record})
		h.advance(time.Hour)
		if len(rec.list()) != 0 {
			t.Fatal("@start ran before the loop started")
		}
		h.start()
		h.advance(time.Hour)
		runs := rec.list()
		if len(runs) != 1 || !runs[0].Scheduled.Equal(t0.Add(time.Hour)) {
			t.Errorf("runs %v, want one at loop start", runs)
		}
		if !e.NextFire().IsZero() {
			t.Errorf("NextFire = %v", e.NextFire())
		}
		h.add(runtime.Job{Name: "late-boot", Spec: "@start", Func: rec.record})
		h.advance(0)
		if n := rec.count("late-boot"); n != 1 {
			t.Errorf("@start added to a running loop ran %d times, want 1", n)
		}
	})
}

func TestJitterDelaysRunsButKeepsTheirInstant(t *testing.T) {
	bubble(t, func(t *testing.T) {
		h := newHarness(t, runtime.Config{})
		starts := map[string][]time.Duration{}
		record := func(_ context.Context, r runtime.Run) error {
			starts[r.Job] = append(starts[r.Job], h.clock.Now().Sub(r.Scheduled))
			if r.Scheduled.Second() != 0 || r.Scheduled.Minute() != 0 {
				t.Errorf("%s: scheduled %v is not the hour", r.Job, r.Scheduled)
			}
			return nil
		}
		jitter := 10 * time.Minute
		e := h.add(runtime.Job{Name: "random", Spec: "0 * * * *", Func: record, Policy: &runtime.Policy{Jitter: jitter}})
		h.add(runtime.Job{Name: "stable", Spec: "0 * * * *", Func: record, Policy: &runtime.Policy{Jitter: jitter, StableJitter: true}})
		h.start()
		if got := e.NextFire(); !got.Equal(t0.Add(time.Hour)) {
			t.Errorf("NextFire = %v, want the unjittered instant", got)
		}
		h.advance(24*time.Hour + jitter)

		hash := fnv.New64a()
		hash.Write([]byte("stable"))
		stable := time.Duration(hash.Sum64() % uint64(jitter))
		if len(starts["stable"]) != 24 || len(starts["random"]) != 24 {
			t.Fatalf("runs: %d stable, %d random, want 24 each", len(starts["stable"]), len(starts["random"]))
		}
		distinct := map[time.Duration]bool{}
		for i := range 24 {
			if d := starts["stable"][i]; d != stable {
				t.Errorf("stable run %d delayed %v, want %v every time", i, d, stable)
			}
			d := starts["random"][i]
			if d < 0 || d >= jitter {
				t.Errorf("random run %d delayed %v, outside [0, %v)", i, d, jitter)
			}
			distinct[d] = true
		}
		if len(distinct) < 20 {
			t.Errorf("random jitter took only %d distinct values in 24 runs", len(distinct))
		}
	})
}
