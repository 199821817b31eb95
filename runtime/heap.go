package runtime

// The loop's entries sit in a 4-ary min-heap keyed by their next fire
// instant. Four children of 16 bytes share one cache line, so a sift touches
// about half as many lines as a binary heap would at a million entries.
//
// Every function here expects l.mu to be held.

const heapArity = 4

// The heap's slots are allocated a chunk at a time and never move. A slice
// grown by append copies itself some forty times on the way to a million
// slots, and faults in fresh pages for every copy: that was a third of the
// time to register a million entries.
const (
	heapChunkBits = 12 // 4,096 slots, 64 KiB
	heapChunk     = 1 << heapChunkBits
	// heapOffset places slot i at position i+3, so that the children of
	// slot i (4i+1 to 4i+4) sit at 4i+4 to 4i+7: one cache line of a
	// chunk, which is page-aligned, and never two chunks.
	heapOffset = heapArity - 1
)

// heapSlots holds the heap's items: slot i is at(i).
type heapSlots struct {
	chunks []*[heapChunk]heapItem
	n      int
}

// len returns the number of slots in use.
func (h *heapSlots) len() int { return h.n }

// at returns slot i, which must be below len.
func (h *heapSlots) at(i int) *heapItem {
	p := uint(i) + heapOffset
	return &h.chunks[p>>heapChunkBits][p&(heapChunk-1)]
}

// children returns the four slots of slot i's children, the line they
// share. Those at or past len are not in use.
func (h *heapSlots) children(i int) *[heapArity]heapItem {
	p := heapArity*uint(i) + heapArity // position of child 4i+1
	c := h.chunks[p>>heapChunkBits]
	p &= heapChunk - 1
	return (*[heapArity]heapItem)(c[p : p+heapArity])
}

// push appends item in a new last slot and returns its index.
func (h *heapSlots) push(item heapItem) int {
	i := h.n
	if (uint(i)+heapOffset)>>heapChunkBits == uint(len(h.chunks)) {
		h.chunks = append(h.chunks, new([heapChunk]heapItem))
	}
	h.n++
	*h.at(i) = item
	return i
}

// pop clears the last slot and takes it out of use. One chunk beyond the
// last in use is kept, so that a heap whose size hovers at a chunk's edge
// does not allocate a chunk on every other push.
func (h *heapSlots) pop() {
	h.n--
	*h.at(h.n) = heapItem{}
	if last := len(h.chunks) - 1; last > (h.n+heapOffset)>>heapChunkBits+1 {
		h.chunks[last] = nil
		h.chunks = h.chunks[:last]
	}
}

// heapItem is one scheduled entry. The instant is kept inline (Unix
// nanoseconds) so comparisons never dereference the entry, and the entry
// is its number in l.entries, so that the heap holds no pointer (see
// entries.go).
type heapItem struct {
	at    int64
	entry uint32
}

func (l *Loop) heapPush(e *Entry, at int64) {
	i := l.heap.push(heapItem{at: at, entry: e.num()})
	l.siftUp(i)
}

// heapRemove takes the entry at index i out of the heap.
func (l *Loop) heapRemove(i int) {
	h := &l.heap
	last := h.len() - 1
	l.entries.at(h.at(i).entry).index = -1
	if i != last {
		*h.at(i) = *h.at(last)
		l.entries.at(h.at(i).entry).index = int32(i)
	}
	h.pop()
	if i != last {
		l.siftDown(i)
		l.siftUp(i)
	}
}

func (l *Loop) siftUp(i int) {
	h := &l.heap
	slot := h.at(i)
	item := *slot
	for i > 0 {
		parent := (i - 1) / heapArity
		p := h.at(parent)
		if p.at <= item.at {
			break
		}
		*slot = *p
		l.entries.at(p.entry).index = int32(i)
		slot, i = p, parent
	}
	*slot = item
	l.entries.at(item.entry).index = int32(i)
}

func (l *Loop) siftDown(i int) {
	h := &l.heap
	n := h.len()
	slot := h.at(i)
	item := *slot
	for {
		first := heapArity*i + 1
		if first >= n {
			break
		}
		kids := h.children(i)
		least, leastAt := 0, kids[0].at
		for c := 1; c < min(heapArity, n-first); c++ {
			if at := kids[c].at; at < leastAt {
				least, leastAt = c, at
			}
		}
		if item.at <= leastAt {
			break
		}
		*slot = kids[least]
		l.entries.at(slot.entry).index = int32(i)
		slot, i = &kids[least], first+least
	}
	*slot = item
	l.entries.at(item.entry).index = int32(i)
}

// collectDue appends to buf the heap indices of every entry due at or before
// now, in ascending index order. Because a parent is never later than its
// children, the due entries form a subtree at the top of the heap, which a
// breadth-first walk visits in index order without touching the rest.
func (l *Loop) collectDue(now int64, buf []int32) []int32 {
	h := &l.heap
	if h.len() == 0 || h.at(0).at > now {
		return buf
	}
	start := len(buf)
	buf = append(buf, 0)
	for k := start; k < len(buf); k++ {
		i := int(buf[k])
		first := heapArity*i + 1
		if first >= h.len() {
			continue
		}
		kids := h.children(i)
		for c := range min(heapArity, h.len()-first) {
			if kids[c].at <= now {
				buf = append(buf, int32(first+c))
			}
		}
	}
	return buf
}
