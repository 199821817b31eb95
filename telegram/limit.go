package telegram

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/scheduler-dev/scheduler/runtime"
)

// limiter paces sends with token buckets that hold one token: one over all
// chats and one per chat, whose rate depends on whether the chat is
// private or a group/channel.
//
// Buckets are driven with explicit instants (TokensAt, ReserveN(now)) so a
// fake clock controls them. A send is counted in its chat's bucket at the
// instant it is released, not when it starts waiting: were it counted
// earlier and then held up by the overall bucket, the next send to the same
// chat could follow it too closely. Sends to one chat therefore pass the
// limiter one at a time; sends to other chats are not held up by them.
//
// The overall bucket hands out slots in advance, first come first served,
// so a burst drains in order at exactly the rate. But a sender that wakes
// late for its slot (a GC pause, a busy CPU) goes out closer to the next
// one, which wakes on time, and a long stall would let a whole run of
// late sends out at once. So releases are also checked against what
// actually went out: no window of the rate's period may hold more than
// its count (a sliding window over the last releases). On time, that
// check never waits; after a stall it holds back only what would
// overfill a window, instead of every send after it.
type limiter struct {
	clock   runtime.Clock
	overall *rate.Limiter
	private rate.Limit
	group   rate.Limit

	mu       sync.Mutex
	chats    map[string]*chatBucket
	sweepLen int // prune idle buckets when the map outgrows this

	// The sliding window: at most len(recent) releases per span. Nil for
	// an unlimited rate.
	windowMu sync.Mutex
	span     time.Duration
	recent   []time.Time // ring of the latest releases
	released int         // releases so far, up to len(recent)
	oldest   int         // index of the oldest in recent, once full
}

// maxWindow bounds the memory of the sliding window: rates with more
// events per period are checked over a proportionally shorter span.
const maxWindow = 1000

type chatBucket struct {
	lim  *rate.Limiter
	turn chan struct{} // one send of this chat in the limiter at a time
	refs int           // guarded by limiter.mu
}

func newLimiter(clock runtime.Clock, rl RateLimit) *limiter {
	l := &limiter{
		clock:    clock,
		overall:  rate.NewLimiter(rl.Overall.limit(), 1),
		private:  rl.Private.limit(),
		group:    rl.Group.limit(),
		chats:    map[string]*chatBucket{},
		sweepLen: 1024,
	}
	if rl.Overall != Unlimited {
		k := min(rl.Overall.Events, maxWindow)
		l.recent = make([]time.Time, k)
		l.span = time.Duration(float64(rl.Overall.Per) * float64(k) / float64(rl.Overall.Events))
	}
	return l
}

// wait blocks until one more message may go to the chat with this key,
// counts it and returns the instant it released it. It returns early with
// ctx's error, counting nothing.
func (l *limiter) wait(ctx context.Context, key string, group bool) (time.Time, error) {
	b := l.bucket(key, group)
	defer l.release(b)
	select {
	case b.turn <- struct{}{}:
	case <-ctx.Done():
		return time.Time{}, context.Cause(ctx)
	}
	defer func() { <-b.turn }()

	// First the chat's own pace, without taking its token yet. (An
	// unlimited bucket would compute NaN tokens: 0 s × ∞.)
	for b.lim.Limit() != rate.Inf {
		now := l.clock.Now()
		tokens := b.lim.TokensAt(now)
		// Float arithmetic can leave a hair below a whole token at the
		// instant it is due.
		if tokens >= 1-1e-9 {
			break
		}
		d := time.Duration(math.Ceil((1 - tokens) / float64(b.lim.Limit()) * float64(time.Second)))
		if err := sleep(ctx, l.clock, d); err != nil {
			return time.Time{}, err
		}
	}
	// Then a slot overall; reservations are FIFO, so a burst drains in
	// order as fast as the overall rate allows.
	now := l.clock.Now()
	r := l.overall.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		if err := sleep(ctx, l.clock, d); err != nil {
			r.CancelAt(l.clock.Now())
			return time.Time{}, err
		}
	}
	now, err := l.spaced(ctx)
	if err != nil {
		return time.Time{}, err
	}
	// Count it in the chat's bucket at the instant it is released; no other
	// send to this chat can have taken the token meanwhile.
	b.lim.ReserveN(now, 1)
	return now, nil
}

// spaced waits until one more release fits the sliding window, and records
// it. Slots that went out on time always fit: their spacing is only
// rounded to the nanosecond, which the check forgives.
func (l *limiter) spaced(ctx context.Context) (time.Time, error) {
	if l.recent == nil {
		return l.clock.Now(), nil
	}
	for {
		l.windowMu.Lock()
		now := l.clock.Now()
		var wait time.Duration
		if l.released == len(l.recent) {
			wait = l.recent[l.oldest].Add(l.span).Sub(now)
		}
		if wait <= 10*time.Nanosecond {
			l.recent[l.oldest] = now
			l.oldest = (l.oldest + 1) % len(l.recent)
			l.released = min(l.released+1, len(l.recent))
			l.windowMu.Unlock()
			return now, nil
		}
		l.windowMu.Unlock()
		if err := sleep(ctx, l.clock, wait); err != nil {
			return time.Time{}, err
		}
	}
}

func (l *limiter) bucket(key string, group bool) *chatBucket {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.chats[key]
	if !ok {
		limit := l.private
		if group {
			limit = l.group
		}
		b = &chatBucket{lim: rate.NewLimiter(limit, 1), turn: make(chan struct{}, 1)}
		l.chats[key] = b
	}
	// Counted before any sweep: a full bucket nobody holds would go.
	b.refs++
	if len(l.chats) > l.sweepLen {
		l.sweepLocked()
	}
	return b
}

func (l *limiter) release(b *chatBucket) {
	l.mu.Lock()
	b.refs--
	l.mu.Unlock()
}

// sweepLocked drops buckets nobody waits on that have refilled: a fresh
// bucket would behave the same. A daily send to 10,000 chats so does not
// keep 10,000 buckets for the rest of the day.
func (l *limiter) sweepLocked() {
	now := l.clock.Now()
	for key, b := range l.chats {
		if b.refs == 0 && b.lim.TokensAt(now) >= 1 {
			delete(l.chats, key)
		}
	}
	l.sweepLen = max(1024, 2*len(l.chats))
}

// sleep waits d on clock, or until ctx ends.
func sleep(ctx context.Context, clock runtime.Clock, d time.Duration) error {
	if d <= 0 {
		return context.Cause(ctx)
	}
	t := clock.NewTimer(d)
	select {
	case <-t.C():
		return nil
	case <-ctx.Done():
		t.Stop()
		return context.Cause(ctx)
	}
}
