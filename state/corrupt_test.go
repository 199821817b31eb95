package state

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

// populated creates a store with enough state to span many pages and
// returns its path. Jobs write concurrently, which group commit turns into
// fewer fsyncs.
func populated(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	db := openT(t, path, Options{})
	var wg sync.WaitGroup
	for j := range 4 {
		wg.Go(func() {
			job := fmt.Sprint("job", j)
			for i := range 40 {
				if ok, err := db.Claim(t.Context(), job, at(i)); err != nil || !ok {
					t.Error(ok, err)
					return
				}
				r := RunRecord{Scheduled: at(i), Start: at(i), End: at(i), Attempts: 1, Outcome: "failed", Error: strings.Repeat("e", 500)}
				if err := db.Record(t.Context(), job, r); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// openFails asserts that Open refuses path with an error naming it and
// wrapping want, and leaves the file as it was.
func openFails(t *testing.T, path string, want error) error {
	t.Helper()
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	infoBefore, _ := os.Stat(path)
	db, err := Open(path, Options{lockTimeout: 100 * time.Millisecond})
	if err == nil {
		db.Close()
		t.Fatalf("Open succeeded on a bad file")
	}
	t.Logf("Open: %v", err)
	if !errors.Is(err, want) {
		t.Errorf("Open error %q does not wrap %q", err, want)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("Open error %q does not name %s", err, path)
	}
	after, _ := os.ReadFile(path)
	infoAfter, _ := os.Stat(path)
	if !bytes.Equal(before, after) || !infoAfter.ModTime().Equal(infoBefore.ModTime()) {
		t.Errorf("Open modified the file it refused (%d bytes before, %d after)", len(before), len(after))
	}
	return err
}

func TestOpenGarbage(t *testing.T) {
	for _, size := range []int{1, 1000, 4096, 64 << 10} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.db")
			garbage := make([]byte, size)
			seed := [32]byte{byte(size)}
			rand.NewChaCha8(seed).Read(garbage)
			if err := os.WriteFile(path, garbage, 0o600); err != nil {
				t.Fatal(err)
			}
			openFails(t, path, ErrCorrupt)
		})
	}
}

func TestOpenEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	openFails(t, path, ErrCorrupt)
}

func TestOpenTruncated(t *testing.T) {
	path := populated(t)
	full, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// bbolt grows its file ahead of use: only a cut below the high water
	// mark loses data.
	b, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var used int
	err = b.View(func(tx *bbolt.Tx) error { used = int(tx.Size()); return nil })
	if err := errors.Join(err, b.Close()); err != nil {
		t.Fatal(err)
	}
	if used < 16*4096 {
		t.Fatalf("test store uses only %d bytes", used)
	}
	// Cuts inside the meta pages, right after them, mid-file and one page
	// short: each must be an error, none a crash (bbolt faults on pages
	// beyond the end of the file).
	for _, n := range []int{100, 4096, 8192, 3 * 4096, used / 2, used - 4096} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			cut := filepath.Join(t.TempDir(), "state.db")
			if err := os.WriteFile(cut, full[:n], 0o600); err != nil {
				t.Fatal(err)
			}
			openFails(t, cut, ErrCorrupt)
		})
	}
	// Cutting what bbolt had not used yet loses nothing.
	cut := filepath.Join(t.TempDir(), "state.db")
	if err := os.WriteFile(cut, full[:used], 0o600); err != nil {
		t.Fatal(err)
	}
	db := openT(t, cut, Options{})
	if claim(t, db, "job3", at(39)) {
		t.Error("claim survived in the used part was lost")
	}
}

func TestOpenDamagedPages(t *testing.T) {
	path := populated(t)
	full, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Overwrite every data page (the meta pages stay valid, so bbolt itself
	// opens the file) with bytes bbolt cannot make sense of.
	for _, fill := range []byte{0x00, 0xee} {
		t.Run(fmt.Sprintf("%#x", fill), func(t *testing.T) {
			damaged := bytes.Clone(full)
			for i := 2 * 4096; i < len(damaged); i++ {
				damaged[i] = fill
			}
			p := filepath.Join(t.TempDir(), "state.db")
			if err := os.WriteFile(p, damaged, 0o600); err != nil {
				t.Fatal(err)
			}
			openFails(t, p, ErrCorrupt)
		})
	}
}

// TestDamageWhileOpen damages the file under an open store: calls fail with
// ErrCorrupt instead of crashing the process, the store refuses further
// use, and Close still releases the lock.
func TestDamageWhileOpen(t *testing.T) {
	for name, damage := range map[string]func(f *os.File, size int64) error{
		"garbage pages": func(f *os.File, size int64) error {
			_, err := f.WriteAt(bytes.Repeat([]byte{0xee}, int(size)-2*4096), 2*4096)
			return err
		},
		// Pages past the new end fault (SIGBUS) when bbolt reads them
		// through its memory map.
		"truncated": func(f *os.File, _ int64) error { return f.Truncate(2 * 4096) },
	} {
		t.Run(name, func(t *testing.T) {
			path := populated(t)
			db := openT(t, path, Options{})
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			info, _ := f.Stat()
			if err := errors.Join(damage(f, info.Size()), f.Close()); err != nil {
				t.Fatal(err)
			}

			ctx := t.Context()
			if _, err := db.History(ctx, "job1", 0); !errors.Is(err, ErrCorrupt) {
				t.Errorf("History on damaged pages: %v", err)
			}
			if _, err := db.Claim(ctx, "job1", at(100)); !errors.Is(err, ErrCorrupt) {
				t.Errorf("Claim on damaged pages: %v", err)
			}
			if _, err := db.Paused(ctx, "job2"); !errors.Is(err, ErrCorrupt) {
				t.Errorf("Paused after damage: %v", err)
			}
			if err := db.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			_, err = Open(path, Options{lockTimeout: 100 * time.Millisecond})
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("reopen: %v (want ErrCorrupt: the lock must be free)", err)
			}
		})
	}
}

// rewrite edits a closed store with bbolt directly.
func rewrite(t *testing.T, path string, fn func(tx *bbolt.Tx) error) {
	t.Helper()
	b, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Update(fn); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenFutureVersion(t *testing.T) {
	path := populated(t)
	rewrite(t, path, func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte(bucketMeta)).Put([]byte(keyVersion), encodeUvarint(formatVersion+1))
	})
	err := openFails(t, path, ErrVersion)
	if errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "newer scheduler") {
		t.Errorf("error %q", err)
	}
}

func TestOpenForeignOrDamagedContent(t *testing.T) {
	for name, fn := range map[string]func(tx *bbolt.Tx) error{
		"another program's bbolt file": func(tx *bbolt.Tx) error {
			if err := tx.DeleteBucket([]byte(bucketMeta)); err != nil {
				return err
			}
			_, err := tx.CreateBucket([]byte("users"))
			return err
		},
		"bad version": func(tx *bbolt.Tx) error {
			return tx.Bucket([]byte(bucketMeta)).Put([]byte(keyVersion), []byte{0xff})
		},
		"no jobs bucket": func(tx *bbolt.Tx) error { return tx.DeleteBucket([]byte(bucketJobs)) },
		"bad run record": func(tx *bbolt.Tx) error {
			runs := tx.Bucket([]byte(bucketJobs)).Bucket([]byte("job2")).Bucket([]byte(bucketRuns))
			k, _ := runs.Cursor().Last()
			return runs.Put(bytes.Clone(k), []byte{recordEncoding, 0, 1, 2, 'o', 'k'})
		},
		"bad claim key": func(tx *bbolt.Tx) error {
			return tx.Bucket([]byte(bucketJobs)).Bucket([]byte("job0")).Bucket([]byte(bucketClaims)).Put([]byte("short"), nil)
		},
		"bucket among claims": func(tx *bbolt.Tx) error {
			_, err := tx.Bucket([]byte(bucketJobs)).Bucket([]byte("job0")).Bucket([]byte(bucketClaims)).CreateBucket([]byte("12345678"))
			return err
		},
		"unknown meta key": func(tx *bbolt.Tx) error {
			return tx.Bucket([]byte(bucketMeta)).Put([]byte("owner"), []byte("x"))
		},
		"unknown key": func(tx *bbolt.Tx) error {
			return tx.Bucket([]byte(bucketJobs)).Bucket([]byte("job0")).Put([]byte("zzz"), []byte{1})
		},
	} {
		t.Run(name, func(t *testing.T) {
			path := populated(t)
			rewrite(t, path, fn)
			openFails(t, path, ErrCorrupt)
		})
	}
}

func TestOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db := openT(t, path, Options{})
	_, err := Open(path, Options{lockTimeout: 100 * time.Millisecond})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	want := "state file " + path + " is locked by another scheduler process"
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q, want prefix %q", err, want)
	}
	// The first store is unaffected.
	if !claim(t, db, "j", at(0)) {
		t.Error("claim refused")
	}
}

func TestOpenNotAFile(t *testing.T) {
	dir := t.TempDir()
	_, err := Open(dir, Options{})
	if err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("Open of a directory: %v", err)
	}
	// A parent that is a file cannot become a directory.
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(filepath.Join(file, "state.db"), Options{}); err == nil {
		t.Error("Open under a regular file succeeded")
	}
}

// TestKill9 kills a process that is claiming occurrences as fast as it can
// and checks that every claim it reported survives, in a file that opens
// cleanly: nothing doubled after kill -9.
func TestKill9(t *testing.T) {
	if path := os.Getenv("STATE_TEST_CLAIMER"); path != "" {
		claimer(path)
		return
	}
	path := filepath.Join(t.TempDir(), "state.db")
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestKill9$")
	cmd.Env = append(os.Environ(), "STATE_TEST_CLAIMER="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var claimed []int
	sc := bufio.NewScanner(out)
	for len(claimed) < 50 && sc.Scan() {
		if i, err := strconv.Atoi(sc.Text()); err == nil {
			claimed = append(claimed, i)
		}
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if len(claimed) < 50 {
		t.Fatalf("claimer reported only %d claims before it ended", len(claimed))
	}

	db := openT(t, path, Options{})
	for _, i := range claimed {
		if claim(t, db, "j", at(i)) {
			t.Errorf("occurrence %d was claimed again after kill -9", i)
		}
	}
	last, ok, err := db.Last(t.Context(), "j")
	if err != nil || !ok || last.Before(at(claimed[len(claimed)-1])) {
		t.Errorf("Last = %v, %v, %v; want at least %v", last, ok, err, at(claimed[len(claimed)-1]))
	}
}

// claimer is TestKill9's child: it claims and records occurrences until it
// is killed, printing each one claimed.
func claimer(path string) {
	db, err := Open(path, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx := context.Background()
	for i := 0; ; i++ {
		ok, err := db.Claim(ctx, "j", at(i))
		if err != nil || !ok {
			fmt.Fprintln(os.Stderr, ok, err)
			os.Exit(1)
		}
		fmt.Println(i)
		if err := db.Record(ctx, "j", RunRecord{Scheduled: at(i), Outcome: "ok", Attempts: 1}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
