package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"sync/atomic"
	"time"
)

// fire is one due instant of an entry, on its way to becoming a run.
type fire struct {
	entry *Entry
	at    int64 // the scheduled instant, Unix nanoseconds
	// fn and policy are the entry's when it fired: Entry.Update may replace
	// them while the run waits for a slot or goes on.
	fn     Func
	policy *Policy
	// done is set for a run started by Entry.Trigger, which waits on it.
	done *notice
	// chained fires run after the entry's earlier fires of the same wake
	// (catch-up), whatever the overlap policy.
	chained bool
	// tracked fires count in the entry's activity (overlap, catch-up
	// backlog, Trigger); plain allow-overlap runs skip that bookkeeping and
	// its lock. Catch-up fires come tracked, so that the chain behind the
	// first one waits for it.
	tracked bool
}

// close reports the fire's outcome to Entry.Trigger, if it came from there.
func (f fire) close(r Run, err error) {
	if f.done != nil {
		f.done.run, f.done.err = r, err
		close(f.done.done)
	}
}

// run is a fire being executed under an overlap policy that may cancel it.
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

// Outcomes of a run, as logged in its end record and given in Report.
const (
	OutcomeOK       = "ok"
	OutcomeFailed   = "failed"
	OutcomeTimeout  = "timeout"
	OutcomePanic    = "panic"
	OutcomeCanceled = "canceled"
	OutcomeSkipped  = "skipped"
)

// ErrClaimed is the result of a run that did not start because its
// occurrence was already claimed in the Store: by an earlier process, or
// by another replica sharing the Store.
var ErrClaimed = errors.New("runtime: occurrence already claimed")

// ErrSkipped is the result of a triggered run that the entry's overlap
// policy refused.
var ErrSkipped = errors.New("runtime: run skipped by the overlap policy")

// fire applies f's entry's overlap policy and admits it. It reports false
// if the run must wait for a free slot. l.mu must be held; a run that got
// a slot is started at once, or, during fireDue, once the lock is released.
func (l *Loop) fire(f fire) bool {
	e := f.entry
	f.fn, f.policy = e.fn, e.policyOrZero()
	if f.fn == nil {
		// Nothing to run: only wake those waiting in Next or Trigger.
		r := Run{Job: e.name, Scheduled: f.scheduled(), Attempt: 1}
		e.notifyNext(r, nil)
		f.close(r, nil)
		return true
	}
	if f.policy.Overlap == OverlapAllow && !f.tracked && f.done == nil {
		return l.admit(f)
	}
	f.tracked = true
	a := e.activity()
	if f.chained {
		a.backlog = append(a.backlog, f)
		return true
	}
	if a.active > 0 {
		switch f.policy.Overlap {
		case OverlapForbid:
			l.logger.Warn("run skipped: previous run still going", "job", e.name,
				"scheduled", f.scheduled(), "overlap", OverlapForbid.String())
			f.close(Run{Job: e.name, Scheduled: f.scheduled()}, ErrSkipped)
			return true
		case OverlapQueue:
			if len(a.backlog) > 0 {
				l.logger.Warn("run skipped: a run is already queued", "job", e.name,
					"scheduled", f.scheduled(), "overlap", OverlapQueue.String())
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

// admit starts f if a slot is free, or queues it for one; it reports
// whether f got a slot. l.mu must be held.
func (l *Loop) admit(f fire) bool {
	if l.starting != nil {
		// During fireDue, the fires that find no slot are queued together
		// once all are admitted (flushWaiting), rather than one by one
		// against the runs releasing slots; the fires after the first of
		// them queue behind it, first come first served.
		if len(l.queueing) > 0 || !l.acquireSlot() {
			l.queueing = append(l.queueing, f)
			return false
		}
		l.start(f)
		return true
	}
	if !l.acquireSlot() {
		l.slotMu.Lock()
		l.waiting.push(f)
		l.waitingLen.Store(int64(l.waiting.len()))
		l.slotMu.Unlock()
		// A slot may have been released between the two steps: take it, or
		// the fire would wait for the next run to end.
		if l.acquireSlot() {
			if g, ok := l.takeWaiting(); ok {
				l.start(g)
			} else {
				l.releaseSlot(loopStripe)
			}
		}
		return false
	}
	l.start(f)
	return true
}

// start hands f, holding a slot, to the workers: at once, or during
// fireDue in batches, so that a burst costs the workers' queue and the
// shared counters one update per batch rather than one per fire. l.mu must
// be held.
func (l *Loop) start(f fire) {
	if l.starting == nil {
		l.tasks.Add(1)
		l.dispatch(f)
		return
	}
	*l.starting = append(*l.starting, f)
	if len(*l.starting) >= startBatch {
		l.flushStarts()
	}
}

// flushStarts hands the runs fireDue has collected to the workers. l.mu
// must be held.
func (l *Loop) flushStarts() {
	if l.starting == nil || len(*l.starting) == 0 {
		return
	}
	l.tasks.Add(len(*l.starting))
	l.dispatch(*l.starting...)
	clear(*l.starting)
	*l.starting = (*l.starting)[:0]
}

// flushWaiting queues the fires fireDue found no slot for, then starts as
// many of them as slots were released meanwhile. l.mu must be held.
func (l *Loop) flushWaiting() {
	if len(l.queueing) == 0 {
		return
	}
	l.slotMu.Lock()
	l.waiting.pushAll(l.queueing)
	l.waitingLen.Store(int64(l.waiting.len()))
	l.slotMu.Unlock()
	clear(l.queueing)
	l.queueing = l.queueing[:0]
	for l.waitingLen.Load() > 0 && l.acquireSlot() {
		g, ok := l.takeWaiting()
		if !ok {
			l.releaseSlot(loopStripe)
			break
		}
		l.start(g)
	}
}

func (l *Loop) acquireSlot() bool { return l.acquireSlots(1) == 1 }

// acquireSlots takes up to n free slots and returns how many it took.
func (l *Loop) acquireSlots(n int) int {
	s := &l.slots
	for {
		taken := s.taken.Load()
		// Releases missed while summing the stripes only make the count
		// higher than it is; a slot taken meanwhile fails the swap.
		k := min(int64(n), int64(l.limit)-(taken-s.released()))
		if k <= 0 {
			return 0
		}
		if s.taken.CompareAndSwap(taken, taken+k) {
			return int(k)
		}
	}
}

// releaseSlot gives back a slot, on the given stripe: a worker's own (see
// work), or loopStripe for the loop.
func (l *Loop) releaseSlot(stripe int) { l.slots.stripes[stripe].n.Add(1) }

// slotCounter counts the runs holding a slot: those taken less those
// released. Releases are spread over stripes, each a counter on a cache
// line of its own, and each worker releases on one stripe (see summon), so
// that two workers ending runs side by side do not pass one line back and
// forth at each. (At a million entries, one shared counter made an
// instant's 16,667 runs take a fifth longer.)
type slotCounter struct {
	taken   atomic.Int64
	_       [56]byte
	stripes [slotStripes]paddedCount
}

// paddedCount is a counter alone on its cache line.
type paddedCount struct {
	n atomic.Int64
	_ [56]byte
}

const (
	slotStripes = 8
	loopStripe  = 0 // the stripe of releases by the loop rather than a worker
)

// released returns the slots released so far.
func (s *slotCounter) released() int64 {
	var n int64
	for i := range s.stripes {
		n += s.stripes[i].n.Load()
	}
	return n
}

// running returns the slots held now.
func (s *slotCounter) running() int64 { return s.taken.Load() - s.released() }

// takeWaiting pops the oldest fire waiting for a slot.
func (l *Loop) takeWaiting() (fire, bool) {
	if l.waitingLen.Load() == 0 {
		return fire{}, false
	}
	l.slotMu.Lock()
	defer l.slotMu.Unlock()
	f, ok := l.waiting.pop()
	l.waitingLen.Store(int64(l.waiting.len()))
	return f, ok
}

// execute runs f, which holds a slot, on a worker (see pool.go), then
// passes the slot on to the oldest fire waiting for one. While no other
// fire waits for a worker, the worker runs that one too; otherwise it
// queues it behind them, so that a worker never keeps a private line of
// fires that others cannot take while fires older than them wait.
// Instead of releasing its count in l.tasks, it adds one to *ended, which
// the worker releases for several runs at once (see work).
func (l *Loop) execute(f fire, stripe int, ended *int) {
	for {
		r, result, err := l.perform(f)
		l.finish(f, r, result, err)
		next, ok := l.takeWaiting()
		if !ok {
			l.releaseSlot(stripe)
			// A fire queued after takeWaiting looked must not be stranded.
			if l.waitingLen.Load() == 0 || !l.acquireSlot() {
				break
			}
			if next, ok = l.takeWaiting(); !ok {
				l.releaseSlot(stripe)
				break
			}
		}
		// next inherits f's slot and its count in l.tasks.
		if l.pool.ready.empty() {
			f = next
			continue
		}
		l.pool.ready.push(next)
		return
	}
	*ended++
}

// perform executes one run of f with its retries, and logs its start and
// end. r is nil unless the run was cancellable (OverlapReplace).
func (l *Loop) perform(f fire) (r *run, result Run, err error) {
	e, p := f.entry, f.policy
	scheduled := f.scheduled()
	result = Run{Job: e.name, Scheduled: scheduled, Attempt: 1}
	ctx := l.ctx
	if p.Overlap == OverlapReplace {
		l.mu.Lock()
		a := e.act.Load()
		if f.at < a.replacedBefore {
			l.mu.Unlock()
			l.logger.Warn("run skipped: replaced while waiting for a slot", "job", e.name, "scheduled", scheduled)
			return nil, result, ErrReplaced
		}
		r = &run{}
		ctx, r.cancel = context.WithCancelCause(l.ctx)
		a.runs = append(a.runs, r)
		l.mu.Unlock()
		defer r.cancel(nil)
	}

	claims := l.store != nil && f.done == nil // a triggered run is no occurrence
	if claims && p.Delivery == AtMostOnce {
		claimed, cerr := l.store.Claim(ctx, e.name, scheduled)
		switch {
		case cerr != nil:
			err = fmt.Errorf("job %q: claim run: %w", e.name, cerr)
			l.logger.Error("run not started", "job", e.name, "scheduled", scheduled, "error", err)
			l.report(p, result, l.clock.Now(), OutcomeFailed, err)
			return r, result, err
		case !claimed:
			l.logger.Info("run skipped: occurrence already claimed", "job", e.name, "scheduled", scheduled)
			l.report(p, result, l.clock.Now(), OutcomeSkipped, ErrClaimed)
			return r, result, ErrClaimed
		}
	}
	logging := l.logger.Enabled(ctx, slog.LevelError)
	// The lag counts the claim's durable write; the duration is the job's.
	// Only logs and reports read the start: a clock read is a tenth of
	// what a short run costs the loop.
	var start time.Time
	var lag time.Duration
	if logging || l.onRunEnd != nil || p.OnEnd != nil {
		start = l.clock.Now()
		lag = start.Sub(scheduled)
	}
	var log *slog.Logger
	if logging {
		log = l.logger.With("job", e.name, "scheduled", scheduled)
		log.Info("run started", "lag", lag, "attempt", 1)
	}

	attempts := max(1, p.Retry.Attempts)
	for {
		err = l.attempt(ctx, f.fn, result, p.Timeout)
		if err == nil || result.Attempt >= attempts || ctx.Err() != nil {
			break
		}
		delay := backoff(p.Retry, result.Attempt)
		if logging {
			log.Warn("attempt failed, retrying", "attempt", result.Attempt, "retry_in", delay, "error", err)
		}
		if !l.sleep(ctx, delay) {
			break
		}
		result.Attempt++
	}
	if err == nil && claims && p.Delivery == AtLeastOnce {
		if _, cerr := l.store.Claim(l.ctx, e.name, scheduled); cerr != nil {
			l.logger.Error("run succeeded but could not be recorded: it may run again after a restart",
				"job", e.name, "scheduled", scheduled, "error", cerr)
		}
	}

	outcome := OutcomeOf(err)
	if logging {
		attrs := []any{"lag", lag, "duration", l.clock.Now().Sub(start), "outcome", outcome, "attempt", result.Attempt}
		switch {
		case err == nil:
			log.Info("run ended", attrs...)
		case outcome == OutcomePanic:
			var pe *PanicError
			errors.As(err, &pe)
			log.Error("run ended", append(attrs, "error", err, "stack", string(pe.Stack))...)
		default:
			log.Error("run ended", append(attrs, "error", err)...)
		}
	}
	l.report(p, result, start, outcome, err)
	return r, result, err
}

// report hands a run's end to Config.OnRunEnd and the policy's OnEnd.
func (l *Loop) report(p *Policy, r Run, start time.Time, outcome string, err error) {
	if l.onRunEnd == nil && p.OnEnd == nil {
		return
	}
	rep := Report{Run: r, Start: start, End: l.clock.Now(), Outcome: outcome, Err: err}
	if l.onRunEnd != nil {
		l.onRunEnd(rep)
	}
	if p.OnEnd != nil {
		p.OnEnd(l.ctx, rep)
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

// OutcomeOf names how a run that returned err ended: OutcomeOK,
// OutcomeFailed, OutcomeTimeout, OutcomePanic or OutcomeCanceled, as in
// Report.Outcome.
func OutcomeOf(err error) string {
	if err == nil {
		return OutcomeOK // before the targets of errors.As, which escape
	}
	var te *TimeoutError
	var pe *PanicError
	switch {
	case errors.As(err, &pe):
		return OutcomePanic
	case errors.As(err, &te):
		return OutcomeTimeout
	case errors.Is(err, ErrShutdown), errors.Is(err, ErrReplaced), errors.Is(err, context.Canceled):
		return OutcomeCanceled
	}
	return OutcomeFailed
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
// Trigger waiters, the backlog, the activity record.
func (l *Loop) finish(f fire, r *run, result Run, err error) {
	e := f.entry
	if !f.tracked && e.act.Load() == nil {
		return // nobody waits: the common case takes no lock
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	e.notifyNext(result, err)
	if !f.tracked {
		e.releaseActivity()
		return
	}
	a := e.act.Load()
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
	a := e.act.Load()
	if a == nil || a.next == nil {
		return
	}
	n := a.next
	a.next = nil
	n.run, n.err = result, err
	close(n.done)
}

// scheduled returns the fire's instant in its entry's zone.
func (f fire) scheduled() time.Time {
	return time.Unix(0, f.at).In(f.entry.block.sched.location)
}
