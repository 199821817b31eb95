package telegram_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/scheduler-dev/scheduler/telegram"
	"github.com/scheduler-dev/scheduler/telegram/telegramtest"
)

// BenchmarkBurst sends 10,000 messages to 10,000 chats at once through the
// rate limiter against the test server, as a daily job to all subscribers
// would, and reports:
//
//   - achieved/configured: the achieved rate, (n-1) messages over the time
//     from the start of the burst to the last arrival at the server,
//     divided by the configured overall rate: 1.0 means the burst ended
//     exactly when the rate allows (the first message goes at once, each
//     further one an interval later); above 1.0 the limiter would have
//     cheated (target ≥ 0.95);
//   - max/window-released: the most messages the limiter released within
//     any window of one rate period (1 s for 30/s); never above the
//     configured count;
//   - max/window: the same for arrivals at the server, over the whole
//     burst and past its first second (max/window-steady). Arrivals also
//     carry the jitter between release and arrival: while 10,000 senders
//     start, the CPU they take delays the first messages, which then
//     arrive bunched;
//   - p99-rtt-ms: the 99th percentile of send latency once the limiter
//     released a message (request out to answer in).
//
// The default rate (30/s) takes 5.5 minutes: run it with -benchtime=1x
// -timeout=15m.
func BenchmarkBurst(b *testing.B) {
	for _, r := range []telegram.Rate{{Events: 30, Per: time.Second}, {Events: 1000, Per: time.Second}} {
		b.Run("overall="+r.String(), func(b *testing.B) { benchBurst(b, r) })
	}
}

func benchBurst(b *testing.B, overall telegram.Rate) {
	const chats = 10_000
	fresh(b)
	for i := range chats {
		srv.AddChat(telegramtest.Chat{ID: int64(100_000 + i), Title: "subscribers"})
	}
	rtts := &rttCollector{}
	cfg := config(b)
	cfg.Logger = slog.New(rtts)
	cfg.RateLimit = telegram.RateLimit{Overall: overall} // per-chat limits: the defaults
	c := start(b, cfg)

	run := 0
	var start time.Time
	for b.Loop() {
		run++
		srv.Reset()
		rtts.reset()
		start = time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, chats)
		for i := range chats {
			wg.Go(func() {
				to := fmt.Sprint(-(100_000 + i))
				err := c.Send(context.Background(), telegram.Message{
					To: to, Text: "daily digest",
					RandomID: telegram.RandomID("bench", fmt.Sprint(run), to),
				})
				if err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
	}

	b.StopTimer()
	msgs := srv.Messages()
	if len(msgs) != chats {
		b.Fatalf("server holds %d messages, want %d", len(msgs), chats)
	}
	arrived := dates(msgs)
	slices.SortFunc(arrived, time.Time.Compare)
	achieved := float64(len(arrived)-1) / arrived[len(arrived)-1].Sub(start).Seconds()
	configured := float64(overall.Events) / overall.Per.Seconds()
	maxWindow := func(times []time.Time, from time.Time) int {
		most := 0
		for i, j := 0, 0; i < len(times); i++ {
			for times[j].Before(from) || times[i].Sub(times[j]) >= overall.Per {
				j++
				if j > i {
					break
				}
			}
			most = max(most, i-j+1)
		}
		return most
	}
	released := rtts.releases()
	if len(released) != chats {
		b.Fatalf("%d sends logged, want %d", len(released), chats)
	}
	b.ReportMetric(achieved/configured, "achieved/configured")
	b.ReportMetric(achieved, "msgs/s")
	b.ReportMetric(float64(maxWindow(released, start)), "max/window-released")
	b.ReportMetric(float64(maxWindow(arrived, start)), "max/window")
	b.ReportMetric(float64(maxWindow(arrived, start.Add(time.Second))), "max/window-steady")
	b.ReportMetric(float64(rtts.percentile(0.99))/float64(time.Millisecond), "p99-rtt-ms")
	b.ReportMetric(0, "ns/op") // one op is a 10,000-message burst; its time says nothing new
}

// rttCollector is a slog handler that keeps the release instant and rtt of
// every "sent" record.
type rttCollector struct {
	mu       sync.Mutex
	rtts     []time.Duration
	released []time.Time
}

func (h *rttCollector) Enabled(_ context.Context, l slog.Level) bool { return true }
func (h *rttCollector) WithAttrs([]slog.Attr) slog.Handler           { return h }
func (h *rttCollector) WithGroup(string) slog.Handler                { return h }

func (h *rttCollector) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "sent" {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "rtt":
			h.rtts = append(h.rtts, a.Value.Duration())
		case "released":
			h.released = append(h.released, a.Value.Time())
		}
		return true
	})
	return nil
}

// releases returns the release instants in order.
func (h *rttCollector) releases() []time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := slices.Clone(h.released)
	slices.SortFunc(out, time.Time.Compare)
	return out
}

func (h *rttCollector) reset() {
	h.mu.Lock()
	h.rtts, h.released = nil, nil
	h.mu.Unlock()
}

func (h *rttCollector) percentile(p float64) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.rtts) == 0 {
		return 0
	}
	s := slices.Clone(h.rtts)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}
