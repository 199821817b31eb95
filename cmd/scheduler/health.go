package main

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/scheduler-dev/scheduler/runtime"
)

// healthBeat is how often the loop proves to /healthz that it fires; three
// missed beats make it unhealthy.
const healthBeat = 5 * time.Second

// health answers /healthz: the loop fires (its heartbeat is recent) and
// Telegram, when configured, is connected.
type health struct {
	clock     runtime.Clock
	lastBeat  atomic.Int64 // Unix nanoseconds
	connected func() bool  // nil without Telegram
}

// newHealth starts the loop's heartbeat; the loop counts as alive from now
// until three beats are missed.
func newHealth(loop *runtime.Loop, connected func() bool) (*health, error) {
	h := &health{clock: loop.Clock(), connected: connected}
	h.beat()
	return h, heartbeat(loop, "health", healthBeat, h.beat)
}

func (h *health) beat() { h.lastBeat.Store(h.clock.Now().UnixNano()) }

// problems reports what is unhealthy, by component; nil when all is well.
func (h *health) problems() map[string]string {
	var p map[string]string
	add := func(component, problem string) {
		if p == nil {
			p = map[string]string{}
		}
		p[component] = problem
	}
	if since := h.clock.Now().Sub(time.Unix(0, h.lastBeat.Load())); since > 3*healthBeat {
		add("loop", fmt.Sprintf("no heartbeat for %s: the loop is not firing", since.Round(time.Second)))
	}
	if h.connected != nil && !h.connected() {
		add("telegram", "disconnected")
	}
	return p
}
