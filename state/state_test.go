package state

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

// t0 is an arbitrary instant; tests step from it.
var t0 = time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)

func at(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }

// openT opens the store at path and closes it when the test ends (unless the
// test closed it).
func openT(t testing.TB, path string, opts Options) *DB {
	t.Helper()
	db, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

func claim(t testing.TB, db *DB, job string, when time.Time) bool {
	t.Helper()
	ok, err := db.Claim(context.Background(), job, when)
	if err != nil {
		t.Fatalf("Claim(%s, %s): %v", job, when, err)
	}
	return ok
}

func TestOpenFresh(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	path := filepath.Join(dir, "state.db")
	db := openT(t, path, Options{})
	ctx := t.Context()

	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", p, got, want)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "state.db" {
		t.Errorf("directory holds %v, want only state.db (no temporary file left)", entries)
	}
	if jobs, err := db.Jobs(ctx); err != nil || len(jobs) != 0 {
		t.Errorf("Jobs = %v, %v; want none", jobs, err)
	}
	if _, ok, err := db.Last(ctx, "x"); ok || err != nil {
		t.Errorf("Last of unknown job: ok=%v err=%v", ok, err)
	}
	if h, err := db.History(ctx, "x", 0); len(h) != 0 || err != nil {
		t.Errorf("History of unknown job = %v, %v", h, err)
	}
	if p, err := db.Paused(ctx, "x"); p || err != nil {
		t.Errorf("Paused of unknown job = %v, %v", p, err)
	}
	// Reading unknown jobs must not create state for them.
	if jobs, _ := db.Jobs(ctx); len(jobs) != 0 {
		t.Errorf("reads created jobs %v", jobs)
	}
}

func TestClaimAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	ctx := t.Context()
	db := openT(t, path, Options{})
	for i := range 3 {
		if !claim(t, db, "backup", at(i)) {
			t.Fatalf("first claim of %s refused", at(i))
		}
		if claim(t, db, "backup", at(i)) {
			t.Fatalf("second claim of %s accepted", at(i))
		}
	}
	if !claim(t, db, "other", at(0)) {
		t.Fatal("claims of one job block another job")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openT(t, path, Options{})
	for i := range 3 {
		if claim(t, db, "backup", at(i)) {
			t.Errorf("claim of %s accepted again after reopen", at(i))
		}
	}
	last, ok, err := db.Last(ctx, "backup")
	if err != nil || !ok || !last.Equal(at(2)) || last.Location() != time.UTC {
		t.Errorf("Last = %v, %v, %v; want %v in UTC", last, ok, err, at(2))
	}
	// Catch-up (run_all) claims the missed instants oldest first.
	for i := 3; i < 8; i++ {
		if !claim(t, db, "backup", at(i)) {
			t.Errorf("catch-up claim of %s refused", at(i))
		}
	}
	if jobs, err := db.Jobs(ctx); err != nil || !slices.Equal(jobs, []string{"backup", "other"}) {
		t.Errorf("Jobs = %v, %v", jobs, err)
	}
}

func TestClaimZoneIndependent(t *testing.T) {
	db := openT(t, filepath.Join(t.TempDir(), "state.db"), Options{})
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no zoneinfo:", err)
	}
	if !claim(t, db, "j", at(0).In(berlin)) {
		t.Fatal("claim refused")
	}
	if claim(t, db, "j", at(0)) {
		t.Error("the same instant in another zone was claimed again")
	}
	// time.Now carries a monotonic reading; it must not matter either.
	now := time.Now()
	if !claim(t, db, "j", now) || claim(t, db, "j", now.Round(0)) {
		t.Error("monotonic clock reading changed the occurrence")
	}
}

func TestClaimWindow(t *testing.T) {
	db := openT(t, filepath.Join(t.TempDir(), "state.db"), Options{})
	ctx := t.Context()

	// Out of order within the window: each instant is accepted once.
	for _, i := range []int{5, 3, 4, 1} {
		if !claim(t, db, "j", at(i)) {
			t.Errorf("out-of-order claim of %d refused", i)
		}
	}
	for _, i := range []int{1, 3, 4, 5} {
		if claim(t, db, "j", at(i)) {
			t.Errorf("repeated claim of %d accepted", i)
		}
	}
	if !claim(t, db, "j", at(2)) {
		t.Error("unclaimed instant inside the window refused")
	}

	// Push the window forward: instants that fell out of it are refused,
	// claimed or not, because the store can no longer tell.
	for i := 10; i < 10+claimWindow+5; i++ {
		if !claim(t, db, "j", at(i)) {
			t.Fatalf("claim %d refused", i)
		}
	}
	for _, i := range []int{0, 1, 12, 14} { // 0 never claimed; 14 is the floor
		if claim(t, db, "j", at(i)) {
			t.Errorf("claim of %d below the floor accepted", i)
		}
	}
	if !claim(t, db, "j", at(15).Add(time.Second)) {
		t.Error("unclaimed instant just above the floor refused")
	}
	if claim(t, db, "j", at(15)) {
		t.Error("claimed instant inside the window accepted")
	}
	last, _, err := db.Last(ctx, "j")
	if err != nil || !last.Equal(at(10+claimWindow+4)) {
		t.Errorf("Last = %v, %v", last, err)
	}
	n := 0
	err = db.view(func(tx *bbolt.Tx) error {
		n = tx.Bucket([]byte(bucketJobs)).Bucket([]byte("j")).Bucket([]byte(bucketClaims)).Stats().KeyN
		return nil
	})
	if err != nil || n != claimWindow {
		t.Errorf("%d claims kept, want %d (%v)", n, claimWindow, err)
	}
}

func TestClaimBefore1970(t *testing.T) {
	db := openT(t, filepath.Join(t.TempDir(), "state.db"), Options{})
	early, late := time.Unix(-100, 0), time.Unix(100, 0)
	if !claim(t, db, "j", late) || !claim(t, db, "j", early) {
		t.Fatal("claims refused")
	}
	last, _, err := db.Last(t.Context(), "j")
	if err != nil || !last.Equal(late) {
		t.Errorf("Last = %v, %v; want %v (keys must sort negative instants first)", last, err, late)
	}
}

func TestClaimConcurrent(t *testing.T) {
	db := openT(t, filepath.Join(t.TempDir(), "state.db"), Options{})
	const n = 64
	var won atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ok, err := db.Claim(t.Context(), "same", at(0))
			if err != nil {
				t.Error(err)
			}
			if ok {
				won.Add(1)
			}
			// Distinct occurrences in the same groups all succeed.
			ok, err = db.Claim(t.Context(), "distinct", at(i))
			if err != nil || !ok {
				t.Errorf("distinct claim %d: %v, %v", i, ok, err)
			}
		})
	}
	wg.Wait()
	if won.Load() != 1 {
		t.Errorf("%d goroutines claimed the same occurrence, want exactly 1", won.Load())
	}
	last, _, err := db.Last(t.Context(), "distinct")
	if err != nil || !last.Equal(at(n-1)) {
		t.Errorf("Last = %v, %v", last, err)
	}
}

// TestGroupCommit queues writes while a commit is in progress and checks
// that they share one transaction, and that a write that fails is answered
// alone while the rest of its group commits.
func TestGroupCommit(t *testing.T) {
	db := openT(t, filepath.Join(t.TempDir(), "state.db"), Options{})
	const n = 10
	errBad := errors.New("bad write")
	var mu sync.Mutex
	txs := map[int]bool{}

	db.commitMu.Lock() // a commit "in progress": everyone queues
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = db.update(func(tx *bbolt.Tx) error {
				if i == 3 {
					return errBad
				}
				jb, err := db.createJob(tx, fmt.Sprint("job", i))
				if err != nil {
					return err
				}
				tx.OnCommit(func() { mu.Lock(); txs[tx.ID()] = true; mu.Unlock() })
				return jb.Put([]byte(keyPaused), []byte{1})
			})
		})
	}
	for {
		db.mu.Lock()
		queued := len(db.pending)
		db.mu.Unlock()
		if queued == n {
			break
		}
		time.Sleep(time.Millisecond)
	}
	db.commitMu.Unlock()
	wg.Wait()

	for i, err := range errs {
		if (i == 3) != errors.Is(err, errBad) || (i != 3 && err != nil) {
			t.Errorf("write %d: %v", i, err)
		}
		paused, err := db.Paused(t.Context(), fmt.Sprint("job", i))
		if err != nil || paused != (i != 3) {
			t.Errorf("job%d paused = %v, %v", i, paused, err)
		}
	}
	if len(txs) != 1 {
		t.Errorf("%d successful writes committed in %d transactions, want 1", n-1, len(txs))
	}
}

func TestHistory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	ctx := t.Context()
	db := openT(t, path, Options{History: 5})
	berlin := time.FixedZone("CEST", 2*3600)
	for i := range 8 {
		r := RunRecord{
			Scheduled: at(i).In(berlin),
			Start:     at(i).Add(time.Second).In(berlin),
			End:       at(i).Add(3 * time.Second),
			Attempts:  i%3 + 1,
			Outcome:   "ok",
		}
		if i%2 == 1 {
			r.Outcome, r.Error = "failed", fmt.Sprintf("exit status %d", i)
		}
		if err := db.Record(ctx, "j", r); err != nil {
			t.Fatal(err)
		}
	}
	// A skipped run has no start or end.
	if err := db.Record(ctx, "j", RunRecord{Scheduled: at(8), Outcome: "skipped"}); err != nil {
		t.Fatal(err)
	}

	h, err := db.History(ctx, "j", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 5 {
		t.Fatalf("History kept %d runs, want 5", len(h))
	}
	for k, r := range h {
		i := 8 - k
		if !r.Scheduled.Equal(at(i)) || r.Scheduled.Location() != time.UTC {
			t.Errorf("run %d: scheduled %v, want %v in UTC (newest first)", k, r.Scheduled, at(i))
		}
	}
	if r := h[0]; !r.Start.IsZero() || !r.End.IsZero() || r.Outcome != "skipped" || r.Attempts != 0 {
		t.Errorf("skipped run = %+v", r)
	}
	want := RunRecord{Scheduled: at(7), Start: at(7).Add(time.Second), End: at(7).Add(3 * time.Second),
		Attempts: 2, Outcome: "failed", Error: "exit status 7"}
	if r := h[1]; r != want {
		t.Errorf("run = %+v\nwant %+v", r, want)
	}
	if h2, err := db.History(ctx, "j", 2); err != nil || len(h2) != 2 || h2[1] != h[1] {
		t.Errorf("History(limit 2) = %v, %v", h2, err)
	}

	// A run recorded late sorts by its scheduled instant; one older than
	// everything kept is dropped at once.
	if err := db.Record(ctx, "j", RunRecord{Scheduled: at(6).Add(time.Second), Outcome: "ok"}); err != nil {
		t.Fatal(err)
	}
	if err := db.Record(ctx, "j", RunRecord{Scheduled: at(0), Outcome: "ok"}); err != nil {
		t.Fatal(err)
	}
	h, _ = db.History(ctx, "j", 0)
	var got []time.Time
	for _, r := range h {
		got = append(got, r.Scheduled)
	}
	wantTimes := []time.Time{at(8), at(7), at(6).Add(time.Second), at(6), at(5)}
	if !slices.EqualFunc(got, wantTimes, time.Time.Equal) {
		t.Errorf("order = %v\nwant %v", got, wantTimes)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// A smaller History takes effect at the next Record.
	db = openT(t, path, Options{History: 2})
	if h, _ := db.History(ctx, "j", 0); len(h) != 5 {
		t.Errorf("reopen kept %d runs, want 5 until the next Record", len(h))
	}
	if err := db.Record(ctx, "j", RunRecord{Scheduled: at(9), Outcome: "timeout", Error: "timed out after 1m"}); err != nil {
		t.Fatal(err)
	}
	if h, _ := db.History(ctx, "j", 0); len(h) != 2 || !h[0].Scheduled.Equal(at(9)) || !h[1].Scheduled.Equal(at(8)) {
		t.Errorf("History after shrinking = %+v", h)
	}
}

func TestRecordErrorTruncated(t *testing.T) {
	db := openT(t, filepath.Join(t.TempDir(), "state.db"), Options{})
	long := strings.Repeat("é", maxErrorLen) // 2 bytes each: the cut must not split one
	if err := db.Record(t.Context(), "j", RunRecord{Scheduled: at(0), Outcome: "failed", Error: long}); err != nil {
		t.Fatal(err)
	}
	h, err := db.History(t.Context(), "j", 1)
	if err != nil || len(h) != 1 {
		t.Fatal(h, err)
	}
	e := h[0].Error
	if len(e) > maxErrorLen || !strings.HasSuffix(e, "[truncated]") || !strings.HasPrefix(long, strings.TrimSuffix(e, "…[truncated]")) {
		t.Errorf("truncated error of %d bytes: ...%q", len(e), e[max(0, len(e)-40):])
	}
}

func TestPausedPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	ctx := t.Context()
	db := openT(t, path, Options{})
	if err := db.SetPaused(ctx, "a", true); err != nil {
		t.Fatal(err)
	}
	if err := db.SetPaused(ctx, "b", false); err != nil { // unpausing a job without state
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openT(t, path, Options{})
	for job, want := range map[string]bool{"a": true, "b": false} {
		if got, err := db.Paused(ctx, job); err != nil || got != want {
			t.Errorf("Paused(%s) = %v, %v; want %v", job, got, err, want)
		}
	}
	if jobs, _ := db.Jobs(ctx); !slices.Equal(jobs, []string{"a"}) {
		t.Errorf("Jobs = %v: unpausing must not create state", jobs)
	}
	if err := db.SetPaused(ctx, "a", false); err != nil {
		t.Fatal(err)
	}
	if got, err := db.Paused(ctx, "a"); err != nil || got {
		t.Errorf("Paused after unpause = %v, %v", got, err)
	}
}

func TestForget(t *testing.T) {
	db := openT(t, filepath.Join(t.TempDir(), "state.db"), Options{})
	ctx := t.Context()
	claim(t, db, "gone", at(0))
	claim(t, db, "kept", at(0))
	if err := db.Record(ctx, "gone", RunRecord{Scheduled: at(0), Outcome: "ok"}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetPaused(ctx, "gone", true); err != nil {
		t.Fatal(err)
	}
	if err := db.Forget(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	if err := db.Forget(ctx, "never-existed"); err != nil {
		t.Errorf("Forget of a job without state: %v", err)
	}
	if jobs, _ := db.Jobs(ctx); !slices.Equal(jobs, []string{"kept"}) {
		t.Errorf("Jobs = %v", jobs)
	}
	if h, _ := db.History(ctx, "gone", 0); len(h) != 0 {
		t.Errorf("history survived Forget: %v", h)
	}
	if p, _ := db.Paused(ctx, "gone"); p {
		t.Error("paused flag survived Forget")
	}
	if !claim(t, db, "gone", at(0)) {
		t.Error("a forgotten job's occurrence cannot be claimed anew")
	}
}

func TestBadArguments(t *testing.T) {
	db := openT(t, filepath.Join(t.TempDir(), "state.db"), Options{})
	ctx := t.Context()
	tooLong := strings.Repeat("x", bbolt.MaxKeySize+1)
	for name, err := range map[string]error{
		"empty job":     func() error { _, err := db.Claim(ctx, "", at(0)); return err }(),
		"long job":      func() error { _, err := db.Claim(ctx, tooLong, at(0)); return err }(),
		"zero instant":  func() error { _, err := db.Claim(ctx, "j", time.Time{}); return err }(),
		"year 3000":     func() error { _, err := db.Claim(ctx, "j", time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)); return err }(),
		"bad outcome":   db.Record(ctx, "j", RunRecord{Scheduled: at(0), Outcome: "great"}),
		"no outcome":    db.Record(ctx, "j", RunRecord{Scheduled: at(0)}),
		"attempts":      db.Record(ctx, "j", RunRecord{Scheduled: at(0), Outcome: "ok", Attempts: -1}),
		"record zero":   db.Record(ctx, "j", RunRecord{Outcome: "ok"}),
		"paused empty":  db.SetPaused(ctx, "", true),
		"history empty": func() error { _, err := db.History(ctx, "", 0); return err }(),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		} else if !strings.HasPrefix(err.Error(), "state: job ") {
			t.Errorf("%s: error %q does not name the job", name, err)
		}
	}
	if jobs, _ := db.Jobs(ctx); len(jobs) != 0 {
		t.Errorf("rejected calls created state: %v", jobs)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "x.db"), Options{History: -1}); err == nil {
		t.Error("negative History accepted")
	}
}

func TestCanceledContext(t *testing.T) {
	db := openT(t, filepath.Join(t.TempDir(), "state.db"), Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if ok, err := db.Claim(ctx, "j", at(0)); ok || !errors.Is(err, context.Canceled) {
		t.Errorf("Claim with canceled context = %v, %v", ok, err)
	}
	if !claim(t, db, "j", at(0)) {
		t.Error("a canceled Claim claimed the occurrence")
	}
}

func TestClosed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Claim(t.Context(), "j", at(0)); !errors.Is(err, ErrClosed) {
		t.Errorf("Claim after Close: %v", err)
	}
	if _, _, err := db.Last(t.Context(), "j"); !errors.Is(err, ErrClosed) {
		t.Errorf("Last after Close: %v", err)
	}
	if err := db.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close: %v", err)
	}
	// Close released the lock.
	db2, err := Open(path, Options{lockTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	db2.Close()
}
