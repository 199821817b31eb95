package runtime

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"time"
)

// fire is one due instant of an entry, on its way to becoming a run.
type fire struct {
	entry *Entry
	at    int64 // the scheduled instant, Unix nanoseconds
	// chained fires run after the entry's earlier fires of the same wake
	// (catch-up), whatever the overlap policy.
	chained bool
	// done is set for a run started by Entry.Trigger, which waits on it.
	done *notice
}

// close reports the fire's outcome to Entry.Trigger, if it came from there.
func (f fire) close(r Run, err error) {
	if f.done != nil {
		f.done.run, f.done.err = r, err
		close(f.done.done)
	}
}

// run is a fire being executed.
type run struct {
	cancel context.CancelCauseFunc
}

// PanicError is the error of a run whose job panicked. The loop recovers
// the panic, reports the run as failed and goes on.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Outcomes of a run, as logged in its end record.
const (
	outcomeOK       = "ok"
	outcomeFailed   = "failed"
	outcomeTimeout  = "timeout"
	outcomePanic    = "panic"
	outcomeCanceled = "canceled"
	outcomeSkipped  = "skipped"
)

// ErrClaimed is the result of a run that did not start because its
// occurrence was already claimed in the Store: by an earlier process, or
// by another replica sharing the Store.
var ErrClaimed = errors.New("runtime: occurrence already claimed")

// ErrSkipped is the result of a triggered run that the entry's overlap
// policy refused.
var ErrSkipped = errors.New("runtime: run skipped by the overlap policy")

// fire applies f's entry's overlap policy and admits it; it reports false
// if the run must wait for a free slot. l.mu must be held.
func (l *Loop) fire(f fire) bool {
	e := f.entry
	if e.fn == nil {
		// Nothing to run: only wake those waiting in Next.
		r := Run{Job: e.name, Scheduled: f.scheduled(), Attempt: 1}
		e.notifyNext(r, nil)
		f.close(r, nil)
		return true
	}
	a := e.activity()
	if f.chained {
		a.backlog = append(a.backlog, f)
		return true
	}
	if a.active > 0 {
		switch e.overlap() {
		case OverlapForbid:
			l.logger.Warn("run skipped: previous run still going", "job", e.name,
				"scheduled", f.scheduled(), "overlap", OverlapForbid)
			f.close(Run{Job: e.name, Scheduled: f.scheduled()}, ErrSkipped)
			return true
		case OverlapQueue:
			if len(a.backlog) > 0 {
				l.logger.Warn("run skipped: a run is already queued", "job", e.name,
					"scheduled", f.scheduled(), "overlap", OverlapQueue)
				f.close(Run{Job: e.name, Scheduled: f.scheduled()}, ErrSkipped)
			} else {
				a.backlog = append(a.backlog, f)
			}
			return true
		case OverlapReplace:
			for _, r := range a.runs {
				r.cancel(ErrReplaced)
			}
			a.replacedBefore = f.at
		}
	}
	a.active++
	return l.admit(f)
}

// admit starts f if a slot is free, or queues it. l.mu must be held.
func (l *Loop) admit(f fire) bool {
	if l.running < l.limit {
		l.running++
		l.tasks.Add(1)
		go l.execute(f)
		return true
	}
	l.waiting.push(f)
	return false
}

// execute runs f, then, holding on to its slot, whatever waits for one.
func (l *Loop) execute(f fire) {
	defer l.tasks.Done()
	for {
		r, result, err := l.perform(f)
		l.mu.Lock()
		l.finish(f, r, result, err)
		next, ok := l.waiting.pop()
		if !ok {
			l.running--
			l.mu.Unlock()
			return
		}
		l.mu.Unlock()
		f = next
	}
}

// perform executes one run of f with its retries, and logs its start and
// end. r is nil if the run was superseded before it could start.
func (l *Loop) perform(f fire) (r *run, result Run, err error) {
	e := f.entry
	l.mu.Lock()
	a := e.act
	fn, p := e.fn, e.policyOrZero() // Update may replace them meanwhile
	superseded := f.at < a.replacedBefore
	var ctx context.Context
	if !superseded {
		r = &run{}
		ctx, r.cancel = context.WithCancelCause(l.ctx)
		a.runs = append(a.runs, r)
	}
	l.mu.Unlock()

	scheduled := f.scheduled()
	result = Run{Job: e.name, Scheduled: scheduled, Attempt: 1}
	if superseded {
		l.logger.Warn("run skipped: replaced while waiting for a slot", "job", e.name, "scheduled", scheduled)
		return nil, result, ErrReplaced
	}
	defer r.cancel(nil)

	start := l.clock.Now()
	lag := start.Sub(scheduled)
	log := l.logger.With("job", e.name, "scheduled", scheduled)
	claims := l.store != nil && f.done == nil // a triggered run is no occurrence
	if claims && p.Delivery == AtMostOnce {
		claimed, cerr := l.store.Claim(ctx, e.name, scheduled)
		switch {
		case cerr != nil:
			err = fmt.Errorf("job %q: claim run: %w", e.name, cerr)
			log.Error("run not started", "error", err)
			l.report(result, start, outcomeFailed, err)
			return r, result, err
		case !claimed:
			log.Info("run skipped: occurrence already claimed")
			l.report(result, start, outcomeSkipped, ErrClaimed)
			return r, result, ErrClaimed
		}
	}
	log.Info("run started", "lag", lag, "attempt", 1)

	attempts := max(1, p.Retry.Attempts)
	for {
		err = l.attempt(ctx, fn, result, p.Timeout)
		if err == nil || result.Attempt >= attempts || ctx.Err() != nil {
			break
		}
		delay := backoff(p.Retry, result.Attempt)
		log.Warn("attempt failed, retrying", "attempt", result.Attempt, "retry_in", delay, "error", err)
		if !l.sleep(ctx, delay) {
			break
		}
		result.Attempt++
	}
	if err == nil && claims && p.Delivery == AtLeastOnce {
		if _, cerr := l.store.Claim(l.ctx, e.name, scheduled); cerr != nil {
			log.Error("run succeeded but could not be recorded: it may run again after a restart", "error", cerr)
		}
	}

	outcome := outcomeOf(err)
	end := l.clock.Now()
	attrs := []any{"lag", lag, "duration", end.Sub(start), "outcome", outcome, "attempt", result.Attempt}
	switch {
	case err == nil:
		log.Info("run ended", attrs...)
	case outcome == outcomePanic:
		var pe *PanicError
		errors.As(err, &pe)
		log.Error("run ended", append(attrs, "error", err, "stack", string(pe.Stack))...)
	default:
		log.Error("run ended", append(attrs, "error", err)...)
	}
	l.report(result, start, outcome, err)
	return r, result, err
}

// report hands a run's end to Config.OnRunEnd.
func (l *Loop) report(r Run, start time.Time, outcome string, err error) {
	if l.onRunEnd != nil {
		l.onRunEnd(Report{Run: r, Start: start, End: l.clock.Now(), Outcome: outcome, Err: err})
	}
}

// attempt calls fn once, under the policy's timeout, turning a panic into a
// *PanicError.
func (l *Loop) attempt(ctx context.Context, fn Func, r Run, timeout time.Duration) (err error) {
	if timeout > 0 {
		var cancel context.CancelCauseFunc
		ctx, cancel = context.WithCancelCause(ctx)
		timer := l.clock.AfterFunc(timeout, func() { cancel(&TimeoutError{Timeout: timeout}) })
		defer func() {
			timer.Stop()
			cancel(nil)
		}()
	}
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	err = fn(ctx, r)
	if err != nil && ctx.Err() != nil {
		// Say why the context ended (timeout, shutdown, replaced) unless the
		// job's error already does.
		if cause := context.Cause(ctx); !errors.Is(err, cause) {
			err = fmt.Errorf("%w: %w", cause, err)
		}
	}
	return err
}

func outcomeOf(err error) string {
	var te *TimeoutError
	var pe *PanicError
	switch {
	case err == nil:
		return outcomeOK
	case errors.As(err, &pe):
		return outcomePanic
	case errors.As(err, &te):
		return outcomeTimeout
	case errors.Is(err, ErrShutdown), errors.Is(err, ErrReplaced), errors.Is(err, context.Canceled):
		return outcomeCanceled
	}
	return outcomeFailed
}

// backoff returns the delay before attempt+1: Backoff doubled for each
// attempt after the first, capped at MaxBackoff, then jittered down by up to
// half ("equal jitter") so that jobs failing together spread their retries.
func backoff(r Retry, attempt int) time.Duration {
	d := r.Backoff
	for i := 1; i < attempt && d > 0; i++ {
		if r.MaxBackoff > 0 && d >= r.MaxBackoff {
			break
		}
		if d > time.Duration(1<<62) {
			break // doubling would overflow
		}
		d *= 2
	}
	if r.MaxBackoff > 0 {
		d = min(d, r.MaxBackoff)
	}
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}

// sleep waits d on the loop's clock; it reports false if ctx ended or the
// loop began shutting down first.
func (l *Loop) sleep(ctx context.Context, d time.Duration) bool {
	t := l.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return true
	case <-ctx.Done():
		return false
	case <-l.stopping:
		return false
	}
}

// finish does an entry's bookkeeping once a run has ended: Next and
// Trigger waiters, the backlog, the activity record. l.mu must be held.
func (l *Loop) finish(f fire, r *run, result Run, err error) {
	e := f.entry
	a := e.act
	a.active--
	if r != nil {
		for i, x := range a.runs {
			if x == r {
				a.runs[i] = a.runs[len(a.runs)-1]
				a.runs[len(a.runs)-1] = nil
				a.runs = a.runs[:len(a.runs)-1]
				break
			}
		}
		e.notifyNext(result, err)
	}
	f.close(result, err)
	if a.active == 0 && len(a.backlog) > 0 {
		next := a.backlog[0]
		a.backlog[0] = fire{}
		a.backlog = a.backlog[1:]
		if l.state == stateRunning {
			a.active++
			l.admit(next)
		} else {
			next.close(Run{Job: e.name, Scheduled: next.scheduled()}, ErrClosed)
			for _, b := range a.backlog {
				b.close(Run{Job: e.name, Scheduled: b.scheduled()}, ErrClosed)
			}
			a.backlog = nil
		}
		if len(a.backlog) == 0 {
			a.backlog = nil
		}
	}
	e.releaseActivity()
}

// notifyNext wakes the goroutines waiting in Next. l.mu must be held.
func (e *Entry) notifyNext(result Run, err error) {
	if e.act == nil || e.act.next == nil {
		return
	}
	n := e.act.next
	e.act.next = nil
	n.run, n.err = result, err
	close(n.done)
}

// scheduled returns the fire's instant in its entry's zone.
func (f fire) scheduled() time.Time {
	return time.Unix(0, f.at).In(f.entry.sched.location)
}
