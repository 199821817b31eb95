package runtime

// queue is a FIFO ring buffer. It grows as needed, and when it has
// drained, shrinks back to what the drain before needed: a burst as large
// as the one before it (the instants of a million entries, each second)
// finds its buffer ready, while a single million-fire burst does not pin
// its memory. (Shrinking whenever the queue fell to a quarter full, each
// such instant grew and shrank it again: 2 MB allocated a second.)
type queue[T any] struct {
	buf        []T
	head, size int
	// peak is the most items held since the queue was last empty;
	// lastPeak, the most in the drain before.
	peak, lastPeak int
}

func (q *queue[T]) len() int { return q.size }

func (q *queue[T]) push(v T) {
	if q.size == len(q.buf) {
		q.resize(max(16, 2*len(q.buf)))
	}
	q.buf[(q.head+q.size)%len(q.buf)] = v
	q.size++
	q.peak = max(q.peak, q.size)
}

// pushAll appends vs, growing the buffer at most once.
func (q *queue[T]) pushAll(vs []T) {
	if need := q.size + len(vs); need > len(q.buf) {
		n := max(16, len(q.buf))
		for n < need {
			n *= 2
		}
		q.resize(n)
	}
	for _, v := range vs {
		q.buf[(q.head+q.size)%len(q.buf)] = v
		q.size++
	}
	q.peak = max(q.peak, q.size)
}

func (q *queue[T]) pop() (T, bool) {
	var zero T
	if q.size == 0 {
		return zero, false
	}
	v := q.buf[q.head]
	q.buf[q.head] = zero
	q.head = (q.head + 1) % len(q.buf)
	q.size--
	if q.size == 0 {
		q.drained()
	}
	return v, true
}

// drained shrinks the empty queue's buffer to twice what the drain before
// this one needed, if it is larger.
func (q *queue[T]) drained() {
	if keep := max(16, 2*q.lastPeak); len(q.buf) > keep {
		q.buf = make([]T, keep)
	}
	q.head = 0
	q.peak, q.lastPeak = 0, q.peak
}

func (q *queue[T]) resize(n int) {
	buf := make([]T, n)
	for i := range q.size {
		buf[i] = q.buf[(q.head+i)%len(q.buf)]
	}
	q.buf, q.head = buf, 0
}
