package jobs

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// record is one captured log record, its attributes flattened to strings.
type record struct {
	Level slog.Level
	Msg   string
	Attrs map[string]string
}

// recorder is a slog.Handler that keeps every record, for tests that assert
// what a job logged.
type recorder struct {
	store *recordStore
	attrs []slog.Attr
}

type recordStore struct {
	mu      sync.Mutex
	recs    []record
	changed chan struct{}
}

func newRecorder() (*slog.Logger, *recordStore) {
	s := &recordStore{changed: make(chan struct{})}
	return slog.New(&recorder{store: s}), s
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	attrs := make(map[string]string)
	for _, a := range r.attrs {
		attrs[a.Key] = a.Value.String()
	}
	rec.Attrs(func(a slog.Attr) bool {
		attrs[a.Key] = a.Value.String()
		return true
	})
	r.store.mu.Lock()
	defer r.store.mu.Unlock()
	r.store.recs = append(r.store.recs, record{rec.Level, rec.Message, attrs})
	close(r.store.changed)
	r.store.changed = make(chan struct{})
	return nil
}

func (r *recorder) WithAttrs(as []slog.Attr) slog.Handler {
	return &recorder{store: r.store, attrs: append(append([]slog.Attr(nil), r.attrs...), as...)}
}

func (r *recorder) WithGroup(string) slog.Handler { return r }

func (s *recordStore) all() []record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]record(nil), s.recs...)
}

// messages returns the messages of the records whose attributes include all
// of want.
func (s *recordStore) messages(want map[string]string) []string {
	var out []string
	for _, r := range s.all() {
		if matches(r, want) {
			out = append(out, r.Msg)
		}
	}
	return out
}

func matches(r record, want map[string]string) bool {
	for k, v := range want {
		if r.Attrs[k] != v {
			return false
		}
	}
	return true
}

// waitFor blocks until a record satisfying ok arrives, or the test's context
// ends.
func (s *recordStore) waitFor(t *testing.T, ok func(record) bool) record {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		s.mu.Lock()
		for _, r := range s.recs {
			if ok(r) {
				s.mu.Unlock()
				return r
			}
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("no matching log record in %+v", s.all())
		}
	}
}

// envOf returns a lookupEnv reading from m.
func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// writeFile writes content to name under dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// mustParse parses a configuration that must be valid.
func mustParse(t *testing.T, yamlText string, env map[string]string) *Config {
	t.Helper()
	dir := t.TempDir()
	p := writeFile(t, dir, "scheduler.yaml", yamlText)
	cfg, err := Load(p, envOf(env))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return cfg
}

// job returns the configured job named name.
func (c *Config) job(t *testing.T, name string) *Job {
	t.Helper()
	for _, j := range c.Jobs {
		if j.Name == name {
			return j
		}
	}
	t.Fatalf("no job %q", name)
	return nil
}
