package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/scheduler-dev/scheduler/runtime"
)

func TestFiresInOrderAtScheduledInstants(t *testing.T) {
	bubble(t, func(t *testing.T) {
		h := newHarness(t, runtime.Config{})
		var rec recorder
		h.add(runtime.Job{Name: "every-7s", Spec: "@every 7s", Func: rec.record})
		h.add(runtime.Job{Name: "minutely", Spec: "0 * * * * *", Func: rec.record})
		h.add(runtime.Job{Name: "at-20s", Spec: "20 * * * * *", Func: rec.record})
		h.start()
		h.advance(70 * time.Second)

		var got []string
		for _, r := range rec.list() {
			got = append(got, fmt.Sprintf("%s@%s", r.Job, r.Scheduled.Format("04:05")))
		}
		want := []string{
			"every-7s@00:07", "every-7s@00:14", "at-20s@00:20", "every-7s@00:21", "every-7s@00:28",
			"every-7s@00:35", "every-7s@00:42", "every-7s@00:49", "every-7s@00:56", "minutely@01:00",
			"every-7s@01:03", "every-7s@01:10",
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("runs:\n got %v\nwant %v", got, want)
		}
		if n := h.logs.count("run started"); n != len(want) {
			t.Errorf("%d run-started records, want %d", n, len(want))
		}
		if n := h.logs.count("run ended", "outcome=ok", "attempt=1"); n != len(want) {
			t.Errorf("%d run-ended ok records, want %d\n%s", n, len(want), h.logs)
		}
	})
}

func TestTiesAllFireOnce(t *testing.T) {
	bubble(t, func(t *testing.T) {
		h := newHarness(t, runtime.Config{MaxConcurrent: 10})
		var rec recorder
		const n = 500
		for i := range n {
			h.add(runtime.Job{Name: fmt.Sprintf("job-%d", i), Spec: "30 * * * * *", Func: rec.record})
		}
		h.start()
		h.advance(30 * time.Second)
		runs := rec.list()
		if len(runs) != n {
			t.Fatalf("%d runs, want %d", len(runs), n)
		}
		seen := map[string]bool{}
		for _, r := range runs {
			if seen[r.Job] {
				t.Errorf("%s ran twice", r.Job)
			}
			seen[r.Job] = true
			if !r.Scheduled.Equal(t0.Add(30 * time.Second)) {
				t.Errorf("%s scheduled %v", r.Job, r.Scheduled)
			}
		}
	})
}

func TestEarlierInstantsStartFirstAfterALongSleep(t *testing.T) {
	bubble(t, func(t *testing.T) {
		// One slot: the start order is the order the loop admitted fires in.
		h := newHarness(t, runtime.Config{MaxConcurrent: 1})
		var rec recorder
		h.add(runtime.Job{Name: "late", Spec: "50 * * * * *", Func: rec.record})
		h.add(runtime.Job{Name: "early", Spec: "10 * * * * *", Func: rec.record})
		h.start()
		// The machine sleeps through both instants; the loop's capped timer
		// notices within a minute.
		h.clock.Jump(55 * time.Second)
		h.advance(60 * time.Second)
		runs := rec.list()
		if len(runs) < 2 || runs[0].Job != "early" || runs[1].Job != "late" {
			t.Fatalf("runs %v, want early then late", runs)
		}
	})
}

func TestAddAndRemoveWhileRunning(t *testing.T) {
	bubble(t, func(t *testing.T) {
		h := newHarness(t, runtime.Config{})
		var rec recorder
		h.start()
		// Added while the loop sleeps on an empty heap: it must wake and re-arm.
		soon := h.add(runtime.Job{Name: "soon", Spec: "@every 2s", Func: rec.record})
		gone := h.add(runtime.Job{Name: "gone", Spec: "@every 3s", Func: rec.record})
		synctest.Wait()
		h.advance(2 * time.Second)
		gone.Remove()
		h.advance(10 * time.Second)
		if n := rec.count("soon"); n != 6 {
			t.Errorf("soon ran %d times, want 6", n)
		}
		if n := rec.count("gone"); n != 0 {
			t.Errorf("removed entry ran %d times", n)
		}
		if !gone.NextFire().IsZero() {
			t.Errorf("removed entry has next fire %v", gone.NextFire())
		}
		if got, want := soon.NextFire(), t0.Add(14*time.Second); !got.Equal(want) {
			t.Errorf("NextFire = %v, want %v", got, want)
		}
		gone.Start() // a removed entry stays removed
		h.advance(5 * time.Second)
		if n := rec.count("gone"); n != 0 {
			t.Errorf("removed entry ran %d times after Start", n)
		}
	})
}

func TestStopAndStart(t *testing.T) {
	bubble(t, func(t *testing.T) {
		h := newHarness(t, runtime.Config{})
		var rec recorder
		e := h.add(runtime.Job{Name: "tick", Spec: "@every 1s", Func: rec.record})
		h.start()
		h.advance(3 * time.Second)
		e.Stop()
		h.advance(5 * time.Second)
		if n := rec.count("tick"); n != 3 {
			t.Fatalf("ran %d times before and while stopped, want 3", n)
		}
		e.Start()
		h.advance(2 * time.Second)
		runs := rec.list()
		if len(runs) != 5 || !runs[3].Scheduled.Equal(t0.Add(9*time.Second)) {
			t.Fatalf("after Start: %v", runs)
		}
	})
}

func TestManyEntriesRandomRemoval(t *testing.T) {
	bubble(t, func(t *testing.T) {
		h := newHarness(t, runtime.Config{})
		var fired [200]atomic.Int32
		entries := make([]*runtime.Entry, len(fired))
		for i := range fired {
			spec := fmt.Sprintf("%d * * * * *", i%60)
			entries[i] = h.add(runtime.Job{Name: fmt.Sprint(i), Spec: spec, Func: func(context.Context, runtime.Run) error {
				fired[i].Add(1)
				return nil
			}})
		}
		for i := 0; i < len(entries); i += 3 {
			entries[i].Remove()
		}
		h.start()
		h.advance(2 * time.Minute)
		for i := range fired {
			want := int32(2)
			if i%3 == 0 {
				want = 0
			}
			if i%60 == 0 {
				// Second 0 of 10:00 is now, not after it: only 10:01 and 10:02.
				want = min(want, 2)
			}
			if got := fired[i].Load(); got != want {
				t.Errorf("entry %d fired %d times, want %d", i, got, want)
			}
		}
	})
}

// blocker is a job that blocks until released or cancelled.
type blocker struct {
	started chan runtime.Run
	release chan struct{}
	ended   chan error
}

func newBlocker() *blocker {
	return &blocker{started: make(chan runtime.Run, 100), release: make(chan struct{}), ended: make(chan error, 100)}
}

func (b *blocker) run(ctx context.Context, r runtime.Run) error {
	b.started <- r
	select {
	case <-b.release:
		b.ended <- nil
		return nil
	case <-ctx.Done():
		err := context.Cause(ctx)
		b.ended <- err
		return ctx.Err()
	}
}

func drain[T any](ch chan T) []T {
	var out []T
	for {
		select {
		case v := <-ch:
			out = append(out, v)
		default:
			return out
		}
	}
}

func TestOverlapAllow(t *testing.T) {
	bubble(t, func(t *testing.T) {
		h := newHarness(t, runtime.Config{})
		b := newBlocker()
		h.add(runtime.Job{Name: "j", Spec: "@every 1s", Func: b.run, Policy: &runtime.Policy{Overlap: runtime.OverlapAllow}})
		h.start()
		h.advance(3 * time.Second)
		if n := len(drain(b.started)); n != 3 {
			t.Errorf("%d runs going, want 3 side by side", n)
		}
		close(b.release)
	})
}

func TestOverlapForbid(t *testing.T) {
	bubble(t, func(t *testing.T) {
		h := newHarness(t, runtime.Config{})
		b := newBlocker()
		h.add(runtime.Job{Name: "j", Spec: "@every 1s", Func: b.run, Policy: &runtime.Policy{Overlap: runtime.OverlapForbid}})
		h.start()
		h.advance(3 * time.Second)
		if n := len(drain(b.started)); n != 1 {
			t.Errorf("%d runs started, want 1", n)
		}
		if n := h.logs.count("run skipped: previous run still going", "job=j", "overlap=forbid"); n != 2 {
			t.Errorf("%d skip records, want 2\n%s", n, h.logs)
		}
		close(b.release)
		h.advance(time.Second)
		if n := len(drain(b.started)); n != 1 {
			t.Errorf("after the run ended: %d runs started, want 1", n)
		}
	})
}

func TestOverlapReplace(t *testing.T) {
	bubble(t, func(t *testing.T) {
		h := newHarness(t, runtime.Config{})
		b := newBlocker()
		h.add(runtime.Job{Name: "j", Spec: "@every 1s", Func: b.run, Policy: &runtime.Policy{Overlap: runtime.OverlapReplace}})
		h.start()
		h.advance(2 * time.Second)
		started := drain(b.started)
		if len(started) != 2 {
			t.Fatalf("%d runs started, want 2", len(started))
		}
		ended := drain(b.ended)
		if len(ended) != 1 || !errors.Is(ended[0], runtime.ErrReplaced) {
			t.Fatalf("first run ended with %v, want cause ErrReplaced", ended)
		}
		if n := h.logs.count("run ended", "outcome=canceled", "replaced"); n != 1 {
			t.Errorf("%d canceled records, want 1\n%s", n, h.logs)
		}
		close(b.release)
	})
}

func TestOverlapQueue(t *testing.T) {
	bubble(t, func(t *testing.T) {
		h := newHarness(t, runtime.Config{})
		b := newBlocker()
		h.add(runtime.Job{Name: "j", Spec: "@every 1s", Func: b.run, Policy: &runtime.Policy{Overlap: runtime.OverlapQueue}})
		h.start()
		h.advance(3 * time.Second) // fires at 1s (runs), 2s (queued), 3s (skipped)
		started := drain(b.started)
		if len(started) != 1 {
			t.Fatalf("%d runs started, want 1", len(started))
		}
		if n := h.logs.count("run skipped: a run is already queued"); n != 1 {
			t.Errorf("%d queue-full skip records, want 1", n)
		}
		b.release <- struct{}{} // end the first run; the queued one starts
		synctest.Wait()
		started = drain(b.started)
		if len(started) != 1 || !started[0].Scheduled.Equal(t0.Add(2*time.Second)) {
			t.Fatalf("queued run: %v, want the 2s instant", started)
		}
		close(b.release)
	})
}

func TestTimeoutCancelsTheAttempt(t *testing.T) {
	bubble(t, func(t *testing.T) {
		h := newHarness(t, runtime.Config{})
		b := newBlocker()
		e := h.add(runtime.Job{Name: "slow", Spec: "@every 1m", Func: b.run, Policy: &runtime.Policy{Timeout: 5 * time.Second}})
		h.start()
		next := h.loop.Go(func(ctx context.Context) error {
			_, err := e.Next(ctx)
			return err
		})
		h.advance(time.Minute + 4*time.Second)
		if len(drain(b.ended)) != 0 {
			t.Fatal("the run ended before its timeout")
		}
		h.advance(time.Second)
		ended := drain(b.ended)
		var te *runtime.TimeoutError
		if len(ended) != 1 || !errors.As(ended[0], &te) || te.Timeout != 5*time.Second {
			t.Fatalf("run ended with %v, want a 5s TimeoutError cause", ended)
		}
		if err := next.Err(); !errors.As(err, &te) {
			t.Errorf("Next returned %v, want the timeout", err)
		}
		if n := h.logs.count("run ended", "outcome=timeout", "timed out after 5s"); n != 1 {
			t.Errorf("%d timeout records, want 1\n%s", n, h.logs)
		}
	})
}

func TestRetryWithBackoff(t *testing.T) {
	bubble(t, func(t *testing.T) {
		h := newHarness(t, runtime.Config{})
		var attempts []runtime.Run
		fail := errors.New("flaky")
		h.add(runtime.Job{Name: "flaky", Spec: "0 * * * * *", Func: func(ctx context.Context, r runtime.Run) error {
			attempts = append(attempts, r)
			if r.Attempt < 3 {
				return fail
			}
			return nil
		}, Policy: &runtime.Policy{Retry: runtime.Retry{Attempts: 4, Backoff: 10 * time.Second, MaxBackoff: 15 * time.Second}}})
		h.start()
		h.advance(time.Minute)
		if len(attempts) != 1 {
			t.Fatalf("%d attempts at the fire instant, want 1", len(attempts))
		}
		// The first retry waits 10s jittered down by up to half: [5s, 10s].
		h.advance(5*time.Second - time.Nanosecond)
		if len(attempts) != 1 {
			t.Fatalf("retried after less than half the backoff")
		}
		h.advance(5 * time.Second)
		if len(attempts) != 2 {
			t.Fatalf("%d attempts 10s after the failure, want 2", len(attempts))
		}
		// The second doubles to 20s, capped at 15s: within [7.5s, 15s].
		h.advance(15 * time.Second)
		if len(attempts) != 3 {
			t.Fatalf("%d attempts, want 3", len(attempts))
		}
		for i, r := range attempts {
			if r.Attempt != i+1 || !r.Scheduled.Equal(t0.Add(time.Minute)) {
				t.Errorf("attempt %d: %+v", i+1, r)
			}
		}
		if n := h.logs.count("attempt failed, retrying", "flaky"); n != 2 {
			t.Errorf("%d retry records, want 2", n)
		}
		if n := h.logs.count("run ended", "outcome=ok", "attempt=3"); n != 1 {
			t.Errorf("no successful end record on attempt 3\n%s", h.logs)
		}
	})
}

func TestRetryGivesUpAfterAttempts(t *testing.T) {
	bubble(t, func(t *testing.T) {
		h := newHarness(t, runtime.Config{})
		var n atomic.Int32
		h.add(runtime.Job{Name: "broken", Spec: "0 * * * * *", Func: func(context.Context, runtime.Run) error {
			n.Add(1)
			return errors.New("always")
		}, Policy: &runtime.Policy{Retry: runtime.Retry{Attempts: 3}}})
		h.start()
		h.advance(time.Minute)
		if n.Load() != 3 {
			t.Errorf("%d attempts, want 3", n.Load())
		}
		if c := h.logs.count("run ended", "outcome=failed", "attempt=3", "always"); c != 1 {
			t.Errorf("%d failed end records, want 1\n%s", c, h.logs)
		}
	})
}

func TestRetryStopsOnShutdown(t *testing.T) {
	bubble(t, func(t *testing.T) {
		h := newHarness(t, runtime.Config{})
		var n atomic.Int32
		h.add(runtime.Job{Name: "broken", Spec: "0 * * * * *", Func: func(context.Context, runtime.Run) error {
			n.Add(1)
			return errors.New("down")
		}, Policy: &runtime.Policy{Retry: runtime.Retry{Attempts: 5, Backoff: time.Hour}}})
		h.start()
		h.advance(time.Minute)
		stopped := h.clock.Now()
		h.stop()
		h.stop = nil
		synctest.Wait()
		if err := <-h.done; err != nil {
			t.Fatal(err)
		}
		if n.Load() != 1 {
			t.Errorf("%d attempts, want 1: a retry must not run after shutdown began", n.Load())
		}
		if !h.clock.Now().Equal(stopped) {
			t.Errorf("shutdown waited for the backoff: clock moved by %v", h.clock.Now().Sub(stopped))
		}
	})
}

func TestPanicIsAFailedRunAndTheLoopSurvives(t *testing.T) {
	bubble(t, func(t *testing.T) {
		h := newHarness(t, runtime.Config{})
		var calls atomic.Int32
		e := h.add(runtime.Job{Name: "bomb", Spec: "@every 1s", Func: func(context.Context, runtime.Run) error {
			if calls.Add(1) == 1 {
				panic("boom")
			}
			return nil
		}})
		h.start()
		next := h.loop.Go(func(ctx context.Context) error {
			_, err := e.Next(ctx)
			return err
		})
		h.advance(3 * time.Second)
		var pe *runtime.PanicError
		if err := next.Err(); !errors.As(err, &pe) || pe.Value != "boom" || !strings.Contains(string(pe.Stack), "loop_test.go") {
			t.Errorf("Next returned %v, want the panic with its stack", err)
		}
		if calls.Load() != 3 {
			t.Errorf("%d calls, want 3: the loop must go on after a panic", calls.Load())
		}
		if n := h.logs.count("run ended", "outcome=panic", "boom"); n != 1 {
			t.Errorf("%d panic records, want 1\n%s", n, h.logs)
		}
	})
}

func TestShutdownWaitsForRunsWithinGrace(t *testing.T) {
	bubble(t, func(t *testing.T) {
		h := newHarness(t, runtime.Config{ShutdownGrace: 10 * time.Second})
		var rec recorder
		b := newBlocker()
		h.add(runtime.Job{Name: "long", Spec: "0 * * * * *", Func: b.run})
		h.add(runtime.Job{Name: "tick", Spec: "@every 1s", Func: rec.record})
		h.start()
		h.advance(time.Minute)
		<-b.started
		ticks := rec.count("tick")

		h.stop()
		h.stop = nil
		synctest.Wait()
		h.advance(3 * time.Second)
		select {
		case <-h.done:
			t.Fatal("Run returned while a run was going and the grace period lasted")
		default:
		}
		if rec.count("tick") != ticks {
			t.Error("the loop fired after shutdown began")
		}
		close(b.release)
		synctest.Wait()
		if err := <-h.done; err != nil {
			t.Fatal(err)
		}
		if err := <-b.ended; err != nil {
			t.Errorf("the run was cancelled (%v); it should have finished", err)
		}
		if _, err := h.loop.Add(runtime.Job{Name: "late", Spec: "@every 1s"}); !errors.Is(err, runtime.ErrClosed) {
			t.Errorf("Add after shutdown: %v, want ErrClosed", err)
		}
	})
}

func TestShutdownCancelsAfterGrace(t *testing.T) {
	bubble(t, func(t *testing.T) {
		h := newHarness(t, runtime.Config{ShutdownGrace: 10 * time.Second})
		b := newBlocker()
		h.add(runtime.Job{Name: "stuck", Spec: "0 * * * * *", Func: b.run})
		task := h.loop.Go(func(ctx context.Context) error {
			<-ctx.Done()
			return context.Cause(ctx)
		})
		h.start()
		h.advance(time.Minute)
		<-b.started

		h.stop()
		h.stop = nil
		h.advance(10*time.Second - time.Nanosecond)
		select {
		case <-h.done:
			t.Fatal("Run returned before the grace period ended")
		default:
		}
		h.advance(time.Nanosecond)
		if err := <-h.done; err != nil {
			t.Fatal(err)
		}
		if err := <-b.ended; !errors.Is(err, runtime.ErrShutdown) {
			t.Errorf("run cancelled with %v, want ErrShutdown", err)
		}
		if err := task.Err(); !errors.Is(err, runtime.ErrShutdown) {
			t.Errorf("Go task ended with %v, want ErrShutdown", err)
		}
		if n := h.logs.count("shutdown grace period over"); n != 1 {
			t.Errorf("no grace-over record\n%s", h.logs)
		}
		if late := h.loop.Go(func(context.Context) error { return nil }); !errors.Is(late.Err(), runtime.ErrClosed) {
			t.Errorf("Go after shutdown: %v, want ErrClosed", late.Err())
		}
	})
}

func TestSleepIsCappedSoAClockJumpIsNoticed(t *testing.T) {
	bubble(t, func(t *testing.T) {
		h := newHarness(t, runtime.Config{})
		var rec recorder
		h.add(runtime.Job{Name: "noon", Spec: "0 12 * * *", Func: rec.record})
		h.start()
		deadline, ok := h.clock.NextDeadline()
		if !ok || deadline.Sub(h.clock.Now()) > time.Minute {
			t.Fatalf("loop sleeps until %v, more than a minute from %v", deadline, h.clock.Now())
		}
		// The wall clock steps two hours (a resume from suspend); the timer
		// has not fired. Within a minute the loop must notice noon passed.
		h.clock.Jump(2*time.Hour + 30*time.Second)
		h.advance(time.Minute)
		runs := rec.list()
		if len(runs) != 1 || !runs[0].Scheduled.Equal(time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)) {
			t.Fatalf("runs %v, want the noon run", runs)
		}
		if got, want := h.loop.Clock().Now().Sub(runs[0].Scheduled), time.Minute; got > want+30*time.Second {
			t.Errorf("noticed %v late", got)
		}
	})
}

func TestMissedInstantsAreSkippedNotReplayed(t *testing.T) {
	bubble(t, func(t *testing.T) {
		h := newHarness(t, runtime.Config{})
		var rec recorder
		h.add(runtime.Job{Name: "tick", Spec: "@every 1s", Func: rec.record})
		h.start()
		h.clock.Jump(time.Hour)
		h.advance(time.Minute)
		// One run for the overdue instant when the loop wakes, then one per
		// second: never 3,600 catch-up runs.
		if n := rec.count("tick"); n > 61 {
			t.Errorf("%d runs after a one-hour jump", n)
		}
		if h.logs.count("missed fire instants dropped", "job=tick", "misfire=skip", "dropped=3599") != 1 {
			t.Errorf("no missed-instants record\n%s", h.logs)
		}
	})
}

func TestMaxConcurrentQueuesFiresInOrder(t *testing.T) {
	bubble(t, func(t *testing.T) {
		h := newHarness(t, runtime.Config{MaxConcurrent: 2})
		b := newBlocker()
		for i := range 5 {
			h.add(runtime.Job{Name: fmt.Sprint("j", i), Spec: "0 * * * * *", Func: b.run})
		}
		h.start()
		h.advance(time.Minute)
		if n := len(drain(b.started)); n != 2 {
			t.Fatalf("%d runs going, want max_concurrent=2", n)
		}
		if h.logs.count("max_concurrent reached", "waiting=3") != 1 {
			t.Errorf("no max_concurrent record\n%s", h.logs)
		}
		h.advance(5 * time.Second)
		b.release <- struct{}{}
		synctest.Wait()
		started := drain(b.started)
		if len(started) != 1 {
			t.Fatalf("%d runs started after one ended, want 1", len(started))
		}
		if n := h.logs.count("run started", "lag=5s"); n != 1 {
			t.Errorf("the waiting run's lag is not logged as 5s\n%s", h.logs)
		}
		close(b.release)
		synctest.Wait()
		if n := h.logs.count("run ended", "outcome=ok"); n != 5 {
			t.Errorf("%d runs ended, want 5", n)
		}
	})
}

func TestEntryNextWaitsForTheNextRun(t *testing.T) {
	bubble(t, func(t *testing.T) {
		h := newHarness(t, runtime.Config{})
		e := h.add(runtime.Job{Name: "bare", Spec: "*/15 * * * * *"}) // no Func: only waited on
		h.start()
		got := make(chan runtime.Run, 1)
		go func() {
			r, err := e.Next(context.Background())
			if err != nil {
				t.Error(err)
			}
			got <- r
		}()
		synctest.Wait()
		h.advance(20 * time.Second)
		r := <-got
		if r.Job != "bare" || !r.Scheduled.Equal(t0.Add(15*time.Second)) || r.Attempt != 1 {
			t.Errorf("Next = %+v", r)
		}

		removed := make(chan error, 1)
		go func() {
			_, err := e.Next(context.Background())
			removed <- err
		}()
		synctest.Wait()
		e.Remove()
		if err := <-removed; !errors.Is(err, runtime.ErrRemoved) {
			t.Errorf("Next on a removed entry: %v", err)
		}
	})
}

func TestGoTasks(t *testing.T) {
	bubble(t, func(t *testing.T) {
		h := newHarness(t, runtime.Config{})
		h.start()
		ok := h.loop.Go(func(context.Context) error { return nil })
		failing := h.loop.Go(func(context.Context) error { return errors.New("nope") })
		panicking := h.loop.Go(func(context.Context) error { panic("oops") })
		cancelled := h.loop.Go(func(ctx context.Context) error {
			<-ctx.Done()
			return ctx.Err()
		})
		ctx := context.Background()
		if err := ok.Wait(ctx); err != nil {
			t.Error(err)
		}
		if err := failing.Wait(ctx); err == nil || err.Error() != "nope" {
			t.Error(err)
		}
		var pe *runtime.PanicError
		if err := panicking.Wait(ctx); !errors.As(err, &pe) {
			t.Error(err)
		}
		<-ok.Done()
		cancelled.Cancel()
		if err := cancelled.Wait(ctx); !errors.Is(err, context.Canceled) {
			t.Error(err)
		}
		short, cancel := context.WithCancel(ctx)
		cancel()
		blocked := h.loop.Go(func(ctx context.Context) error { <-ctx.Done(); return nil })
		if err := blocked.Wait(short); !errors.Is(err, context.Canceled) {
			t.Errorf("Wait with an ended context: %v", err)
		}
		if blocked.Err() != nil {
			t.Error("Err before the task is done must be nil")
		}
		blocked.Cancel()
	})
}

func TestAddRejectsBadSpecsWithTheJobName(t *testing.T) {
	loop := runtime.NewLoop(runtime.Config{})
	for _, spec := range []string{"", "* * *", "61 * * * *", "TZ=0", "TZ=TZ=", "CRON_TZ=Nowhere/City * * * * *", "@every nonsense"} {
		_, err := loop.Add(runtime.Job{Name: "bad", Spec: spec})
		if err == nil || !strings.Contains(err.Error(), `job "bad"`) {
			t.Errorf("Add(%q) = %v, want an error naming the job", spec, err)
		}
	}
	e, err := loop.Add(runtime.Job{Name: "never", Spec: "0 0 30 2 *"})
	if err != nil {
		t.Fatalf("a spec that never fires is valid: %v", err)
	}
	if !e.NextFire().IsZero() {
		t.Errorf("NextFire = %v, want zero", e.NextFire())
	}
}

func TestRunTwice(t *testing.T) {
	bubble(t, func(t *testing.T) {
		h := newHarness(t, runtime.Config{})
		h.start()
		if err := h.loop.Run(context.Background()); !errors.Is(err, runtime.ErrClosed) {
			t.Errorf("second Run: %v", err)
		}
	})
}

func TestTriggerRunsNowAndWaits(t *testing.T) {
	bubble(t, func(t *testing.T) {
		h := newHarness(t, runtime.Config{})
		var rec recorder
		e := h.add(runtime.Job{Name: "daily", Spec: "0 3 * * *", Func: rec.record})
		h.start()
		h.advance(90 * time.Second)
		r, err := e.Trigger(context.Background())
		if err != nil || r.Job != "daily" || !r.Scheduled.Equal(t0.Add(90*time.Second)) {
			t.Fatalf("Trigger = %+v, %v", r, err)
		}
		if got, want := e.NextFire(), time.Date(2026, 3, 3, 3, 0, 0, 0, time.UTC); !got.Equal(want) {
			t.Errorf("the trigger moved the schedule: NextFire = %v, want %v", got, want)
		}
	})
}

func TestTriggerHonoursOverlap(t *testing.T) {
	bubble(t, func(t *testing.T) {
		h := newHarness(t, runtime.Config{})
		b := newBlocker()
		e := h.add(runtime.Job{Name: "j", Spec: "0 * * * * *", Func: b.run, Policy: &runtime.Policy{Overlap: runtime.OverlapForbid}})
		h.start()
		h.advance(time.Minute)
		<-b.started
		if _, err := e.Trigger(context.Background()); !errors.Is(err, runtime.ErrSkipped) {
			t.Errorf("Trigger while running under forbid: %v, want ErrSkipped", err)
		}
		close(b.release)
		e.Remove()
		if _, err := e.Trigger(context.Background()); !errors.Is(err, runtime.ErrRemoved) {
			t.Errorf("Trigger on a removed entry: %v", err)
		}
	})
}

func TestUpdateKeepsTheNextFire(t *testing.T) {
	bubble(t, func(t *testing.T) {
		h := newHarness(t, runtime.Config{})
		var before, after recorder
		e := h.add(runtime.Job{Name: "j", Spec: "*/10 * * * * *", Func: before.record})
		h.start()
		h.advance(15 * time.Second)
		next := e.NextFire()
		e.Update(after.record, &runtime.Policy{Jitter: time.Second, StableJitter: true})
		if !e.NextFire().Equal(next) {
			t.Errorf("NextFire moved from %v to %v", next, e.NextFire())
		}
		h.advance(20 * time.Second)
		if got := scheduledTimes(before.list()); got != "10:00:10" {
			t.Errorf("old function ran at %q", got)
		}
		if got := scheduledTimes(after.list()); got != "10:00:20 10:00:30" {
			t.Errorf("new function ran at %q", got)
		}
	})
}

func TestOnEndOncePerRunAfterTheLastAttempt(t *testing.T) {
	bubble(t, func(t *testing.T) {
		h := newHarness(t, runtime.Config{})
		var attempts atomic.Int32
		type end struct {
			report runtime.Report
			ctxErr error
		}
		var ends []end
		h.add(runtime.Job{Name: "flaky", Spec: "0 * * * * *", Func: func(ctx context.Context, r runtime.Run) error {
			attempts.Add(1)
			<-ctx.Done() // every attempt times out
			return ctx.Err()
		}, Policy: &runtime.Policy{
			Timeout: time.Second,
			Retry:   runtime.Retry{Attempts: 3, Backoff: time.Second},
			OnEnd: func(ctx context.Context, r runtime.Report) {
				ends = append(ends, end{r, ctx.Err()})
			},
		}})
		h.start()
		h.advance(time.Minute + 3*time.Second)
		if len(ends) != 0 {
			t.Fatalf("OnEnd called before the last attempt: %+v", ends)
		}
		h.advance(5 * time.Second)
		if attempts.Load() != 3 || len(ends) != 1 {
			t.Fatalf("%d attempts, %d OnEnd calls; want 3 and 1", attempts.Load(), len(ends))
		}
		r := ends[0].report
		var te *runtime.TimeoutError
		if r.Job != "flaky" || r.Attempt != 3 || r.Outcome != runtime.OutcomeTimeout || !errors.As(r.Err, &te) ||
			!r.Scheduled.Equal(t0.Add(time.Minute)) || !r.Start.Equal(t0.Add(time.Minute)) {
			t.Errorf("report %+v", r)
		}
		if ends[0].ctxErr != nil {
			t.Errorf("OnEnd's context is done (%v); an alert about a timeout could not be sent", ends[0].ctxErr)
		}
	})
}

func TestFireReturnsOnceAdmitted(t *testing.T) {
	bubble(t, func(t *testing.T) {
		h := newHarness(t, runtime.Config{})
		b := newBlocker()
		e := h.add(runtime.Job{Name: "j", Spec: "@yearly", Func: b.run, Policy: &runtime.Policy{Overlap: runtime.OverlapForbid}})
		h.start()
		run, err := e.Fire()
		if err != nil {
			t.Fatalf("Fire: %v", err)
		}
		<-b.started
		select {
		case <-run.Done():
			t.Fatal("Done closed while the run is going")
		default:
		}
		if _, err := e.Fire(); !errors.Is(err, runtime.ErrSkipped) {
			t.Errorf("second Fire under forbid: %v, want ErrSkipped", err)
		}
		close(b.release)
		r, err := run.Wait(context.Background())
		if err != nil || r.Job != "j" || !r.Scheduled.Equal(t0) || r.Attempt != 1 {
			t.Errorf("Wait = %+v, %v", r, err)
		}
	})
}
