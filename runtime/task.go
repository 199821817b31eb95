package runtime

import (
	"context"
	"runtime/debug"
)

// Task is a function running on the loop, started by Loop.Go: a future
// (asyncio's Task). Its methods are safe for concurrent use.
type Task struct {
	done   chan struct{}
	err    error
	cancel context.CancelCauseFunc
}

// Go runs fn in its own goroutine with a context bound to the loop: it is
// cancelled when the shutdown grace period ends, or by Task.Cancel. Like
// asyncio's run_coroutine_threadsafe it may be called from any goroutine,
// before or while the loop runs; once shutdown has begun the task fails at
// once with ErrClosed. A panic in fn becomes a *PanicError.
func (l *Loop) Go(fn func(ctx context.Context) error) *Task {
	t := &Task{done: make(chan struct{})}
	l.mu.Lock()
	if l.state >= stateStopping {
		l.mu.Unlock()
		t.err = ErrClosed
		close(t.done)
		return t
	}
	l.tasks.Add(1)
	l.mu.Unlock()

	ctx, cancel := context.WithCancelCause(l.ctx)
	t.cancel = cancel
	go func() {
		defer l.tasks.Done()
		t.err = call(ctx, fn)
		cancel(nil)
		close(t.done)
	}()
	return t
}

func call(ctx context.Context, fn func(ctx context.Context) error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return fn(ctx)
}

// Done returns a channel closed when the task has returned.
func (t *Task) Done() <-chan struct{} { return t.done }

// Err returns the task's error once it is done, nil before.
func (t *Task) Err() error {
	select {
	case <-t.done:
		return t.err
	default:
		return nil
	}
}

// Wait waits for the task and returns its error, or ctx's error if ctx ends
// first.
func (t *Task) Wait(ctx context.Context) error {
	select {
	case <-t.done:
		return t.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Cancel cancels the task's context with context.Canceled as its cause.
func (t *Task) Cancel() {
	if t.cancel != nil {
		t.cancel(context.Canceled)
	}
}
