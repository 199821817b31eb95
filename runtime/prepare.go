package runtime

import (
	"cmp"
	"slices"
	"time"
	"unsafe"
)

// A loop holding many entries does its work for an instant before the
// instant. Shortly ahead of the heap's earliest key, it prepares the
// entries due then: it takes them off the top of the heap, computes their
// next instants, restores the heap, and readies their fires in
// l.prepared. At the instant, what is left is to hand those fires to the
// workers, without touching a single entry. At a million entries the
// restore and the first touch of each due entry were most of a second's
// loop work, and all of it lay between an instant and the start of its
// last run.
//
// A prepared entry has already left its heap slot for its following
// instant, so Stop, Remove and Update first take it back out of
// l.prepared: its next fire is then decided exactly as if it had never
// been prepared.

// prepareLead is how long before an instant the loop prepares it: enough
// for the tens of thousands of entries due at one second of a
// million-entry loop. Preparing stops, and the instant's remaining entries
// are fired from the heap as usual, once the instant has come.
const prepareLead = 20 * time.Millisecond

// isPrepared reports whether e fires at l.preparedAt from l.prepared.
// Entry.prepared stays set after its fire was handed on, until the next
// prepare clears it, so that handing it on does not have to touch the
// entry. l.mu must be held.
func (l *Loop) isPrepared(e *Entry) bool {
	return e.prepared && l.preparedAt != 0
}

// prepare takes the entries due at key, the heap's earliest key, out of the
// heap ahead of time. Entries with jitter stay in the heap: their key is
// not their instant. l.mu must be held.
func (l *Loop) prepare(key int64) {
	for _, f := range l.prepared {
		f.entry.prepared = false
	}
	clear(l.prepared)
	l.prepared = l.prepared[:0]
	l.preparedAt, l.preparedChanged = key, false
	l.preparedChain = chain{}

	l.due = l.collectDue(key, l.due[:0])
	var never []*Entry
	// Bottom-up, as in fireDue: sifting each due slot down from the
	// highest index restores the heap in one pass, and stopping part-way
	// leaves the slots not yet visited in place, still due at key.
	late, plain := false, true
	for k := len(l.due) - 1; k >= 0; k-- {
		if (len(l.due)-1-k)%startBatch == 0 && l.clock.Now().UnixNano() >= key {
			late = true
			break
		}
		i := l.due[k]
		e := l.entries.at(l.heap.at(int(i)).entry)
		p := e.policyOrZero()
		if p.Jitter > 0 {
			continue
		}
		f := fire{entry: e, at: key}
		if e.fn != nil && p.Overlap == OverlapAllow {
			// A plain run: admitted at the instant without a look at the
			// entry.
			f.fn, f.policy = e.fn, p
		} else {
			plain = false
		}
		e.prepared = true
		l.prepared = append(l.prepared, f)
		if !l.reschedule(i, key) {
			never = append(never, e)
		}
	}
	l.retire(never)
	// The fires start in the order of their entries in memory, which for
	// the entries of one schedule is the order they were added in (see
	// newEntry), rather than in heap order, which is random. The workers
	// then walk the entries, and in the usual case the jobs' own closures
	// and data, in the order they were allocated: the hardware fetches
	// them ahead instead of missing the cache at each. At a million
	// entries this cut the time to start an instant's 16,667 runs by a
	// third.
	// (Go does not move heap objects, so an address is a stable key.)
	// Once the instant has come, sorting would only delay the runs.
	if late {
		return
	}
	slices.SortFunc(l.prepared, func(a, b fire) int {
		return cmp.Compare(uintptr(unsafe.Pointer(a.entry)), uintptr(unsafe.Pointer(b.entry)))
	})
	if plain && len(l.prepared) >= spinFires && len(l.prepared) <= l.limit {
		// Their place in the workers' queue too: at a million entries,
		// filling it at the instant held back the first run by 0.25 to
		// 0.6 ms, and every other run with it. (The chain is linked only
		// if every fire gets a slot at once: beyond max_concurrent it
		// would be built for nothing.)
		l.preparedChain = l.pool.ready.newChain(l.prepared)
	}
	if len(l.prepared) >= spinFires {
		l.callStandby(key)
	}
}

// firePrepared admits the prepared fires once their instant has come. It
// reports how many had to wait for a slot. l.mu must be held.
func (l *Loop) firePrepared(now int64) (queued int) {
	if l.preparedAt == 0 || now < l.preparedAt {
		return 0
	}
	if now-l.preparedAt > lateTolerance {
		// The clock jumped past the instant (a suspend, a step): the
		// entries go back to the heap, where their misfire policy applies.
		for _, f := range l.prepared {
			l.unprepare(f.entry)
		}
	}
	fs := l.prepared
	if l.preparedChanged {
		fs = nil
		for _, f := range l.prepared {
			if f.entry.prepared {
				fs = append(fs, f)
			}
		}
	}
	l.preparedAt = 0
	c := l.preparedChain
	l.preparedChain = chain{}
	if c.first != nil && !l.preparedChanged && len(l.queueing) == 0 {
		// Every fire is plain, and waits in c for the workers.
		got := l.acquireSlots(len(fs))
		l.tasks.Add(got)
		if got == len(fs) {
			l.pool.ready.link(c)
			l.summonFor(got)
			return 0
		}
		l.dispatch(fs[:got]...)
		fs = fs[got:]
	}
	for len(fs) > 0 {
		if fs[0].fn == nil {
			// Not a plain run: its overlap policy decides, on the entry.
			if !l.fire(fs[0]) {
				queued++
			}
			fs = fs[1:]
			continue
		}
		n := 1
		for n < len(fs) && n < startBatch && fs[n].fn != nil {
			n++
		}
		if len(l.queueing) == 0 {
			// Slots for the batch at once, not one per fire: the workers
			// ending runs update the same counter.
			got := l.acquireSlots(n)
			l.tasks.Add(got)
			l.dispatch(fs[:got]...)
			fs, n = fs[got:], n-got
		}
		for _, f := range fs[:n] {
			if !l.admit(f) {
				queued++
			}
		}
		fs = fs[n:]
	}
	return queued
}

// unprepare puts a prepared entry back in the heap at its prepared
// instant, where Stop, Remove and Update find it. l.mu must be held.
func (l *Loop) unprepare(e *Entry) {
	if !l.isPrepared(e) {
		return
	}
	e.prepared, l.preparedChanged = false, true
	if e.index >= 0 {
		l.heapRemove(int(e.index))
	}
	l.heapPush(e, l.preparedAt)
}

// spinFires is how many prepared fires make the loop wait for their
// instant awake (see spinWindow): for fewer, a timer's lateness costs less
// than the spinning would.
const spinFires = startBatch

// nextWake returns how long after now the loop must wake: at the earliest
// prepared instant or heap key, or a prepareLead ahead of the heap's
// earliest key to prepare it; if that time has come, it prepares now. It
// reports whether the wake is an instant with at least spinFires fires
// prepared. l.mu must be held.
func (l *Loop) nextWake(now int64) (sleep time.Duration, awake bool) {
	if l.heap.len() == 0 && l.preparedAt == 0 {
		return maxSleep, false
	}
	if l.preparedAt == 0 {
		key := l.heap.at(0).at
		if d := time.Duration(key - now); d > prepareLead {
			return min(d-prepareLead, maxSleep), false
		}
		l.prepare(key)
	}
	wake := l.preparedAt
	if l.heap.len() > 0 && l.heap.at(0).at < wake {
		return min(time.Duration(l.heap.at(0).at-now), maxSleep), false
	}
	return min(time.Duration(wake-now), maxSleep), len(l.prepared) >= spinFires
}
