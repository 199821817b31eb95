package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"go.etcd.io/bbolt"
)

// Bucket and key names of the layout in the package documentation.
const (
	bucketMeta   = "meta"
	keyVersion   = "version"
	bucketJobs   = "jobs"
	bucketClaims = "claims"
	bucketRuns   = "runs"
	keyFloor     = "floor"
	keyPaused    = "paused"
)

const (
	// claimWindow is how many claimed instants each job remembers exactly.
	// It only needs to cover claims made out of order (overlapping runs
	// completing out of order in the at-least-once mode); in order, the
	// floor alone refuses every repeat. 128 instants cost about 3 KiB a job.
	claimWindow = 128

	// maxErrorLen bounds RunRecord.Error as stored: an exec job's error may
	// carry a whole stderr, and the history is for reading, not archiving.
	maxErrorLen = 4096

	instantLen = 8
	runKeyLen  = instantLen + 8

	recordEncoding = 1 // first byte of an encoded RunRecord
)

// RunRecord is the outcome of one run of a job, as kept in its history.
type RunRecord struct {
	// Scheduled is the occurrence's instant; Start and End bracket the run
	// (all attempts), and may be zero for a run that never started. History
	// returns them in UTC.
	Scheduled, Start, End time.Time
	// Attempts counts the attempts made, retries included.
	Attempts int
	// Outcome is one of ok, failed, timeout, panic, canceled, skipped.
	Outcome string
	// Error is the last attempt's error text, empty on success. The store
	// keeps at most 4 KiB of it.
	Error string
}

// validOutcome reports whether s is one of the documented
// RunRecord.Outcome values.
func validOutcome(s string) bool {
	switch s {
	case "ok", "failed", "timeout", "panic", "canceled", "skipped":
		return true
	}
	return false
}

// inNanoRange reports whether t has an int64 Unix nanosecond value.
func inNanoRange(t time.Time) bool {
	return !t.Before(time.Unix(0, math.MinInt64)) && !t.After(time.Unix(0, math.MaxInt64))
}

// encodeInstant returns t's key: Unix nanoseconds, big-endian, sign bit
// flipped so that byte order is time order for negative values too.
func encodeInstant(t time.Time) ([]byte, error) {
	if t.IsZero() {
		return nil, errors.New("zero instant")
	}
	if !inNanoRange(t) {
		return nil, fmt.Errorf("instant %s outside the years 1678 to 2262", t.Format(time.RFC3339))
	}
	return binary.BigEndian.AppendUint64(nil, uint64(t.UnixNano())^(1<<63)), nil
}

func decodeInstant(b []byte) (time.Time, error) {
	if len(b) != instantLen {
		return time.Time{}, fmt.Errorf("instant key of %d bytes, want %d", len(b), instantLen)
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(b)^(1<<63))).UTC(), nil
}

func encodeUvarint(v uint64) []byte {
	return binary.AppendUvarint(nil, v)
}

// validRecord reports what is wrong with r, or nil.
func validRecord(r RunRecord) error {
	switch {
	case r.Attempts < 0:
		return fmt.Errorf("attempts %d is negative", r.Attempts)
	case !validOutcome(r.Outcome):
		return fmt.Errorf("outcome %q is not one of ok, failed, timeout, panic, canceled, skipped", r.Outcome)
	}
	for _, t := range []time.Time{r.Start, r.End} {
		if !t.IsZero() && !inNanoRange(t) {
			return fmt.Errorf("time %s outside the years 1678 to 2262", t.Format(time.RFC3339))
		}
	}
	return nil
}

// encodeRecord encodes everything but Scheduled, which is in the key:
// encoding byte, flags (1: Start set, 2: End set), the set times as varint
// Unix nanoseconds, attempts, then outcome and error, each length-prefixed.
func encodeRecord(r RunRecord) []byte {
	errText := truncateUTF8(r.Error, maxErrorLen)
	b := make([]byte, 0, 2+3*binary.MaxVarintLen64+2+len(r.Outcome)+len(errText))
	var flags byte
	if !r.Start.IsZero() {
		flags |= 1
	}
	if !r.End.IsZero() {
		flags |= 2
	}
	b = append(b, recordEncoding, flags)
	if flags&1 != 0 {
		b = binary.AppendVarint(b, r.Start.UnixNano())
	}
	if flags&2 != 0 {
		b = binary.AppendVarint(b, r.End.UnixNano())
	}
	b = binary.AppendUvarint(b, uint64(r.Attempts))
	b = appendString(b, r.Outcome)
	return appendString(b, errText)
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…[truncated]"
	cut := n - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

// recordDecoder reads the fields of an encoded record in order; the first
// error sticks.
type recordDecoder struct {
	b   []byte
	err error
}

func (d *recordDecoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("run record: bad %s", what)
	}
}

func (d *recordDecoder) readByte(what string) byte {
	if d.err != nil || len(d.b) == 0 {
		d.fail(what)
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *recordDecoder) readVarint(what string) int64 {
	v, n := binary.Varint(d.b)
	if d.err != nil || n <= 0 {
		d.fail(what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *recordDecoder) readUvarint(what string) uint64 {
	v, n := binary.Uvarint(d.b)
	if d.err != nil || n <= 0 {
		d.fail(what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *recordDecoder) readString(what string) string {
	n := d.readUvarint(what + " length")
	if d.err != nil || n > uint64(len(d.b)) {
		d.fail(what)
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

// decodeRun decodes a runs bucket entry.
func decodeRun(k, v []byte) (RunRecord, error) {
	var r RunRecord
	if len(k) != runKeyLen {
		return r, fmt.Errorf("run key of %d bytes, want %d", len(k), runKeyLen)
	}
	var err error
	if r.Scheduled, err = decodeInstant(k[:instantLen]); err != nil {
		return r, err
	}
	d := recordDecoder{b: v}
	if enc := d.readByte("encoding"); d.err == nil && enc != recordEncoding {
		return r, fmt.Errorf("run record: unknown encoding %d", enc)
	}
	flags := d.readByte("flags")
	if flags&^3 != 0 {
		d.fail("flags")
	}
	if flags&1 != 0 {
		r.Start = time.Unix(0, d.readVarint("start")).UTC()
	}
	if flags&2 != 0 {
		r.End = time.Unix(0, d.readVarint("end")).UTC()
	}
	attempts := d.readUvarint("attempts")
	if attempts > math.MaxInt32 {
		d.fail("attempts")
	}
	r.Attempts = int(attempts)
	r.Outcome = d.readString("outcome")
	r.Error = d.readString("error")
	if d.err == nil && len(d.b) != 0 {
		d.fail("length")
	}
	if d.err == nil && !validOutcome(r.Outcome) {
		d.fail("outcome")
	}
	return r, d.err
}

// verifyJob checks the structure of one job's bucket: the keys Open
// expects, each of the right shape.
func verifyJob(jb *bbolt.Bucket) error {
	return jb.ForEach(func(k, v []byte) error {
		switch string(k) {
		case bucketClaims:
			b := jb.Bucket(k)
			if b == nil {
				return errors.New("claims is not a bucket")
			}
			return b.ForEach(func(k, v []byte) error {
				// v is nil for a nested bucket, empty for a claim.
				if len(k) != instantLen || v == nil || len(v) != 0 {
					return fmt.Errorf("claim key of %d bytes with value %x", len(k), v)
				}
				return nil
			})
		case bucketRuns:
			b := jb.Bucket(k)
			if b == nil {
				return errors.New("runs is not a bucket")
			}
			return b.ForEach(func(k, v []byte) error {
				_, err := decodeRun(k, v)
				return err
			})
		case keyFloor:
			_, err := decodeInstant(v)
			return err
		case keyPaused:
			if len(v) != 1 || v[0] != 1 {
				return errors.New("bad paused flag")
			}
			return nil
		}
		return fmt.Errorf("unknown key %q", k)
	})
}
