package state

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

// BenchmarkClaimRecord is one run's bookkeeping from a single goroutine: a
// Claim and a Record, two commits, each fsync'd. It measures the disk's
// fsync latency more than the store.
func BenchmarkClaimRecord(b *testing.B) {
	db := openT(b, filepath.Join(b.TempDir(), "state.db"), Options{})
	ctx := b.Context()
	i := 0
	for b.Loop() {
		when := at(i)
		i++
		if ok, err := db.Claim(ctx, "job", when); err != nil || !ok {
			b.Fatal(ok, err)
		}
		if err := db.Record(ctx, "job", RunRecord{Scheduled: when, Start: when, End: when, Attempts: 1, Outcome: "ok"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClaimRecordParallel is a burst: many jobs firing together, each
// run claiming and recording from its own goroutine, as the loop's tasks
// do. Group commit shares each fsync among the writes queued meanwhile.
func BenchmarkClaimRecordParallel(b *testing.B) {
	db := openT(b, filepath.Join(b.TempDir(), "state.db"), Options{})
	ctx := b.Context()
	var jobs atomic.Int64
	b.SetParallelism(64)
	b.RunParallel(func(pb *testing.PB) {
		job := fmt.Sprint("job", jobs.Add(1))
		i := 0
		for pb.Next() {
			when := at(i)
			i++
			if ok, err := db.Claim(ctx, job, when); err != nil || !ok {
				b.Error(ok, err)
				return
			}
			if err := db.Record(ctx, job, RunRecord{Scheduled: when, Start: when, End: when, Attempts: 1, Outcome: "ok"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkOpen measures Open's full check of an existing file in which
// every job has a full history (100 runs with a 100-byte error each) and a
// full claim window.
func BenchmarkOpen(b *testing.B) {
	for _, jobs := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprint(jobs, "jobs"), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "state.db")
			db := openT(b, path, Options{})
			fill(b, db, jobs)
			if err := db.Close(); err != nil {
				b.Fatal(err)
			}
			info, err := os.Stat(path)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				db, err := Open(path, Options{})
				if err != nil {
					b.Fatal(err)
				}
				db.Close()
			}
			b.ReportMetric(float64(info.Size())/(1<<20), "file-MiB")
		})
	}
}

// fill writes jobs' full state in large transactions, bypassing the API's
// commit per call so that building a big file takes seconds, not hours.
func fill(b *testing.B, db *DB, jobs int) {
	b.Helper()
	errText := strings.Repeat("e", 100)
	for lo := 0; lo < jobs; lo += 100 {
		err := db.bolt.Update(func(tx *bbolt.Tx) error {
			for j := lo; j < min(lo+100, jobs); j++ {
				jb, err := db.createJob(tx, fmt.Sprint("job", j))
				if err != nil {
					return err
				}
				claims, err := jb.CreateBucket([]byte(bucketClaims))
				if err != nil {
					return err
				}
				runs, err := jb.CreateBucket([]byte(bucketRuns))
				if err != nil {
					return err
				}
				for i := range claimWindow {
					key, _ := encodeInstant(at(i))
					if err := claims.Put(key, []byte{}); err != nil {
						return err
					}
				}
				for i := range defaultHistory {
					key, _ := encodeInstant(at(i))
					seq, _ := runs.NextSequence()
					r := RunRecord{Scheduled: at(i), Start: at(i), End: at(i).Add(time.Second), Attempts: 1, Outcome: "failed", Error: errText}
					if err := runs.Put(binary.BigEndian.AppendUint64(key, seq), encodeRecord(r)); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
