package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/scheduler-dev/scheduler/schedule"
)

// Defaults applied by NewLoop to a zero Config.
const (
	DefaultMaxConcurrent = 256
	DefaultShutdownGrace = 30 * time.Second
)

// maxSleep caps each sleep of the loop, so that a wall-clock step or a
// suspend (which timers, running on the monotonic clock, do not see) is
// noticed within a minute.
const maxSleep = 60 * time.Second

// Errors returned by the loop.
var (
	// ErrClosed is returned once the loop has shut down (or begun to).
	ErrClosed = errors.New("runtime: loop closed")
	// ErrRemoved is returned by Entry.Next when the entry is removed.
	ErrRemoved = errors.New("runtime: entry removed")
	// ErrShutdown is the cancellation cause of runs still going when the
	// shutdown grace period ends.
	ErrShutdown = errors.New("runtime: loop shut down")
	// ErrReplaced is the cancellation cause of a run superseded by a newer
	// fire of an entry whose overlap policy is OverlapReplace.
	ErrReplaced = errors.New("runtime: replaced by a newer run")
)

// Config configures a Loop. The zero value is usable.
type Config struct {
	// Clock is the source of time; nil means SystemClock.
	Clock Clock
	// Logger receives the loop's records, including one when each run starts
	// and one when it ends; nil means slog.Default().
	Logger *slog.Logger
	// MaxConcurrent bounds the runs going at once; fires beyond it wait for a
	// free slot, first come first served. 0 means DefaultMaxConcurrent.
	MaxConcurrent int
	// ShutdownGrace is how long Run lets running tasks finish after its
	// context ends before cancelling them. 0 means DefaultShutdownGrace; a
	// negative value cancels them at once.
	ShutdownGrace time.Duration
	// Location is the zone of jobs that name none; nil means time.Local.
	Location *time.Location
}

// Loop is the one shared scheduler of a process: it holds the entries in a
// min-heap ordered by next fire instant, sleeps on one timer until the
// earliest, and starts each fire as a task bound to the loop's context.
// All its methods are safe for concurrent use.
type Loop struct {
	clock    Clock
	logger   *slog.Logger
	location *time.Location
	limit    int
	grace    time.Duration

	// ctx is the parent of every task's context. It is cancelled, with
	// ErrShutdown as its cause, when the grace period ends.
	ctx    context.Context
	cancel context.CancelCauseFunc

	// stopping is closed when shutdown begins: no new fire starts and
	// retries stop waiting. closed is closed when Run has returned.
	stopping chan struct{}
	closed   chan struct{}
	// wake tells Run that the earliest instant may have changed.
	wake chan struct{}

	// tasks counts every goroutine running a fire or a Go function.
	tasks sync.WaitGroup

	mu        sync.Mutex
	state     loopState
	heap      []heapItem
	schedules map[scheduleKey]*compiled
	running   int         // fire goroutines, each holding a slot
	waiting   queue[fire] // fires waiting for a slot
	due       []int32     // scratch for Run
	fires     []fire      // scratch for Run
}

type loopState uint8

const (
	stateIdle loopState = iota
	stateRunning
	stateStopping
	stateClosed
)

// NewLoop returns a loop ready for Add, Go and Run.
func NewLoop(cfg Config) *Loop {
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = DefaultMaxConcurrent
	}
	if cfg.ShutdownGrace == 0 {
		cfg.ShutdownGrace = DefaultShutdownGrace
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	return &Loop{
		clock:     cfg.Clock,
		logger:    cfg.Logger,
		location:  cfg.Location,
		limit:     cfg.MaxConcurrent,
		grace:     cfg.ShutdownGrace,
		ctx:       ctx,
		cancel:    cancel,
		stopping:  make(chan struct{}),
		closed:    make(chan struct{}),
		wake:      make(chan struct{}, 1),
		schedules: make(map[scheduleKey]*compiled),
	}
}

// Clock returns the loop's clock.
func (l *Loop) Clock() Clock { return l.clock }

// Add schedules a job and returns its entry, already started. The spec is
// parsed once per distinct (spec, location): a million entries with a
// handful of specs share a handful of schedules. A spec that can never fire
// (such as "0 0 30 2 *") is accepted; its entry simply never fires.
func (l *Loop) Add(j Job) (*Entry, error) {
	loc := j.Location
	if loc == nil {
		loc = l.location
	}
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state >= stateStopping {
		return nil, fmt.Errorf("add job %q: %w", j.Name, ErrClosed)
	}
	c, err := l.compile(j.Spec, loc)
	if err != nil {
		return nil, fmt.Errorf("add job %q: %w", j.Name, err)
	}
	e := &Entry{loop: l, name: j.Name, sched: c, fn: j.Func, policy: j.Policy, index: -1}
	l.schedule(e, now)
	return e, nil
}

type scheduleKey struct {
	spec string
	loc  *time.Location
}

// compiled is a parsed schedule shared by every entry with the same spec and
// zone. It remembers its last Next computation: when thousands of entries
// share a spec and fire at the same instant, only the first pays for Next.
type compiled struct {
	schedule schedule.Schedule
	spec     string
	location *time.Location
	memoFrom int64 // guarded by Loop.mu
	memoNext int64
}

func (l *Loop) compile(spec string, loc *time.Location) (*compiled, error) {
	key := scheduleKey{spec, loc}
	if c, ok := l.schedules[key]; ok {
		return c, nil
	}
	s, err := schedule.Parse(spec, loc)
	if err != nil {
		return nil, err
	}
	c := &compiled{schedule: s, spec: spec, location: s.Location(), memoFrom: math.MinInt64}
	l.schedules[key] = c
	return c, nil
}

// next returns the first instant after from (Unix nanoseconds) at which c
// fires, or 0 if it never fires again. l.mu must be held.
func (c *compiled) next(from int64) int64 {
	if from == c.memoFrom {
		return c.memoNext
	}
	var next int64
	if t := c.schedule.Next(time.Unix(0, from).In(c.location)); !t.IsZero() {
		next = t.UnixNano()
	}
	c.memoFrom, c.memoNext = from, next
	return next
}

// schedule puts e in the heap at its first instant after now, unless it
// never fires again. l.mu must be held.
func (l *Loop) schedule(e *Entry, now time.Time) {
	// Any instant in the same second gives the same answer (fire instants
	// are whole seconds), and a shared reference lets the memo serve a
	// million Adds with one Next per spec.
	at := e.sched.next(now.Truncate(time.Second).UnixNano())
	if at == 0 {
		l.logger.Warn("job never fires", "job", e.name, "schedule", e.sched.spec)
		return
	}
	l.heapPush(e, at)
	if e.index == 0 {
		l.notify()
	}
}

// notify wakes Run to re-arm its timer.
func (l *Loop) notify() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Run fires entries until ctx ends, then shuts down: it stops firing, lets
// running tasks finish for Config.ShutdownGrace, cancels the rest with
// ErrShutdown as the cause, waits for them, and returns nil. A loop runs
// once; a second Run returns ErrClosed.
func (l *Loop) Run(ctx context.Context) error {
	l.mu.Lock()
	if l.state != stateIdle {
		l.mu.Unlock()
		return ErrClosed
	}
	l.state = stateRunning
	l.mu.Unlock()

	timer := l.clock.NewTimer(maxSleep)
	defer timer.Stop()
	for {
		now := l.clock.Now()
		timer.Reset(l.fireDue(now))
		select {
		case <-ctx.Done():
			l.shutdown()
			return nil
		case <-timer.C():
		case <-l.wake:
		}
	}
}

// fireDue starts every entry due at or before now, reschedules them, and
// returns how long to sleep before the next instant.
func (l *Loop) fireDue(now time.Time) time.Duration {
	nowNanos := now.UnixNano()
	l.mu.Lock()
	defer l.mu.Unlock()

	// Start the due runs before computing any next instant, so that the lag
	// of a burst is the cost of starting it and nothing else.
	l.due = l.collectDue(nowNanos, l.due[:0])
	fires := l.fires[:0]
	for _, i := range l.due {
		fires = append(fires, fire{entry: l.heap[i].entry, at: l.heap[i].at})
	}
	if len(fires) > 1 && fires[0].at != fires[len(fires)-1].at {
		// After a suspend or a long lag, earlier instants go first.
		slices.SortStableFunc(fires, func(a, b fire) int { return cmpInt64(a.at, b.at) })
	}
	queued := 0
	for _, f := range fires {
		if !l.fire(f) {
			queued++
		}
	}
	if queued > 0 {
		l.logger.Warn("max_concurrent reached: fires wait for a free slot",
			"waiting", l.waiting.len(), "max_concurrent", l.limit)
	}

	// Reschedule bottom-up: the due entries are a top subtree of the heap, so
	// sifting each down from the highest index to the lowest restores the
	// heap in one pass (Floyd's construction restricted to that subtree).
	var never, missed []*Entry
	for k := len(l.due) - 1; k >= 0; k-- {
		i := l.due[k]
		item := &l.heap[i]
		next := item.entry.sched.next(item.at)
		if next != 0 && next <= nowNanos {
			// Instants passed while the loop could not fire them (a
			// suspend, a clock step, a long lag): skip to the first one
			// after now.
			next = item.entry.sched.next(nowNanos - nowNanos%int64(time.Second))
			missed = append(missed, item.entry)
		}
		if next == 0 {
			next = math.MaxInt64
			never = append(never, item.entry)
		}
		item.at = next
		l.siftDown(int(i))
	}
	for _, e := range never {
		l.logger.Info("job has no further fire instants", "job", e.name, "schedule", e.sched.spec)
		l.heapRemove(int(e.index))
	}
	l.logMissed(missed)
	clear(fires)
	l.fires = fires[:0]

	if len(l.heap) == 0 {
		return maxSleep
	}
	return min(time.Duration(l.heap[0].at-nowNanos), maxSleep)
}

// logMissed reports entries whose missed instants were skipped: by name
// when they are few, as a count when a whole fleet was asleep.
func (l *Loop) logMissed(missed []*Entry) {
	const named = 10
	if len(missed) > named {
		l.logger.Warn("missed fire instants skipped", "jobs", len(missed))
		return
	}
	for _, e := range missed {
		if e.index >= 0 {
			l.logger.Warn("missed fire instants skipped", "job", e.name,
				"resume", time.Unix(0, l.heap[e.index].at).In(e.sched.location))
		}
	}
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// shutdown stops firing, waits for running tasks up to the grace period,
// then cancels and waits for them.
func (l *Loop) shutdown() {
	l.mu.Lock()
	l.state = stateStopping
	close(l.stopping)
	dropped := l.waiting.len()
	for f, ok := l.waiting.pop(); ok; f, ok = l.waiting.pop() {
		f.entry.activity().active--
		f.entry.releaseActivity()
	}
	running := l.running
	l.mu.Unlock()

	l.logger.Info("loop stopping", "running", running, "dropped_waiting", dropped, "grace", l.grace)
	done := make(chan struct{})
	go func() {
		l.tasks.Wait()
		close(done)
	}()
	if l.grace > 0 {
		t := l.clock.NewTimer(l.grace)
		select {
		case <-done:
		case <-t.C():
			l.logger.Warn("shutdown grace period over: cancelling running tasks", "grace", l.grace)
		}
		t.Stop()
	}
	l.cancel(ErrShutdown)
	<-done

	l.mu.Lock()
	l.state = stateClosed
	l.mu.Unlock()
	close(l.closed)
	l.logger.Info("loop stopped")
}
