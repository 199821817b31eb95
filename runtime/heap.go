package runtime

// The loop's entries sit in a 4-ary min-heap keyed by their next fire
// instant. Four children of 16 bytes share one cache line, so a sift touches
// about half as many lines as a binary heap would at a million entries.
//
// Every function here expects l.mu to be held.

const heapArity = 4

// heapItem is one scheduled entry. The instant is kept inline (Unix
// nanoseconds) so comparisons never dereference the entry, and the entry
// is its number in l.entries, so that the heap holds no pointer (see
// entries.go).
type heapItem struct {
	at    int64
	entry uint32
}

func (l *Loop) heapPush(e *Entry, at int64) {
	e.index = int32(len(l.heap))
	l.heap = append(l.heap, heapItem{at: at, entry: e.num()})
	l.siftUp(int(e.index))
}

// heapRemove takes the entry at index i out of the heap.
func (l *Loop) heapRemove(i int) {
	last := len(l.heap) - 1
	l.entries.at(l.heap[i].entry).index = -1
	if i != last {
		l.heap[i] = l.heap[last]
		l.entries.at(l.heap[i].entry).index = int32(i)
	}
	l.heap[last] = heapItem{}
	l.heap = l.heap[:last]
	if i != last {
		l.siftDown(i)
		l.siftUp(i)
	}
}

func (l *Loop) siftUp(i int) {
	h := l.heap
	item := h[i]
	for i > 0 {
		parent := (i - 1) / heapArity
		if h[parent].at <= item.at {
			break
		}
		h[i] = h[parent]
		l.entries.at(h[i].entry).index = int32(i)
		i = parent
	}
	h[i] = item
	l.entries.at(item.entry).index = int32(i)
}

func (l *Loop) siftDown(i int) {
	h := l.heap
	n := len(h)
	item := h[i]
	for {
		first := heapArity*i + 1
		if first >= n {
			break
		}
		least := first
		for c := first + 1; c < first+heapArity && c < n; c++ {
			if h[c].at < h[least].at {
				least = c
			}
		}
		if item.at <= h[least].at {
			break
		}
		h[i] = h[least]
		l.entries.at(h[i].entry).index = int32(i)
		i = least
	}
	h[i] = item
	l.entries.at(item.entry).index = int32(i)
}

// collectDue appends to buf the heap indices of every entry due at or before
// now, in ascending index order. Because a parent is never later than its
// children, the due entries form a subtree at the top of the heap, which a
// breadth-first walk visits in index order without touching the rest.
func (l *Loop) collectDue(now int64, buf []int32) []int32 {
	h := l.heap
	if len(h) == 0 || h[0].at > now {
		return buf
	}
	start := len(buf)
	buf = append(buf, 0)
	for k := start; k < len(buf); k++ {
		first := heapArity*int(buf[k]) + 1
		for c := first; c < first+heapArity && c < len(h); c++ {
			if h[c].at <= now {
				buf = append(buf, int32(c))
			}
		}
	}
	return buf
}
