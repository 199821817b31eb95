package telegram

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/gotd/td/session"
)

// sessionFile is gotd's session.Storage on a file: written atomically
// (temporary file in the same directory, fsync, rename, fsync of the
// directory) with mode 0600, so a crash leaves the old session or the new
// one, never a torn file, and no other user can read the auth key.
type sessionFile struct {
	path string
	log  *slog.Logger
	// stored is called after every successful store. gotd stores the
	// session each time a connection is established, which makes it the
	// client's signal that it is connected.
	stored func()

	warned atomic.Bool // about the file's mode, once
}

// LoadSession implements session.Storage.
func (s *sessionFile) LoadSession(context.Context) ([]byte, error) {
	data, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, session.ErrNotFound
	}
	if err != nil {
		// The path is not secret; the content never appears in errors.
		return nil, fmt.Errorf("read session file: %w", err)
	}
	if len(data) == 0 {
		return nil, session.ErrNotFound
	}
	if fi, err := os.Stat(s.path); err == nil && fi.Mode().Perm()&0o077 != 0 && !s.warned.Swap(true) {
		s.log.Warn("session file is readable by others; it will be rewritten with mode 0600",
			"file", s.path, "mode", fi.Mode().Perm().String())
	}
	return data, nil
}

// StoreSession implements session.Storage.
func (s *sessionFile) StoreSession(_ context.Context, data []byte) error {
	err := os.MkdirAll(filepath.Dir(s.path), 0o700)
	if err == nil {
		err = writeFileAtomic(s.path, data, 0o600)
	}
	if err != nil {
		return fmt.Errorf("write session file: %w", err)
	}
	if s.stored != nil {
		s.stored()
	}
	return nil
}

// writeFileAtomic replaces path with data: readers see the old content or
// the new, whole; after it returns the new content survives a crash.
func writeFileAtomic(path string, data []byte, perm fs.FileMode) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	// CreateTemp already uses 0600; Chmod covers wider perms for
	// non-secret files whatever the umask.
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	// The rename is durable only once the directory entry is.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
