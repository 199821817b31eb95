package runtime

// queue is a FIFO ring buffer. It grows as needed and shrinks back once a
// burst has drained, so a million-fire burst does not pin its memory.
type queue[T any] struct {
	buf        []T
	head, size int
}

func (q *queue[T]) len() int { return q.size }

func (q *queue[T]) push(v T) {
	if q.size == len(q.buf) {
		q.resize(max(16, 2*len(q.buf)))
	}
	q.buf[(q.head+q.size)%len(q.buf)] = v
	q.size++
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
	if len(q.buf) > 1024 && q.size < len(q.buf)/4 {
		q.resize(len(q.buf) / 2)
	}
	return v, true
}

func (q *queue[T]) resize(n int) {
	buf := make([]T, n)
	for i := range q.size {
		buf[i] = q.buf[(q.head+i)%len(q.buf)]
	}
	q.buf, q.head = buf, 0
}
