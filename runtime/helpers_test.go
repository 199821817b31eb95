package runtime_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/scheduler-dev/scheduler/runtime"
	"github.com/scheduler-dev/scheduler/runtime/runtimetest"
)

// t0 is a Monday, 10:00:00 UTC.
var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// harness runs a loop on a fake clock inside a synctest bubble, so that
// synctest.Wait tells when every goroutine of the loop has settled.
type harness struct {
	t     *testing.T
	clock *runtimetest.Clock
	loop  *runtime.Loop
	logs  *logBuffer
	stop  context.CancelFunc
	done  chan error
}

func newHarness(t *testing.T, cfg runtime.Config) *harness {
	t.Helper()
	h := &harness{t: t, clock: runtimetest.NewClock(t0), logs: &logBuffer{}}
	cfg.Clock = h.clock
	cfg.Logger = slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	h.loop = runtime.NewLoop(cfg)
	return h
}

// start runs the loop until stop or the end of the test.
func (h *harness) start() {
	ctx, cancel := context.WithCancel(context.Background())
	h.stop = cancel
	h.done = make(chan error, 1)
	go func() { h.done <- h.loop.Run(ctx) }()
	h.t.Cleanup(h.shutdown)
	synctest.Wait()
}

// shutdown stops the loop and waits for Run to return, advancing the clock
// through the grace period if tasks hold it up.
func (h *harness) shutdown() {
	if h.stop == nil {
		return
	}
	h.stop()
	h.stop = nil
	for {
		synctest.Wait()
		select {
		case err := <-h.done:
			if err != nil {
				h.t.Errorf("Run: %v", err)
			}
			return
		default:
			deadline, ok := h.clock.NextDeadline()
			if !ok {
				h.t.Fatal("Run did not return and no timer is pending")
			}
			h.clock.AdvanceTo(deadline)
		}
	}
}

// advance moves the fake clock forward by d one timer at a time, letting the
// loop and its tasks settle after each, as real time would.
func (h *harness) advance(d time.Duration) {
	synctest.Wait()
	end := h.clock.Now().Add(d)
	for {
		deadline, ok := h.clock.NextDeadline()
		if !ok || deadline.After(end) {
			break
		}
		h.clock.AdvanceTo(deadline)
		synctest.Wait()
	}
	h.clock.AdvanceTo(end)
	synctest.Wait()
}

func (h *harness) add(j runtime.Job) *runtime.Entry {
	h.t.Helper()
	e, err := h.loop.Add(j)
	if err != nil {
		h.t.Fatalf("Add(%q): %v", j.Name, err)
	}
	return e
}

// logBuffer collects log output from many goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// count returns how many log lines contain every one of parts.
func (b *logBuffer) count(parts ...string) int {
	n := 0
	for line := range strings.Lines(b.String()) {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			n++
		}
	}
	return n
}

// recorder records the runs of jobs, in order.
type recorder struct {
	mu   sync.Mutex
	runs []runtime.Run
}

func (r *recorder) record(ctx context.Context, run runtime.Run) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runs = append(r.runs, run)
	return nil
}

func (r *recorder) list() []runtime.Run {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]runtime.Run(nil), r.runs...)
}

func (r *recorder) count(job string) int {
	n := 0
	for _, run := range r.list() {
		if run.Job == job {
			n++
		}
	}
	return n
}

// bubble runs f in a synctest bubble.
func bubble(t *testing.T, f func(t *testing.T)) {
	synctest.Test(t, f)
}
