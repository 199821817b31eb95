package runtime

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// These tests check that an entry's fires are the same whether or not the
// loop has prepared its instant (prepare.go) when the entry is stopped,
// removed, updated or restarted, or when the clock jumps: each case acts
// once inside the window in which the instant is prepared, and once a
// second before it, and both must give the same runs.

// preparedRuns records the Scheduled instants of a job's runs, by function.
type preparedRuns struct {
	mu   sync.Mutex
	runs []string
}

func (r *preparedRuns) fn(tag string) Func {
	return func(_ context.Context, run Run) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.runs = append(r.runs, tag+run.Scheduled.Format("04:05"))
		return nil
	}
}

func (r *preparedRuns) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.runs, " ")
}

func TestPreparedEntryFiresAsIfNotPrepared(t *testing.T) {
	cases := []struct {
		name string
		act  func(l *Loop, e *Entry, r *preparedRuns)
		want string // runs at 00:00:10 and 00:00:20, "b" for the function set by Update
	}{
		{"nothing", func(*Loop, *Entry, *preparedRuns) {}, "a00:10 a00:20"},
		{"stop", func(_ *Loop, e *Entry, _ *preparedRuns) { e.Stop() }, ""},
		{"remove", func(_ *Loop, e *Entry, _ *preparedRuns) { e.Remove() }, ""},
		{"stop and start", func(_ *Loop, e *Entry, _ *preparedRuns) { e.Stop(); e.Start() }, "a00:10 a00:20"},
		{"update", func(_ *Loop, e *Entry, r *preparedRuns) { e.Update(r.fn("b"), nil) }, "b00:10 b00:20"},
		{"update with jitter", func(_ *Loop, e *Entry, r *preparedRuns) {
			e.Update(r.fn("b"), &Policy{Jitter: time.Second, StableJitter: true})
		}, "b00:10 b00:20"},
	}
	for _, c := range cases {
		for _, ahead := range []time.Duration{prepareLead / 2, time.Second} {
			t.Run(c.name+" "+ahead.String()+" ahead", func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					// The bubble's clock starts at 00:00:00.
					l := newPoolTestLoop(Config{})
					var r preparedRuns
					e, err := l.Add(Job{Name: "j", Spec: "*/10 * * * * *", Func: r.fn("a")})
					if err != nil {
						t.Fatal(err)
					}
					runLoop(t, l)
					instant := time.Now().Add(10 * time.Second)
					time.Sleep(instant.Sub(time.Now()) - ahead)
					synctest.Wait()
					if got, want := e.NextFire(), instant; !got.Equal(want) && c.name == "nothing" {
						t.Errorf("NextFire = %v, want %v", got, want)
					}
					checkPrepared(t, l, instant, ahead < prepareLead)
					c.act(l, e, &r)
					time.Sleep(ahead + 11*time.Second) // past 00:00:20 and its jitter
					synctest.Wait()
					if got := r.String(); got != c.want {
						t.Errorf("runs %q, want %q", got, c.want)
					}
				})
			})
		}
	}
}

// checkPrepared fails t unless l has prepared instant, or, if not want, has
// prepared nothing.
func checkPrepared(t *testing.T, l *Loop, instant time.Time, want bool) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if got := l.preparedAt == instant.UnixNano(); got != want {
		t.Fatalf("instant prepared: %v, want %v", got, want)
	}
}

func TestPreparedInstantMissedByAClockJump(t *testing.T) {
	// The machine sleeps for an hour just before the instant: the misfire
	// policy decides, as if the instant had not been prepared. The test
	// drives fireDue by hand, as Run would, since a bubble's clock cannot
	// jump.
	for _, ahead := range []time.Duration{prepareLead / 2, time.Second} {
		t.Run(ahead.String()+" ahead", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := newPoolTestLoop(Config{})
				l.state = stateRunning
				var r preparedRuns
				_, err := l.Add(Job{Name: "j", Spec: "*/10 * * * * *", Func: r.fn("a"),
					Policy: &Policy{Misfire: MisfireRunOnce}})
				if err != nil {
					t.Fatal(err)
				}
				instant := time.Now().Add(10 * time.Second)
				l.fireDue(instant.Add(-ahead))
				checkPrepared(t, l, instant, ahead < prepareLead)
				l.fireDue(instant.Add(time.Hour + 5*time.Second))
				synctest.Wait()
				// One catch-up run, for the last instant missed.
				if got, want := r.String(), "a00:10"; got != want {
					t.Errorf("runs %q, want %q", got, want)
				}
				l.closePool()
			})
		})
	}
}

func TestShutdownDropsThePreparedInstant(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newPoolTestLoop(Config{})
		var r preparedRuns
		if _, err := l.Add(Job{Name: "j", Spec: "*/10 * * * * *", Func: r.fn("a")}); err != nil {
			t.Fatal(err)
		}
		stop := runLoop(t, l)
		instant := time.Now().Add(10 * time.Second)
		time.Sleep(instant.Sub(time.Now()) - prepareLead/2)
		synctest.Wait()
		checkPrepared(t, l, instant, true)
		stop()
		time.Sleep(time.Minute)
		if got := r.String(); got != "" {
			t.Errorf("runs %q after shutdown", got)
		}
	})
}
