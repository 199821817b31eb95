package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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
	// Store, if set, remembers which occurrences have started, so that a
	// restart neither repeats nor silently loses runs (see Policy.Misfire
	// and Policy.Delivery). *state.DB implements it.
	Store Store
	// OnRunEnd, if set, is called in the run's goroutine each time a run
	// ends (or is skipped by its claim): for history, metrics and alerts.
	OnRunEnd func(Report)
}

// Store remembers occurrences (a job at a scheduled instant) across
// restarts and, later, across replicas: Claim succeeds once per occurrence.
type Store interface {
	// Claim records that the occurrence is taken; false means it already was.
	Claim(ctx context.Context, job string, scheduled time.Time) (bool, error)
	// Last returns the latest claimed instant of job; ok is false if none.
	Last(ctx context.Context, job string) (last time.Time, ok bool, err error)
}

// Report describes a run that has ended, for Config.OnRunEnd.
type Report struct {
	Run        // the last attempt
	Start, End time.Time
	// Outcome is ok, failed, timeout, panic, canceled, or skipped (another
	// process had claimed the occurrence).
	Outcome string
	Err     error
}

// Loop is the one shared scheduler of a process: it holds the entries in a
// min-heap ordered by next fire instant, sleeps on one timer until the
// earliest, and starts each fire as a task bound to the loop's context.
// With the system clock, it also starts the garbage collection Go forces
// every two minutes itself, between instants, so that it does not land on
// one. All its methods are safe for concurrent use.
type Loop struct {
	clock    Clock
	precise  bool // clock is the real one: spin the last moments before an instant
	logger   *slog.Logger
	location *time.Location
	limit    int
	grace    time.Duration
	store    Store
	onRunEnd func(Report)

	// ctx is the parent of every task's context. It is cancelled, with
	// ErrShutdown as its cause, when the grace period ends.
	ctx    context.Context
	cancel context.CancelCauseFunc

	// stopping is closed when shutdown begins: no new fire starts, retries
	// stop waiting and Entry.Next returns.
	stopping chan struct{}
	// wake tells Run that the earliest instant may have changed.
	wake chan struct{}

	// tasks counts the runs of fires going (from admission with a slot to
	// their end) and the Go functions.
	tasks sync.WaitGroup
	// pool holds the goroutines that run fires.
	pool pool
	// collector times Go's collections to fall between instants.
	collector collector

	// slots counts the runs holding one of limit slots; the fires beyond
	// wait in waiting, first come first served.
	slots      slotCounter
	waitingLen atomic.Int64
	slotMu     sync.Mutex
	waiting    queue[fire] // guarded by slotMu

	mu        sync.Mutex
	state     loopState
	heap      heapSlots
	entries   entryTable // numbers the entries, for heap to refer to them by
	schedules map[scheduleKey]*compiled
	starting  *[]fire  // during fireDue: runs to hand to the workers in batches
	queueing  []fire   // during fireDue: fires to queue for a slot
	atStart   []*Entry // @start entries waiting for Run
	// prepared holds the fires of the entries due at preparedAt (0 when
	// none), taken out of the heap ahead of that instant; preparedChanged
	// says some were taken back. See prepare.go.
	prepared        []fire
	preparedAt      int64
	preparedChanged bool
	// preparedChain holds the prepared fires ready for the workers' queue,
	// when all are plain runs and there are enough for it to matter.
	preparedChain chain
	due           []int32 // scratch for Run
	fires         []fire  // scratch for Run
	starts        []fire  // scratch for Run
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
	l := &Loop{
		clock:     cfg.Clock,
		precise:   isSystemClock(cfg.Clock),
		logger:    cfg.Logger,
		location:  cfg.Location,
		limit:     cfg.MaxConcurrent,
		grace:     cfg.ShutdownGrace,
		store:     cfg.Store,
		onRunEnd:  cfg.OnRunEnd,
		ctx:       ctx,
		cancel:    cancel,
		stopping:  make(chan struct{}),
		wake:      make(chan struct{}, 1),
		schedules: make(map[scheduleKey]*compiled),
	}
	l.pool.init()
	return l
}

// Clock returns the loop's clock.
func (l *Loop) Clock() Clock { return l.clock }

// Add schedules a job and returns its entry, already started. The spec is
// parsed once per distinct (spec, location): a million entries with a
// handful of specs share a handful of schedules. A spec that can never fire
// (such as "0 0 30 2 *") is accepted; its entry simply never fires.
//
// With a Store, the entry resumes after the last instant claimed for its
// name, so that instants missed while the process was down are handled by
// the job's misfire policy at the loop's first wake.
func (l *Loop) Add(j Job) (*Entry, error) {
	loc := j.Location
	if loc == nil {
		loc = l.location
	}
	var last time.Time
	var resume bool
	if l.store != nil {
		var err error
		if last, resume, err = l.store.Last(l.ctx, j.Name); err != nil {
			return nil, fmt.Errorf("add job %q: %w", j.Name, err)
		}
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
	e := l.newEntry(c)
	e.name, e.fn, e.policy, e.index = j.Name, j.Func, j.Policy, -1
	switch {
	case c.atStart:
		l.startOnce(e, now)
	case resume && !last.Before(now.Add(-c.horizon())):
		l.scheduleAfter(e, last.UnixNano())
	default:
		l.schedule(e, now)
	}
	return e, nil
}

// scheduleKey identifies a parsed schedule. Zones are compared by name: a
// reloaded configuration loads its zones anew, and must find its
// schedules unchanged.
type scheduleKey struct {
	spec string
	zone string
}

// compiled is a parsed schedule shared by every entry with the same spec and
// zone. It remembers its last Next computation: when thousands of entries
// share a spec and fire at the same instant, only the first pays for Next.
type compiled struct {
	loop     *Loop // the loop it was compiled for, and its entries are on
	schedule schedule.Schedule
	spec     string
	location *time.Location
	atStart  bool // @start: once when the loop starts, never again
	// frequent: @every, or more than one instant a minute; such jobs skip
	// missed instants under MisfireAuto.
	frequent bool
	memoFrom int64 // guarded by Loop.mu
	memoNext int64
	// block is the block the entries added on this schedule are
	// allocated from, size its length, and entries its slots not yet
	// used; guarded by Loop.mu. See newEntry.
	block   *block
	size    int
	entries []Entry
}

func (l *Loop) compile(spec string, loc *time.Location) (*compiled, error) {
	key := scheduleKey{spec, loc.String()}
	if c, ok := l.schedules[key]; ok {
		return c, nil
	}
	s, err := schedule.Parse(spec, loc)
	if err != nil {
		return nil, err
	}
	c := &compiled{loop: l, schedule: s, spec: spec, location: s.Location(), atStart: s.AtStart(), memoFrom: math.MinInt64}
	c.frequent = strings.HasPrefix(strings.TrimSpace(spec), "@every") || c.firesWithin(time.Minute)
	l.schedules[key] = c
	return c, nil
}

// firesWithin reports whether two consecutive instants of c are less than d
// apart, sampled from the start of the current year.
func (c *compiled) firesWithin(d time.Duration) bool {
	from := time.Date(time.Now().Year(), 1, 1, 0, 0, 0, 0, c.location)
	a := c.schedule.Next(from)
	if a.IsZero() {
		return false
	}
	b := c.schedule.Next(a)
	return !b.IsZero() && b.Sub(a) < d
}

// horizon is how far back a restart looks for missed instants: far enough
// for any policy, short enough that a job unused for years does not walk
// through millions of instants. Older claims resume from now.
func (c *compiled) horizon() time.Duration {
	return 366 * 24 * time.Hour
}

// sameSchedule reports whether j would get e's schedule: same spec, same
// zone.
func (l *Loop) sameSchedule(e *Entry, j Job) bool {
	loc := j.Location
	if loc == nil {
		loc = l.location
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	c, err := l.compile(j.Spec, loc)
	return err == nil && c == e.block.sched
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
	l.scheduleAfter(e, now.Truncate(time.Second).UnixNano())
}

// scheduleAfter puts e in the heap at its first instant after from (Unix
// nanoseconds), which may be in the past. l.mu must be held.
func (l *Loop) scheduleAfter(e *Entry, from int64) {
	at := e.block.sched.next(from)
	if at == 0 {
		l.logger.Warn("job never fires", "job", e.name, "schedule", e.block.sched.spec)
		return
	}
	l.heapPush(e, at+e.rejitter())
	if e.index == 0 {
		l.notify()
	}
}

// startOnce fires an @start entry: now if the loop runs, else when it
// starts. l.mu must be held.
func (l *Loop) startOnce(e *Entry, now time.Time) {
	if l.state == stateRunning {
		l.fire(fire{entry: e, at: now.UnixNano()})
		return
	}
	l.atStart = append(l.atStart, e)
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
	start := l.clock.Now()
	for _, e := range l.atStart {
		if !e.removed {
			l.fire(fire{entry: e, at: start.UnixNano()})
		}
	}
	l.atStart = nil
	l.mu.Unlock()

	timer := l.clock.NewTimer(maxSleep)
	defer timer.Stop()
	for {
		now := l.clock.Now()
		sleep, awake := l.fireDue(now)
		// Firing a large burst takes a while: sleep from now, not from
		// before it, or the next instant is noticed that much late.
		sleep -= l.clock.Now().Sub(now)
		if l.precise && sleep >= collectGap {
			l.collector.collectIfDue(now)
		}
		if awake && l.precise {
			if sleep <= spinWindow {
				p := &l.pool
				p.loopCPU.Store(int64(currentCPU()))
				p.loopAwake.Store(true)
				spun := spinUntil(now.Add(sleep), true, nil)
				p.loopAwake.Store(false)
				if spun {
					continue
				}
			} else {
				sleep -= spinWindow
			}
		}
		timer.Reset(sleep)
		select {
		case <-ctx.Done():
			l.shutdown()
			return nil
		case <-timer.C():
		case <-l.wake:
		}
	}
}

// lateTolerance is how late the loop may notice an instant and still
// call it on time; later than that, the instant was missed and the job's
// misfire policy decides.
const lateTolerance = int64(time.Second)

// fireDue starts every entry due at or before now, reschedules them, and
// returns how long to sleep before the loop's next wake, and whether to
// wait for that wake awake (see nextWake).
func (l *Loop) fireDue(now time.Time) (sleep time.Duration, awake bool) {
	nowNanos := now.UnixNano()
	l.mu.Lock()
	starts := l.starts[:0]
	l.starting = &starts
	defer func() {
		l.flushStarts()
		l.starting = nil
		l.starts = starts[:0]
		l.mu.Unlock()
	}()

	// Start the due runs before computing any next instant, so that the lag
	// of a burst is the cost of starting it and nothing else. The common
	// case, an instant noticed on time, is handled inline.
	queued := l.firePrepared(nowNanos)
	l.due = l.collectDue(nowNanos, l.due[:0])
	fires := l.fires[:0]
	var missed []missedInstants
	// The common case, a burst of entries due at one instant and noticed
	// on time, starts each run as soon as it is found: the root of the heap
	// comes first, and the entries due at its instant are started in heap
	// order. The others (a different instant, missed instants) are sorted
	// and started after them; without jitter, their instants are later.
	stream, streaming := int64(0), false
	for k, i := range l.due {
		item := l.heap.at(int(i))
		e := l.entries.at(item.entry)
		at := item.at - e.jitter()
		if at >= nowNanos-lateTolerance {
			item.at = at
			if k == 0 {
				stream, streaming = at, true
			}
			if streaming && at == stream {
				if !l.fire(fire{entry: e, at: at}) {
					queued++
				}
				continue
			}
			fires = append(fires, fire{entry: e, at: at})
			continue
		}
		var dropped int
		fires, item.at, dropped = l.owed(e, at, nowNanos, fires)
		if dropped > 0 {
			missed = append(missed, missedInstants{e, dropped})
		}
	}
	byInstant := func(a, b fire) int { return cmpInt64(a.at, b.at) }
	if !slices.IsSortedFunc(fires, byInstant) {
		// After a suspend or a long lag, earlier instants go first.
		slices.SortStableFunc(fires, byInstant)
	}
	for _, f := range fires {
		if !l.fire(f) {
			queued++
		}
	}
	// The runs start now, while the next instants are computed.
	l.flushWaiting()
	l.flushStarts()
	if queued > 0 {
		l.logger.Warn("max_concurrent reached: fires wait for a free slot",
			"waiting", l.waitingLen.Load(), "max_concurrent", l.limit)
	}

	// Reschedule bottom-up: the due entries are a top subtree of the heap, so
	// sifting each down from the highest index to the lowest restores the
	// heap in one pass (Floyd's construction restricted to that subtree).
	// Each item.at holds, by now, the last instant accounted for.
	var never []*Entry
	for k := len(l.due) - 1; k >= 0; k-- {
		i := l.due[k]
		item := l.heap.at(int(i))
		if e := l.entries.at(item.entry); !l.reschedule(i, item.at) {
			never = append(never, e)
		}
	}
	l.retire(never)
	l.logMissed(missed)
	clear(fires)
	l.fires = fires[:0]
	return l.nextWake(nowNanos)
}

// reschedule gives the entry in heap slot i, due, its first instant after
// from as its key and sifts it down. It reports false if the entry never
// fires again: its key is then the largest, until retire. l.mu must be
// held.
func (l *Loop) reschedule(i int32, from int64) bool {
	item := l.heap.at(int(i))
	e := l.entries.at(item.entry)
	next := e.block.sched.next(from)
	if next != 0 {
		item.at = next + e.rejitter()
	} else {
		item.at = math.MaxInt64
	}
	l.siftDown(int(i))
	return next != 0
}

// retire takes entries that never fire again out of the heap. l.mu must be
// held.
func (l *Loop) retire(never []*Entry) {
	for _, e := range never {
		l.logger.Info("job has no further fire instants", "job", e.name, "schedule", e.block.sched.spec)
		l.heapRemove(int(e.index))
	}
}

// owed appends to fires the runs e owes as of now, when its earliest
// unfired instant first was missed, by its misfire policy. It returns the
// last instant it accounted for and how many instants it dropped.
// l.mu must be held.
func (l *Loop) owed(e *Entry, first, now int64, fires []fire) (_ []fire, last int64, dropped int) {
	p := e.policyOrZero()
	// Instants before the boundary are missed; from it to now, on time.
	boundary := now - lateTolerance
	oldest := first
	if p.Grace > 0 {
		oldest = max(oldest, now-int64(p.Grace))
	}
	keep := 0
	switch e.misfire() {
	case MisfireRunOnce:
		keep = 1
	case MisfireRunAll:
		keep = p.MaxCatchup
		if keep <= 0 {
			keep = DefaultMaxCatchup
		}
	}
	caught, total := e.block.sched.latest(first, oldest, boundary, keep)
	start := len(fires)
	for _, at := range caught {
		fires = append(fires, fire{entry: e, at: at})
	}
	last = boundary - 1
	for at := e.block.sched.next(last); at != 0 && at <= now; at = e.block.sched.next(at) {
		fires = append(fires, fire{entry: e, at: at})
		last = at
	}
	if owed := fires[start:]; len(owed) > 1 {
		// One after another, oldest first: the rest wait for the first.
		for k := range owed {
			owed[k].tracked, owed[k].chained = true, k > 0
		}
	}
	return fires, last, total - len(caught)
}

// latest returns, oldest first, up to keep of c's latest instants in
// [max(first, oldest), before), and how many instants lie in [first,
// before) in all, counted up to countLimit. It searches backwards from
// before in growing windows, so that its cost follows keep, not the length
// of the outage. l.mu must be held.
func (c *compiled) latest(first, oldest, before int64, keep int) (caught []int64, total int) {
	const countLimit = 10_000
	for at := c.next(first - 1); at != 0 && at < before && total < countLimit; at = c.next(at) {
		total++
	}
	lo := max(first, oldest)
	for window := int64(time.Minute); keep > 0; window *= 16 {
		start := max(lo, before-window)
		caught = caught[:0]
		for at := c.next(start - 1); at != 0 && at < before; at = c.next(at) {
			if len(caught) == keep {
				caught = append(caught[:0], caught[1:]...)
			}
			caught = append(caught, at)
		}
		if len(caught) == keep || start == lo || window > math.MaxInt64/16 {
			break
		}
	}
	return caught, total
}

// logMissed reports entries that dropped missed instants: by name when
// they are few, as a count when a whole fleet was asleep.
func (l *Loop) logMissed(missed []missedInstants) {
	const named = 10
	if len(missed) > named {
		l.logger.Warn("missed fire instants dropped", "jobs", len(missed))
		return
	}
	for _, m := range missed {
		attrs := []any{"job", m.entry.name, "misfire", m.entry.misfire().String(), "dropped", m.dropped}
		if m.entry.index >= 0 {
			attrs = append(attrs, "resume", time.Unix(0, l.heap.at(int(m.entry.index)).at).In(m.entry.block.sched.location))
		}
		l.logger.Warn("missed fire instants dropped", attrs...)
	}
}

// missedInstants is an entry that dropped missed instants, for logMissed.
type missedInstants struct {
	entry   *Entry
	dropped int // counted up to 10,000
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
	l.preparedAt = 0 // the prepared fires are not handed on
	dropped := 0
	for f, ok := l.takeWaiting(); ok; f, ok = l.takeWaiting() {
		dropped++
		if f.tracked {
			f.entry.activity().active--
		}
		f.close(Run{Job: f.entry.name, Scheduled: f.scheduled()}, ErrClosed)
		f.entry.releaseActivity()
	}
	running := l.slots.running()
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
	l.closePool()

	l.mu.Lock()
	l.state = stateClosed
	l.mu.Unlock()
	l.logger.Info("loop stopped")
}
