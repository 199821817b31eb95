package runtime

import "unsafe"

// Entries are allocated in blocks, one schedule's entries side by side, and
// numbered by the loop's entryTable: the heap refers to an entry by its
// number rather than by pointer. A heap with no pointers in it is memory
// the garbage collector never scans, and its sifts move no pointers past
// write barriers: at a million entries, registering them took a sixth
// less time, most of it the collector's.

// entryBlock is the most entries allocated together: as many as fill one
// 4 KiB page with the 8-byte header Go gives a large object with pointers
// (one more would spill into the 4,864-byte size class).
const entryBlock = (4096 - 8) / int(unsafe.Sizeof(Entry{}))

// block is the header of a block of entries: what its entries share.
type block struct {
	sched *compiled // the schedule of every entry in the block
	num   uint32    // the block's number in the loop's entryTable
	// live counts the block's entries not removed: when none is left, and
	// none will be allocated from it, its number is free for another.
	// Guarded by Loop.mu.
	live int32
}

// entryTable numbers a loop's entries: entry n is slot n%entryBlock of
// block n/entryBlock. Guarded by Loop.mu.
type entryTable struct {
	blocks [][]Entry
	free   []uint32 // numbers of blocks dropped, to reuse
}

// at returns entry n.
func (t *entryTable) at(n uint32) *Entry {
	return &t.blocks[n/uint32(entryBlock)][n%uint32(entryBlock)]
}

// add numbers a new block of entries and returns its number.
func (t *entryTable) add(entries []Entry) uint32 {
	if k := len(t.free); k > 0 {
		num := t.free[k-1]
		t.free = t.free[:k-1]
		t.blocks[num] = entries
		return num
	}
	t.blocks = append(t.blocks, entries)
	return uint32(len(t.blocks) - 1)
}

// drop frees block num's number. Its entries stay allocated while
// referenced, but are no longer numbered: every one must be removed.
func (t *entryTable) drop(num uint32) {
	t.blocks[num] = nil
	t.free = append(t.free, num)
}

// num returns e's number in its loop's entryTable.
func (e *Entry) num() uint32 {
	return e.block.num*uint32(entryBlock) + uint32(e.slot)
}

// newEntry returns a zero Entry for a job on c, numbered. Entries on the
// same schedule fire at the same instants, and the loop and its workers
// touch each of them then: allocated side by side, a second's thousands
// of due entries share pages and cache lines instead of each costing a
// TLB and a cache miss (which is what bounded a million-entry loop, not
// CPU). A block stays allocated while any of its entries is referenced;
// blocks grow from one entry, so a schedule used by a single job costs no
// more than before. l.mu must be held.
func (l *Loop) newEntry(c *compiled) *Entry {
	if len(c.entries) == 0 {
		c.size = min(2*c.size+1, entryBlock) // 1, 3, 7, …: a schedule few jobs use stays small
		c.entries = make([]Entry, c.size)
		c.block = &block{sched: c, num: l.entries.add(c.entries)}
	}
	e := &c.entries[0]
	e.block, e.slot = c.block, uint8(c.size-len(c.entries))
	c.entries = c.entries[1:]
	c.block.live++
	return e
}

// forget takes a removed entry out of its block's count, and drops the
// block's number once it has no entry left and none to give. l.mu must be
// held.
func (l *Loop) forget(e *Entry) {
	b := e.block
	b.live--
	if b.live == 0 && (b != b.sched.block || len(b.sched.entries) == 0) {
		l.entries.drop(b.num)
	}
}
