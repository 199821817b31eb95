package telegram

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/gotd/td/session"
)

func TestSessionFileIsAtomicAndPrivate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state", "session.json")
	stored := 0
	s := &sessionFile{path: path, log: slog.New(slog.DiscardHandler), stored: func() { stored++ }}

	if _, err := s.LoadSession(t.Context()); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("missing file: err = %v, want session.ErrNotFound", err)
	}
	if err := s.StoreSession(t.Context(), []byte("first")); err != nil {
		t.Fatal(err)
	}
	// A reader holding the old file keeps seeing it whole: the new content
	// replaces it by rename, never by rewriting it in place.
	old, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.StoreSession(t.Context(), []byte("second, longer")); err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(old); string(got) != "first" {
		t.Errorf("the old file now reads %q, want it untouched", got)
	}
	got, err := s.LoadSession(context.Background())
	if err != nil || string(got) != "second, longer" {
		t.Errorf("LoadSession = %q, %v", got, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	if di, _ := os.Stat(filepath.Dir(path)); di.Mode().Perm() != 0o700 {
		t.Errorf("created directory mode = %v, want 0700", di.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the session file", len(entries))
	}
	if stored != 2 {
		t.Errorf("stored hook ran %d times, want 2", stored)
	}

	// An empty file is no session.
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LoadSession(t.Context()); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("empty file: err = %v, want session.ErrNotFound", err)
	}
}
