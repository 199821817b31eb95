package telegram_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/scheduler-dev/scheduler/runtime/runtimetest"
	"github.com/scheduler-dev/scheduler/telegram"
	"github.com/scheduler-dev/scheduler/telegram/telegramtest"
)

// sender sends to one chat, one message after the other.
type sender struct {
	chat  string
	sends []func() error
}

// paced runs each sender in its own goroutine and drives the fake clock.
// It advances to the next timer only once every chat with messages left
// has its send asleep on the clock, so every message reaches the server,
// which stamps it with the same clock, at the very instant the limiter
// released it. That needs one sender per chat: with two, one could sleep
// while the other's message is still on its way, stamped late. (The
// limiter's handling of concurrent sends to one chat is tested inside the
// package, where release instants are observable.)
func paced(t *testing.T, clk *runtimetest.Clock, senders []sender) {
	t.Helper()
	var mu sync.Mutex
	left := map[string]int{}
	for _, s := range senders {
		if left[s.chat] > 0 {
			t.Fatalf("two senders for %s", s.chat)
		}
		left[s.chat] = len(s.sends)
	}
	busy := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, k := range left {
			if k > 0 {
				n++
			}
		}
		return n
	}
	errc := make(chan error, len(senders))
	for _, s := range senders {
		go func() {
			for _, send := range s.sends {
				err := send()
				mu.Lock()
				left[s.chat]--
				mu.Unlock()
				if err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	deadline := time.Now().Add(30 * time.Second)
	for n := busy(); n > 0; n = busy() {
		if time.Now().After(deadline) {
			t.Fatal("senders still busy after 30s")
		}
		if clk.Timers() < n {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Millisecond)
			_ = clk.WaitTimers(ctx, n)
			cancel()
			continue
		}
		if next, ok := clk.NextDeadline(); ok {
			clk.AdvanceTo(next)
		}
	}
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
}

// gaps checks that consecutive messages are at least min apart (1 µs of
// slack for the float arithmetic of token buckets).
func checkGaps(t *testing.T, what string, times []time.Time, min time.Duration) {
	t.Helper()
	slices.SortFunc(times, time.Time.Compare)
	for i := 1; i < len(times); i++ {
		if gap := times[i].Sub(times[i-1]); gap < min-time.Microsecond {
			t.Errorf("%s: messages %d and %d are %s apart, want at least %s", what, i-1, i, gap, min)
		}
	}
}

func dates(ms []telegramtest.Message) []time.Time {
	var out []time.Time
	for _, m := range ms {
		out = append(out, m.Date)
	}
	return out
}

func near(a, b time.Time) bool { return a.Sub(b).Abs() <= time.Microsecond }

func pacedClient(t *testing.T, rl telegram.RateLimit) (*running, *runtimetest.Clock, time.Time) {
	t.Helper()
	fresh(t)
	clk := runtimetest.NewClock(time.Date(2026, 3, 29, 4, 0, 0, 0, time.UTC))
	srv.SetClock(clk)
	cfg := config(t)
	cfg.Clock = clk
	cfg.RateLimit = rl
	return start(t, cfg), clk, clk.Now()
}

func sendFn(t *testing.T, c *running, to string, n int) func() error {
	return func() error {
		return c.Send(t.Context(), telegram.Message{To: to, Text: fmt.Sprint("m", n), RandomID: telegram.RandomID(t.Name(), to, fmt.Sprint(n))})
	}
}

func TestRateLimitOverall(t *testing.T) {
	// 30 chats, one message each, at 10/s overall: a burst drains at
	// exactly the overall rate, in 2.9 s.
	c, clk, t0 := pacedClient(t, telegram.RateLimit{Overall: telegram.Rate{Events: 10, Per: time.Second}})
	var senders []sender
	for i := range 30 {
		id := int64(5001 + i)
		srv.AddChat(telegramtest.Chat{ID: id, Title: fmt.Sprint("chat ", id)})
		to := fmt.Sprint(-id)
		senders = append(senders, sender{to, []func() error{sendFn(t, c, to, 0)}})
	}
	paced(t, clk, senders)
	got := dates(srv.Messages())
	if len(got) != 30 {
		t.Fatalf("server holds %d messages, want 30", len(got))
	}
	checkGaps(t, "overall", got, 100*time.Millisecond)
	if last := got[len(got)-1]; !near(last, t0.Add(2900*time.Millisecond)) {
		t.Errorf("last message at +%s, want +2.9s: as fast as the rate allows", last.Sub(t0))
	}
}

func TestRateLimitPerChat(t *testing.T) {
	// Five messages to one private chat at 2/s: 0, 0.5, 1, 1.5, 2 s.
	c, clk, t0 := pacedClient(t, telegram.RateLimit{
		Overall: telegram.Rate{Events: 100, Per: time.Second},
		Private: telegram.Rate{Events: 2, Per: time.Second},
	})
	var seq []func() error
	for i := range 5 {
		seq = append(seq, sendFn(t, c, "@alice", i))
	}
	paced(t, clk, []sender{{"@alice", seq}})
	got := dates(srv.Messages())
	if len(got) != 5 {
		t.Fatalf("server holds %d messages, want 5", len(got))
	}
	for i, d := range got {
		if want := t0.Add(time.Duration(i) * 500 * time.Millisecond); !near(d, want) {
			t.Errorf("message %d at +%s, want +%s", i, d.Sub(t0), want.Sub(t0))
		}
	}
}

func TestRateLimitMixed(t *testing.T) {
	// Three private chats and two groups, four messages each, all at once:
	// no rate is ever exceeded, and the burst ends close to the slowest
	// chat's own pace (3 s).
	rl := telegram.RateLimit{
		Overall: telegram.Rate{Events: 10, Per: time.Second},
		Private: telegram.Rate{Events: 2, Per: time.Second},
		Group:   telegram.Rate{Events: 1, Per: time.Second},
	}
	c, clk, t0 := pacedClient(t, rl)
	chats := []string{"@alice", "@bob", "@carol", "-3001", "@news"}
	var senders []sender
	for _, to := range chats {
		senders = append(senders, sender{to, []func() error{
			sendFn(t, c, to, 0), sendFn(t, c, to, 1), sendFn(t, c, to, 2), sendFn(t, c, to, 3),
		}})
	}
	paced(t, clk, senders)
	all := srv.Messages()
	if len(all) != 20 {
		t.Fatalf("server holds %d messages, want 20", len(all))
	}
	checkGaps(t, "overall", dates(all), 100*time.Millisecond)
	byChat := map[telegramtest.Peer][]telegramtest.Message{}
	for _, m := range all {
		byChat[m.Peer] = append(byChat[m.Peer], m)
	}
	for p, ms := range byChat {
		min := 500 * time.Millisecond
		if p.Kind != telegramtest.PeerUser {
			min = time.Second
		}
		if len(ms) != 4 {
			t.Errorf("%v got %d messages, want 4", p, len(ms))
		}
		checkGaps(t, p.String(), dates(ms), min)
	}
	last := slices.MaxFunc(dates(all), time.Time.Compare)
	if span := last.Sub(t0); span < 3*time.Second || span > 3500*time.Millisecond {
		t.Errorf("burst took %s, want 3s to 3.5s", span)
	}
}
