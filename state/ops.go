package state

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Claim records that the occurrence of job at scheduled is taken care of:
// true if this call claimed it, false if it had been claimed before, by this
// or an earlier process. A claim is on disk (fsync'd) when Claim returns
// true.
//
// In the at-most-once mode the loop claims before it starts a run and
// starts it only on true: after kill -9 a claimed occurrence is never
// started again, even if its run was cut short (its outcome is then missing
// from the history). In the at-least-once mode the loop claims after the
// run succeeded: after kill -9 a run that finished but was not yet claimed
// runs again, and a claimed one never does.
//
// Each job remembers its newest 128 claimed instants exactly, so claims
// made out of order are each accepted once; an instant older than all of
// them is refused, claimed or not (see the package documentation for why).
//
// When ctx has ended before the claim starts, Claim returns its error and
// claims nothing; once started, the claim completes regardless of ctx, so
// that the answer always says whether the occurrence is claimed.
func (db *DB) Claim(ctx context.Context, job string, scheduled time.Time) (bool, error) {
	key, err := checkCall(ctx, job, scheduled)
	if err != nil {
		return false, fmt.Errorf("state: job %q: claim: %w", job, err)
	}
	var claimed bool
	err = db.update(func(tx *bbolt.Tx) error {
		claimed = false
		jb, err := db.createJob(tx, job)
		if err != nil {
			return err
		}
		claims, err := jb.CreateBucketIfNotExists([]byte(bucketClaims))
		if err != nil {
			return err
		}
		if floor := jb.Get([]byte(keyFloor)); floor != nil && bytes.Compare(key, floor) <= 0 {
			return nil
		}
		if k, _ := claims.Cursor().Seek(key); bytes.Equal(k, key) {
			return nil
		}
		if err := claims.Put(key, []byte{}); err != nil {
			return err
		}
		claimed = true
		dropped, err := trimOldest(claims, claimWindow)
		if err != nil || dropped == nil {
			return err
		}
		return jb.Put([]byte(keyFloor), dropped)
	})
	if err != nil {
		return false, fmt.Errorf("state: job %q: claim %s: %w", job, scheduled.UTC().Format(time.RFC3339Nano), err)
	}
	return claimed, nil
}

// Last returns the latest instant claimed for job, in UTC; ok is false if
// none was. It is where the loop resumes after a restart.
func (db *DB) Last(ctx context.Context, job string) (last time.Time, ok bool, err error) {
	if err := checkJob(ctx, job); err != nil {
		return time.Time{}, false, fmt.Errorf("state: job %q: last claim: %w", job, err)
	}
	err = db.view(func(tx *bbolt.Tx) error {
		jb, err := db.getJob(tx, job)
		if jb == nil || err != nil {
			return err
		}
		claims := jb.Bucket([]byte(bucketClaims))
		if claims == nil {
			return nil
		}
		k, _ := claims.Cursor().Last()
		if k == nil {
			return nil
		}
		if last, err = decodeInstant(k); err != nil {
			return db.corrupt(err)
		}
		ok = true
		return nil
	})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("state: job %q: last claim: %w", job, err)
	}
	return last, ok, nil
}

// Record adds r to job's history, dropping the oldest runs beyond
// Options.History. Runs are ordered by r.Scheduled, then by the order they
// were recorded, so a run recorded again (an at-least-once rerun after a
// crash) shows up as two runs of the same occurrence. Record does not claim
// anything.
func (db *DB) Record(ctx context.Context, job string, r RunRecord) error {
	key, err := checkCall(ctx, job, r.Scheduled)
	if err == nil {
		err = validRecord(r)
	}
	if err != nil {
		return fmt.Errorf("state: job %q: record run: %w", job, err)
	}
	val := encodeRecord(r)
	err = db.update(func(tx *bbolt.Tx) error {
		jb, err := db.createJob(tx, job)
		if err != nil {
			return err
		}
		runs, err := jb.CreateBucketIfNotExists([]byte(bucketRuns))
		if err != nil {
			return err
		}
		seq, err := runs.NextSequence()
		if err != nil {
			return err
		}
		if err := runs.Put(binary.BigEndian.AppendUint64(key, seq), val); err != nil {
			return err
		}
		_, err = trimOldest(runs, db.history)
		return err
	})
	if err != nil {
		return fmt.Errorf("state: job %q: record run %s: %w", job, r.Scheduled.UTC().Format(time.RFC3339Nano), err)
	}
	return nil
}

// History returns up to limit of job's recorded runs, newest first, with
// times in UTC; limit <= 0 returns all that are kept. A job without state
// has an empty history.
func (db *DB) History(ctx context.Context, job string, limit int) ([]RunRecord, error) {
	if err := checkJob(ctx, job); err != nil {
		return nil, fmt.Errorf("state: job %q: history: %w", job, err)
	}
	var out []RunRecord
	err := db.view(func(tx *bbolt.Tx) error {
		jb, err := db.getJob(tx, job)
		if jb == nil || err != nil {
			return err
		}
		runs := jb.Bucket([]byte(bucketRuns))
		if runs == nil {
			return nil
		}
		c := runs.Cursor()
		for k, v := c.Last(); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Prev() {
			r, err := decodeRun(k, v)
			if err != nil {
				return db.corrupt(err)
			}
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("state: job %q: history: %w", job, err)
	}
	return out, nil
}

// SetPaused sets or clears job's paused flag, which survives restarts.
func (db *DB) SetPaused(ctx context.Context, job string, paused bool) error {
	if err := checkJob(ctx, job); err != nil {
		return fmt.Errorf("state: job %q: set paused: %w", job, err)
	}
	err := db.update(func(tx *bbolt.Tx) error {
		if !paused {
			jb, err := db.getJob(tx, job)
			if jb == nil || err != nil {
				return err
			}
			return jb.Delete([]byte(keyPaused))
		}
		jb, err := db.createJob(tx, job)
		if err != nil {
			return err
		}
		return jb.Put([]byte(keyPaused), []byte{1})
	})
	if err != nil {
		return fmt.Errorf("state: job %q: set paused: %w", job, err)
	}
	return nil
}

// Paused reports whether job is paused; a job without state is not.
func (db *DB) Paused(ctx context.Context, job string) (bool, error) {
	if err := checkJob(ctx, job); err != nil {
		return false, fmt.Errorf("state: job %q: paused: %w", job, err)
	}
	var paused bool
	err := db.view(func(tx *bbolt.Tx) error {
		jb, err := db.getJob(tx, job)
		if jb == nil || err != nil {
			return err
		}
		switch v := jb.Get([]byte(keyPaused)); {
		case v == nil:
		case len(v) == 1 && v[0] == 1:
			paused = true
		default:
			return db.corrupt(errors.New("bad paused flag"))
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("state: job %q: paused: %w", job, err)
	}
	return paused, nil
}

// Jobs returns the names of the jobs that have state, in byte order. It
// includes jobs no longer in the configuration: see Forget.
func (db *DB) Jobs(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("state: jobs: %w", err)
	}
	var names []string
	err := db.view(func(tx *bbolt.Tx) error {
		jobs := tx.Bucket([]byte(bucketJobs))
		if jobs == nil {
			return db.corrupt(errors.New("no jobs bucket"))
		}
		return jobs.ForEachBucket(func(k []byte) error {
			names = append(names, string(k))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("state: jobs: %w", err)
	}
	return names, nil
}

// Forget deletes all of job's state: claims, history and paused flag. It is
// for an operator retiring a job for good; nothing calls it when a job
// merely disappears from the configuration, because a job renamed back,
// commented out for a while or lost to a bad edit would then come back
// without its claims and run occurrences again. After Forget, any
// occurrence of job may be claimed anew. Forgetting a job without state is
// not an error.
func (db *DB) Forget(ctx context.Context, job string) error {
	if err := checkJob(ctx, job); err != nil {
		return fmt.Errorf("state: job %q: forget: %w", job, err)
	}
	err := db.update(func(tx *bbolt.Tx) error {
		jobs := tx.Bucket([]byte(bucketJobs))
		if jobs == nil {
			return db.corrupt(errors.New("no jobs bucket"))
		}
		if err := jobs.DeleteBucket([]byte(job)); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("state: job %q: forget: %w", job, err)
	}
	return nil
}

// checkJob validates what every call about one job needs.
func checkJob(ctx context.Context, job string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	switch {
	case job == "":
		return errors.New("empty job name")
	case len(job) > bbolt.MaxKeySize:
		return fmt.Errorf("job name of %d bytes, longer than %d", len(job), bbolt.MaxKeySize)
	}
	return nil
}

// checkCall validates a call about an occurrence and returns its key.
func checkCall(ctx context.Context, job string, scheduled time.Time) ([]byte, error) {
	if err := checkJob(ctx, job); err != nil {
		return nil, err
	}
	key, err := encodeInstant(scheduled)
	if err != nil {
		return nil, fmt.Errorf("scheduled: %w", err)
	}
	return key, nil
}

// getJob returns job's bucket, nil if it has no state.
func (db *DB) getJob(tx *bbolt.Tx, job string) (*bbolt.Bucket, error) {
	jobs := tx.Bucket([]byte(bucketJobs))
	if jobs == nil {
		return nil, db.corrupt(errors.New("no jobs bucket"))
	}
	return jobs.Bucket([]byte(job)), nil
}

func (db *DB) createJob(tx *bbolt.Tx, job string) (*bbolt.Bucket, error) {
	jobs := tx.Bucket([]byte(bucketJobs))
	if jobs == nil {
		return nil, db.corrupt(errors.New("no jobs bucket"))
	}
	return jobs.CreateBucketIfNotExists([]byte(job))
}

// trimOldest deletes b's oldest keys beyond the newest keep and returns the
// newest key deleted, nil if none was. It walks keep keys, which is cheap
// next to the commit's fsync.
func trimOldest(b *bbolt.Bucket, keep int) ([]byte, error) {
	c := b.Cursor()
	k, _ := c.Last()
	for i := 1; i < keep && k != nil; i++ {
		k, _ = c.Prev()
	}
	if k == nil {
		return nil, nil
	}
	if k, _ = c.Prev(); k == nil {
		return nil, nil
	}
	newest := bytes.Clone(k)
	for k, _ := c.First(); k != nil && bytes.Compare(k, newest) <= 0; k, _ = c.First() {
		if err := c.Delete(); err != nil {
			return nil, err
		}
	}
	return newest, nil
}

// verify is Open's check of an existing file. It first reads what bbolt
// cannot check (the file's length, our metadata and every value's shape)
// in this goroutine, where guard turns faults into errors, and only then
// runs bbolt's structural check, which runs in a goroutine of its own and
// so must only meet pages already known to be readable.
func (db *DB) verify() error {
	info, err := db.file.Stat()
	if err != nil {
		return fmt.Errorf("state file %s: %w", db.path, err)
	}
	return db.bolt.View(func(tx *bbolt.Tx) error {
		if need := tx.Size(); need > info.Size() {
			return db.corrupt(fmt.Errorf("truncated: %d bytes, the database needs %d", info.Size(), need))
		}
		meta := tx.Bucket([]byte(bucketMeta))
		if meta == nil {
			return db.corrupt(errors.New("no meta bucket"))
		}
		err := meta.ForEach(func(k, v []byte) error {
			if string(k) != keyVersion || v == nil {
				return fmt.Errorf("unknown meta key %q", k)
			}
			return nil
		})
		if err != nil {
			return db.corrupt(err)
		}
		raw := meta.Get([]byte(keyVersion))
		version, n := binary.Uvarint(raw)
		if n <= 0 || n != len(raw) || version == 0 {
			return db.corrupt(fmt.Errorf("bad format version %x", raw))
		}
		if version > formatVersion {
			return fmt.Errorf("state file %s: %w %d (this scheduler reads format %d; was the file written by a newer scheduler?)", db.path, ErrVersion, version, formatVersion)
		}
		err = tx.ForEach(func(name []byte, _ *bbolt.Bucket) error {
			if s := string(name); s != bucketMeta && s != bucketJobs {
				return fmt.Errorf("unknown bucket %q", name)
			}
			return nil
		})
		if err != nil {
			return db.corrupt(err)
		}
		jobs := tx.Bucket([]byte(bucketJobs))
		if jobs == nil {
			return db.corrupt(errors.New("no jobs bucket"))
		}
		err = jobs.ForEach(func(name, v []byte) error {
			jb := jobs.Bucket(name)
			if jb == nil {
				return fmt.Errorf("job %q: not a bucket", name)
			}
			if err := verifyJob(jb); err != nil {
				return fmt.Errorf("job %q: %w", name, err)
			}
			return nil
		})
		if err != nil {
			return db.corrupt(err)
		}
		var errs []error
		for err := range tx.Check() { // drain: Check's goroutine blocks on each send
			if len(errs) < 5 {
				errs = append(errs, err)
			}
		}
		if len(errs) > 0 {
			return db.corrupt(errors.Join(errs...))
		}
		return nil
	})
}
