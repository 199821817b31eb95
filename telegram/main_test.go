package telegram_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/scheduler-dev/scheduler/telegram"
	"github.com/scheduler-dev/scheduler/telegram/telegramtest"
)

// One MTProto server serves the whole test binary: auth keys live in it,
// and a key exchange costs half a second (seconds under -race), so TestMain
// makes one session and every test copies it into its own session file.
// Tests share the server and therefore run one at a time (no t.Parallel);
// fresh resets it and logs the session in as the bot, and tests that need
// it logged out log it out.
var (
	srv *telegramtest.Server
	// session is the one auth key.
	session []byte
)

const (
	appID    = 17349
	appHash  = "0123456789abcdef0123456789abcdef"
	botUser  = 7000001
	botToken = "7000001:AAHtest-secret-token-value"
)

// The world every test sees.
var (
	alice = telegramtest.User{ID: 1001, AccessHash: 111, Username: "alice", FirstName: "Alice"}
	bob   = telegramtest.User{ID: 1002, AccessHash: 222, Username: "bob", FirstName: "Bob"}
	carol = telegramtest.User{ID: 1003, AccessHash: 333, Username: "carol", FirstName: "Carol"}
	news  = telegramtest.Channel{ID: 2001, AccessHash: 444, Username: "news", Title: "News"}
	group = telegramtest.Chat{ID: 3001, Title: "Group"}
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	srv, err = telegramtest.New(telegramtest.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer srv.Close()
	srv.AddBot(botToken, telegramtest.User{ID: botUser, AccessHash: 999, Username: "scheduler_bot", FirstName: "Scheduler"})
	for _, u := range []telegramtest.User{alice, bob, carol} {
		srv.AddUser(u)
	}
	srv.AddChannel(news)
	srv.AddChat(group)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	session, err = srv.Session(ctx, appID, "")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// config returns a Config for a bot client of the test server, with a copy
// of the session as its session file and no rate limits.
func config(t testing.TB) telegram.Config {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "session.json")
	if err := os.WriteFile(path, session, 0o600); err != nil {
		t.Fatal(err)
	}
	return telegram.Config{
		AppID:       appID,
		AppHash:     appHash,
		BotToken:    botToken,
		SessionFile: path,
		Server:      srv.Addr(),
		PublicKey:   srv.PublicKey(),
		RateLimit: telegram.RateLimit{
			Overall: telegram.Unlimited, Private: telegram.Unlimited, Group: telegram.Unlimited,
		},
		Logger: testLogger(t),
	}
}

// testLogger logs to the test's output; debug records only with -v.
func testLogger(t testing.TB) *slog.Logger {
	level := slog.LevelInfo
	if testing.Verbose() {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: level}))
}

// fresh resets the shared server for a new test, with the session logged
// in as the bot.
func fresh(t testing.TB) {
	t.Helper()
	srv.Reset()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	if err := srv.LogIn(session, botUser); err != nil {
		t.Fatal(err)
	}
}

// loggedOut logs the session out for this test.
func loggedOut(t *testing.T) {
	t.Helper()
	if err := srv.LogOut(session); err != nil {
		t.Fatal(err)
	}
}

// running is a client whose Run runs in the background.
type running struct {
	*telegram.Client
	cancel context.CancelFunc
	done   chan struct{} // closed when Run returned
	err    error         // Run's result, once done
	// fctx is the context Run gave f, once awaitLogin returned.
	fctx  context.Context
	ready chan context.Context // receives fctx once logged in
	once  sync.Once
}

// start runs a client until the test ends and returns it once logged in.
func start(t testing.TB, cfg telegram.Config) *running {
	t.Helper()
	c, err := telegram.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := runBackground(t, c)
	r.awaitLogin(t)
	return r
}

// runBackground runs c until the test ends, without waiting for the login.
func runBackground(t testing.TB, c *telegram.Client) *running {
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Client: c, cancel: cancel, done: make(chan struct{}), ready: make(chan context.Context, 1)}
	go func() {
		defer close(r.done)
		r.err = c.Run(ctx, func(ctx context.Context) error {
			r.ready <- ctx
			<-ctx.Done()
			return nil
		})
	}()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// awaitLogin waits until Run has logged in and called f.
func (r *running) awaitLogin(t testing.TB) {
	t.Helper()
	select {
	case r.fctx = <-r.ready:
	case <-r.done:
		t.Fatalf("Run: %v", r.err)
	case <-time.After(30 * time.Second):
		t.Fatal("client not logged in after 30s")
	}
}

// stop ends Run and checks that it ended cleanly (once).
func (r *running) stop(t testing.TB) {
	t.Helper()
	r.cancel()
	select {
	case <-r.done:
		r.once.Do(func() {
			if r.err != nil {
				t.Errorf("Run: %v", r.err)
			}
		})
	case <-time.After(30 * time.Second):
		t.Error("Run did not return 30s after its context ended")
	}
}

// waitFor polls cond until it holds (real time; for what happens on the
// wire, not for timing).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// messagesTo returns the messages the server holds for peer p.
func messagesTo(p telegramtest.Peer) []telegramtest.Message {
	var out []telegramtest.Message
	for _, m := range srv.Messages() {
		if m.Peer == p {
			out = append(out, m)
		}
	}
	return out
}

func texts(ms []telegramtest.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Text)
	}
	return out
}

func countOf(ids []int64, id int64) int {
	return len(slices.DeleteFunc(slices.Clone(ids), func(x int64) bool { return x != id }))
}
