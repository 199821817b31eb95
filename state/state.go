package state

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sync"
	"syscall"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Errors that Open and the methods of DB wrap, for errors.Is. The command
// treats every Open error as a configuration problem (exit 2); these let it,
// and the tests, tell the cases apart.
var (
	// ErrCorrupt means the file is not a scheduler state file or is damaged.
	ErrCorrupt = errors.New("corrupt or not a scheduler state file")
	// ErrLocked means another process holds the file's lock.
	ErrLocked = errors.New("locked by another scheduler process")
	// ErrVersion means the file was written in a newer format than this
	// build reads.
	ErrVersion = errors.New("unsupported format version")
	// ErrClosed is returned by the methods of a closed DB.
	ErrClosed = errors.New("state store closed")
)

const (
	// formatVersion is the layout described in the package documentation.
	// Bump it for any change an older build would misread; Open refuses
	// newer versions rather than guessing.
	formatVersion = 1

	defaultHistory = 100

	// defaultLockTimeout bounds how long Open waits for the file lock. The
	// lock is only contended when a second scheduler runs on the same
	// state_dir, and that is a mistake to report, not to wait out.
	defaultLockTimeout = time.Second

	// maxGroup bounds how many writes share one commit, so that one
	// transaction stays small even in a burst of many thousand claims.
	maxGroup = 1000
)

// Options configures Open. The zero value is ready to use.
type Options struct {
	// History is how many runs are kept per job; older ones are dropped as
	// new ones are recorded. Zero means 100.
	History int

	// lockTimeout overrides defaultLockTimeout; tests shorten it.
	lockTimeout time.Duration
}

// DB is an open state store. Its methods are safe for concurrent use.
// Writes from concurrent goroutines are committed together (one fsync for
// many claims), so a burst of jobs firing at the same instant costs a few
// commits rather than one commit per job.
type DB struct {
	path    string
	bolt    *bbolt.DB
	file    *os.File // bbolt's file, kept to release the lock if bbolt is wedged
	history int

	// commitMu is held by the goroutine committing a group of writes.
	commitMu sync.Mutex

	mu       sync.Mutex // guards the fields below
	pending  []*write
	closed   bool
	broken   error // set once the file proved unusable; every call returns it
	panicked bool  // bbolt panicked: its internal locks may be held
}

// write is one queued write. apply may run more than once (when a group is
// retried without a failed member) and must derive all its results from tx.
type write struct {
	apply func(tx *bbolt.Tx) error
	err   error
	done  chan struct{}
}

// Open opens the store at path, creating it and its directory (mode 0700;
// the file gets 0600) if the file does not exist.
//
// An existing file is checked before use: a file that is not a bbolt
// database, is truncated or structurally damaged, carries no scheduler
// metadata (ErrCorrupt), or comes from a newer format (ErrVersion) is an
// error naming the path, and the file is not modified. Open never replaces
// such a file with an empty store: that would forget every claim and run
// occurrences again. The check reads the whole file, so Open takes time
// proportional to its size: about 70 ms for 1000 jobs with full histories
// (50 MiB), once per start.
//
// Only one process may have the store open; Open gives up after a second
// with ErrLocked. A crash during the first creation can leave a stray
// ".NAME.new-*" file next to path, which is safe to delete.
func Open(path string, opts Options) (*DB, error) {
	if path == "" {
		return nil, errors.New("state: empty state file path")
	}
	if opts.History < 0 {
		return nil, fmt.Errorf("state file %s: Options.History is %d, must not be negative", path, opts.History)
	}
	timeout := cmp.Or(opts.lockTimeout, defaultLockTimeout)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("state file %s: %w", path, err)
	}
	switch _, err := os.Stat(path); {
	case errors.Is(err, fs.ErrNotExist):
		if err := create(path, timeout); err != nil {
			return nil, fmt.Errorf("state file %s: create: %w", path, err)
		}
	case err != nil:
		return nil, fmt.Errorf("state file %s: %w", path, err)
	}
	db := &DB{path: path, history: cmp.Or(opts.History, defaultHistory)}
	if err := db.open(timeout); err != nil {
		return nil, err
	}
	if err := db.guard(db.verify); err != nil {
		db.closeBolt()
		return nil, err
	}
	return db, nil
}

// create builds an empty store under a temporary name and links it into
// place, so that path never names a half-initialised file. Losing the race
// to another process creating the same store is not an error: Open then
// opens that process's file (and meets its lock).
func create(path string, timeout time.Duration) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".new-*") // mode 0600
	if err != nil {
		return err
	}
	name := tmp.Name()
	defer os.Remove(name)
	if err := tmp.Close(); err != nil {
		return err
	}
	b, err := bbolt.Open(name, 0o600, &bbolt.Options{Timeout: timeout})
	if err != nil {
		return err
	}
	err = b.Update(func(tx *bbolt.Tx) error {
		meta, err := tx.CreateBucket([]byte(bucketMeta))
		if err != nil {
			return err
		}
		if err := meta.Put([]byte(keyVersion), encodeUvarint(formatVersion)); err != nil {
			return err
		}
		_, err = tx.CreateBucket([]byte(bucketJobs))
		return err
	})
	if err := errors.Join(err, b.Close()); err != nil {
		return err
	}
	if err := os.Link(name, path); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	if err := os.Remove(name); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes the new directory entry durable, so that a power loss right
// after the first start does not leave claims in a file without a name.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

// open opens the existing file with bbolt. bbolt can panic on a damaged
// file before it returns a handle; the file it opened is then closed here
// to release the lock.
func (db *DB) open(timeout time.Duration) error {
	opts := &bbolt.Options{
		Timeout: timeout,
		OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
			// Never create: if the file vanished since Open looked, that is
			// an error, not a fresh store.
			f, err := os.OpenFile(name, flag&^os.O_CREATE, perm)
			if err != nil {
				return nil, err
			}
			// bbolt would initialise an empty file as a new database, but
			// Open only ever links complete files into place: an empty one
			// lost its content.
			if info, err := f.Stat(); err != nil || info.Size() == 0 {
				f.Close()
				return nil, cmp.Or(err, db.corrupt(errors.New("empty file")))
			}
			db.file = f
			return f, nil
		},
	}
	err := db.guard(func() error {
		var err error
		db.bolt, err = bbolt.Open(db.path, 0o600, opts)
		return err
	})
	if err == nil {
		return nil
	}
	if db.bolt == nil && db.file != nil && db.panicked {
		// bbolt panicked past its own cleanup.
		unlock(db.file)
		db.file.Close()
	}
	var pathErr *fs.PathError
	var errno syscall.Errno
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return fmt.Errorf("state file %s is %w (gave up after %s)", db.path, ErrLocked, timeout)
	case errors.Is(err, ErrCorrupt):
		return err
	case db.file == nil, errors.As(err, &pathErr), errors.As(err, &errno):
		return fmt.Errorf("state file %s: %w", db.path, err) // the OS said no: not the file's content
	default:
		return db.corrupt(err)
	}
}

// corrupt wraps a sign of damage with ErrCorrupt, naming the file.
func (db *DB) corrupt(cause error) error {
	return fmt.Errorf("state file %s is %w: %w (move it aside to start with empty state, which forgets every claim)", db.path, ErrCorrupt, cause)
}

// guard runs fn, which touches bbolt, turning a panic, including a fault on
// the memory map (a page beyond the end of a truncated file), into an
// ErrCorrupt error, and marks the store unusable when that happens.
func (db *DB) guard(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = db.corrupt(fmt.Errorf("panic in bbolt: %v", p))
			db.mu.Lock()
			db.panicked = true
			if db.broken == nil {
				db.broken = err
			}
			db.mu.Unlock()
		}
	}()
	return fn()
}

// usable reports why the store cannot be used, or nil.
func (db *DB) usable() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	switch {
	case db.closed:
		return ErrClosed
	case db.broken != nil:
		return db.broken
	}
	return nil
}

// view runs a read-only transaction.
func (db *DB) view(fn func(tx *bbolt.Tx) error) error {
	if err := db.usable(); err != nil {
		return err
	}
	return db.guard(func() error { return db.bolt.View(fn) })
}

// update queues apply and waits until it is committed. The first writer to
// find the committer idle commits everything queued so far in one
// transaction (group commit); writers arriving meanwhile form the next
// group. An idle store thus commits a lone write at once, and a burst
// shares fsyncs. A queued write is not abandoned when its caller's context
// ends: a claim must be either made or not made when Claim returns, and a
// caller that left early could not know which.
func (db *DB) update(apply func(tx *bbolt.Tx) error) error {
	w := &write{apply: apply, done: make(chan struct{})}
	db.mu.Lock()
	switch {
	case db.closed:
		db.mu.Unlock()
		return ErrClosed
	case db.broken != nil:
		db.mu.Unlock()
		return db.broken
	}
	db.pending = append(db.pending, w)
	db.mu.Unlock()

	db.commitMu.Lock()
	select {
	case <-w.done: // another writer committed our write with its group
	default:
		db.mu.Lock()
		group := db.pending
		db.pending = nil
		if len(group) > maxGroup {
			db.pending = slices.Clone(group[maxGroup:])
			group = group[:maxGroup]
		}
		db.mu.Unlock()
		db.commit(group)
	}
	db.commitMu.Unlock()
	<-w.done
	return w.err
}

// commit applies group in one transaction. A write whose apply fails is
// answered alone and the rest retried without it, as bbolt's Batch does.
// A failed commit or any sign of damage makes the store unusable: after a
// failed fsync nobody knows what reached the disk, and reopening the file
// (restarting the scheduler) is the way to find out.
func (db *DB) commit(group []*write) {
	finish := func(ws []*write, err error) {
		for _, w := range ws {
			w.err = err
			close(w.done)
		}
	}
	if err := db.usable(); err != nil {
		finish(group, err)
		return
	}
	for len(group) > 0 {
		failed := -1
		err := db.guard(func() error {
			return db.bolt.Update(func(tx *bbolt.Tx) error {
				for i, w := range group {
					if err := w.apply(tx); err != nil {
						failed = i
						return err
					}
				}
				return nil
			})
		})
		switch {
		case err == nil:
			finish(group, nil)
			return
		case failed >= 0 && !errors.Is(err, ErrCorrupt):
			finish(group[failed:failed+1], err)
			group = slices.Delete(group, failed, failed+1)
		default:
			if !errors.Is(err, ErrCorrupt) {
				err = fmt.Errorf("state file %s: commit failed, store unusable until reopened: %w", db.path, err)
			}
			db.mu.Lock()
			if db.broken == nil {
				db.broken = err
			}
			db.mu.Unlock()
			finish(group, err)
			return
		}
	}
}

// Close waits for writes in progress, then closes the file and releases its
// lock. Writes queued but not yet started fail with ErrClosed.
func (db *DB) Close() error {
	db.commitMu.Lock()
	defer db.commitMu.Unlock()
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return ErrClosed
	}
	db.closed = true
	pending := db.pending
	db.pending = nil
	db.mu.Unlock()
	for _, w := range pending {
		w.err = ErrClosed
		close(w.done)
	}
	if err := db.closeBolt(); err != nil {
		return fmt.Errorf("state file %s: close: %w", db.path, err)
	}
	return nil
}

// closeBolt closes bbolt, or, if bbolt panicked earlier and may hold its
// internal locks, only the file, which releases the lock for the next
// process; the memory map then stays until the process exits.
func (db *DB) closeBolt() error {
	db.mu.Lock()
	panicked := db.panicked
	db.mu.Unlock()
	if panicked {
		return errors.Join(unlock(db.file), db.file.Close())
	}
	return db.bolt.Close()
}

// Path returns the path of the state file.
func (db *DB) Path() string { return db.path }
