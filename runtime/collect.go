package runtime

import (
	goruntime "runtime"
	"runtime/debug"
	"sync/atomic"
	"time"
)

// Go collects garbage at least every two minutes, however little the heap
// grew (the runtime's forcegcperiod). Once warm, the loop allocates next to
// nothing (see readyQueue and queue), so in a process that is mostly the
// loop, that forced collection is the only one, and it falls wherever two
// minutes after the last lands. At a million entries its mark keeps both
// processors of a two-core machine busy for 30–105 ms, and an instant it
// overlapped started its runs 10–50 ms late.
//
// So the loop collects before Go would: once no collection has run for
// collectAfter, it starts one itself, shortly after a wake whose next wake
// is at least collectGap away: after an instant, once its runs have
// started. The heap is the same either way; only the moment changes, to
// one where no run is due. With a fake clock there are no such moments to
// pick, and the loop leaves collections to Go.

// collectAfter is how long after the last collection the loop starts one:
// early enough that, with an instant every second or even every ten, one of
// the gaps before Go's two minutes qualifies.
const collectAfter = 100 * time.Second

// collectGap is the least time before the loop's next wake in which it
// starts a collection: more than a mark takes at a million entries.
const collectGap = 300 * time.Millisecond

// collectDelay is how long after the loop's wake its collection starts:
// the runs of the instant just fired start within the first milliseconds,
// and the mark must not take the processors from them.
const collectDelay = 10 * time.Millisecond

// collector starts the loop's collections.
type collector struct {
	stats   debug.GCStats // reused: ReadGCStats allocates only on first use
	running atomic.Bool   // a collection started by the loop has not ended
}

// collectIfDue starts a collection in the background, collectDelay from
// now, if the last one ended collectAfter or longer before now, and
// reports whether it did. Only the loop's goroutine calls it.
func (c *collector) collectIfDue(now time.Time) bool {
	if c.running.Load() {
		return false
	}
	debug.ReadGCStats(&c.stats)
	if now.Sub(c.stats.LastGC) < collectAfter {
		return false
	}
	c.running.Store(true)
	time.AfterFunc(collectDelay, func() {
		goruntime.GC()
		c.running.Store(false)
	})
	return true
}
