package runtime_test

import (
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/scheduler-dev/scheduler/runtime"
)

// TestReloadAroundAFireInstant reloads an unchanged configuration (new
// functions, same schedules) one second before a job is due, at the very
// instant (before and after the loop noticed it), and one second after:
// every instant must run exactly once.
func TestReloadAroundAFireInstant(t *testing.T) {
	due := t0.Add(time.Minute) // 10:01:00, when "minutely" fires
	cases := []struct {
		name   string
		at     time.Duration // from due
		settle bool          // let the loop handle the instant before reloading
	}{
		{"1s before", -time.Second, true},
		{"at the instant, loop not yet woken", 0, false},
		{"at the instant, loop done", 0, true},
		{"1s after", time.Second, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				h := newHarness(t, runtime.Config{})
				var rec recorder
				jobs := func() []runtime.Job {
					return []runtime.Job{
						{Name: "minutely", Spec: "0 * * * * *", Func: rec.record},
						{Name: "half", Spec: "30 * * * * *", Func: rec.record, Policy: &runtime.Policy{Overlap: runtime.OverlapForbid}},
					}
				}
				g := runtime.NewGroup(h.loop)
				if _, err := g.Apply(jobs()); err != nil {
					t.Fatal(err)
				}
				h.start()
				h.advance(due.Add(c.at).Sub(t0) - time.Nanosecond)
				h.clock.AdvanceTo(due.Add(c.at))
				if c.settle {
					synctest.Wait()
				}
				ch, err := g.Apply(jobs())
				if err != nil {
					t.Fatal(err)
				}
				if got := fmt.Sprint(ch.Updated); got != "[minutely half]" || len(ch.Added)+len(ch.Rescheduled)+len(ch.Removed) != 0 {
					t.Errorf("changes %+v", ch)
				}
				h.advance(due.Add(165 * time.Second).Sub(h.clock.Now())) // to 10:03:45
				counts := map[string]int{}
				for _, r := range rec.list() {
					counts[r.Job+"@"+r.Scheduled.Format("04:05")]++
				}
				want := "map[half@00:30:1 half@01:30:1 half@02:30:1 half@03:30:1 minutely@01:00:1 minutely@02:00:1 minutely@03:00:1]"
				if got := fmt.Sprint(counts); got != want {
					t.Errorf("runs %s\n want %s", got, want)
				}
			})
		})
	}
}

func TestGroupAddsReschedulesAndRemoves(t *testing.T) {
	bubble(t, func(t *testing.T) {
		h := newHarness(t, runtime.Config{})
		var rec recorder
		b := newBlocker()
		g := runtime.NewGroup(h.loop)
		if _, err := g.Apply([]runtime.Job{
			{Name: "keep", Spec: "@every 10s", Func: rec.record},
			{Name: "move", Spec: "@every 10s", Func: rec.record},
			{Name: "drop", Spec: "@every 10s", Func: b.run},
		}); err != nil {
			t.Fatal(err)
		}
		h.start()
		h.advance(10 * time.Second)
		<-b.started // "drop" is running when the reload removes it

		ch, err := g.Apply([]runtime.Job{
			{Name: "keep", Spec: "@every 10s", Func: rec.record},
			{Name: "move", Spec: "@every 15s", Func: rec.record},
			{Name: "new", Spec: "@every 5s", Func: rec.record},
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprintf("%v %v %v %v", ch.Added, ch.Updated, ch.Rescheduled, ch.Removed); got != "[new] [keep] [move] [drop]" {
			t.Errorf("changes %s", got)
		}
		close(b.release)
		h.advance(0)
		if err := <-b.ended; err != nil {
			t.Errorf("the removed job's run was cut short: %v", err)
		}
		h.advance(20 * time.Second)
		var names []string
		for _, e := range g.Entries() {
			names = append(names, e.Name()+"="+e.Spec())
		}
		if got := strings.Join(names, " "); got != "keep=@every 10s move=@every 15s new=@every 5s" {
			t.Errorf("entries %s", got)
		}
		if n := rec.count("new"); n != 4 {
			t.Errorf("new job ran %d times in 20s, want 4", n)
		}
		if got := scheduledTimes(onlyJob(rec.list(), "move")); got != "10:00:10 10:00:25" {
			t.Errorf("rescheduled job ran at %q", got)
		}
		if n := len(drain(b.started)); n != 0 {
			t.Errorf("the removed job ran again")
		}
	})
}

func TestGroupRejectsABadListWhole(t *testing.T) {
	bubble(t, func(t *testing.T) {
		h := newHarness(t, runtime.Config{})
		g := runtime.NewGroup(h.loop)
		if _, err := g.Apply([]runtime.Job{{Name: "a", Spec: "@hourly"}}); err != nil {
			t.Fatal(err)
		}
		_, err := g.Apply([]runtime.Job{{Name: "b", Spec: "@hourly"}, {Name: "c", Spec: "61 * * * *"}, {Name: "b", Spec: "@daily"}})
		if err == nil || !strings.Contains(err.Error(), `job "c"`) || !strings.Contains(err.Error(), `job "b": duplicate name`) {
			t.Fatalf("Apply = %v, want both problems", err)
		}
		if e := g.Entries(); len(e) != 1 || e[0].Name() != "a" || e[0].NextFire().IsZero() {
			t.Errorf("a bad list changed the group: %v", e)
		}
	})
}

func onlyJob(runs []runtime.Run, job string) []runtime.Run {
	var out []runtime.Run
	for _, r := range runs {
		if r.Job == job {
			out = append(out, r)
		}
	}
	return out
}
