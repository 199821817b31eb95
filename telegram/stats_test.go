package telegram_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gotd/td/tg"
	"github.com/gotd/td/tgerr"

	"github.com/scheduler-dev/scheduler/runtime/runtimetest"
	"github.com/scheduler-dev/scheduler/telegram"
	"github.com/scheduler-dev/scheduler/telegram/telegramtest"
)

// apiMethods are the requests TestStatsCounts makes, for checking Requests
// against what the server received.
var apiMethods = []uint32{
	tg.UsersGetUsersRequestTypeID,
	tg.ContactsResolveUsernameRequestTypeID,
	tg.ChannelsGetChannelsRequestTypeID,
	tg.MessagesSendMessageRequestTypeID,
	tg.MessagesSendMediaRequestTypeID,
	tg.MessagesForwardMessagesRequestTypeID,
	tg.MessagesGetHistoryRequestTypeID,
	tg.UploadSaveFilePartRequestTypeID,
	tg.UploadSaveBigFilePartRequestTypeID,
}

func serverCalls() uint64 {
	var n int
	for _, m := range apiMethods {
		n += srv.Calls(m)
	}
	return uint64(n)
}

func TestStatsCounts(t *testing.T) {
	fresh(t)
	news := telegramtest.ChannelPeer(news.ID)
	for _, text := range []string{"first", "second", "third"} {
		srv.AddHistory(news, alice.ID, text)
	}
	// A user account, which may read history and so forward.
	if err := srv.LogIn(session, alice.ID); err != nil {
		t.Fatal(err)
	}
	cfg := config(t)
	cfg.BotToken = ""
	idle, err := telegram.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := idle.Stats(); got != (telegram.Stats{}) {
		t.Errorf("Stats before Run = %+v, want all zero", got)
	}

	c := start(t, cfg)
	s0, calls0 := c.Stats(), serverCalls()
	if !s0.Connected || s0.Sends != 0 || s0.SendErrors != 0 || s0.FloodWaits != 0 || s0.Requests == 0 {
		t.Errorf("Stats after login = %+v, want connected, no sends, and the login check among the requests", s0)
	}
	ctx := t.Context()
	file := filepath.Join(t.TempDir(), "report.txt")
	if err := os.WriteFile(file, []byte("42\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	// Six messages posted: two texts, a file, two forwarded, and one more
	// forwarded by a Forward that then fails.
	if err := c.Send(ctx, telegram.Message{To: "@bob", Text: "one", RandomID: 1}); err != nil {
		t.Fatal(err)
	}
	if err := c.Send(ctx, telegram.Message{To: "me", Text: "two", RandomID: 2}); err != nil {
		t.Fatal(err)
	}
	if err := c.SendFile(ctx, telegram.File{To: "@bob", Path: file, RandomID: 3}); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Forward(ctx, telegram.Forward{From: "@news", To: "@bob", Limit: 2, RandomID: 4}); n != 2 || err != nil {
		t.Fatalf("Forward = %d, %v; want 2", n, err)
	}
	// The first forward request is answered normally, the second refused.
	srv.Inject(telegramtest.Fault{Method: tg.MessagesForwardMessagesRequestTypeID, Delay: time.Millisecond})
	srv.Inject(telegramtest.Fault{Method: tg.MessagesForwardMessagesRequestTypeID, Err: tgerr.New(403, "CHAT_WRITE_FORBIDDEN")})
	if n, err := c.Forward(ctx, telegram.Forward{From: "@news", To: "@bob", Limit: 2, RandomID: 5}); n != 1 || err == nil {
		t.Fatalf("Forward = %d, %v; want 1 and CHAT_WRITE_FORBIDDEN", n, err)
	}

	// Five more failed calls: refused by Telegram, an unknown chat, bad
	// input.
	srv.Inject(telegramtest.Fault{Method: tg.MessagesSendMessageRequestTypeID, Err: tgerr.New(403, "CHAT_WRITE_FORBIDDEN")})
	failures := []func() error{
		func() error { return c.Send(ctx, telegram.Message{To: "@bob", Text: "refused", RandomID: 6}) },
		func() error { return c.Send(ctx, telegram.Message{To: "@nobody_here", Text: "x"}) },
		func() error { return c.Send(ctx, telegram.Message{To: "@bob", Text: "  "}) },
		func() error { return c.SendFile(ctx, telegram.File{To: "@bob", Path: file + ".missing"}) },
		func() error {
			_, err := c.Forward(ctx, telegram.Forward{From: "@news", To: "@bob", Limit: 0})
			return err
		},
	}
	for i, f := range failures {
		if err := f(); err == nil {
			t.Fatalf("failure %d succeeded", i)
		}
	}
	// Reading is no send.
	if _, err := c.Messages(ctx, "@news", 1); err != nil {
		t.Fatal(err)
	}

	got := c.Stats()
	if got.Sends != 6 || got.SendErrors != 6 || got.FloodWaits != 0 || got.FloodWait != 0 || !got.Connected {
		t.Errorf("Stats = %+v, want 6 sends, 6 send errors, no flood waits, connected", got)
	}
	if n := len(srv.Messages()); n != 6 {
		t.Errorf("server holds %d messages, want 6 (as many as counted)", n)
	}
	// Every API call once: nothing here was retried.
	if req, wire := got.Requests-s0.Requests, serverCalls()-calls0; req != wire {
		t.Errorf("Requests grew by %d, but the server received %d requests", req, wire)
	}
}

func TestStatsFloodWait(t *testing.T) {
	fresh(t)
	clk := runtimetest.NewClock(time.Date(2026, 3, 29, 4, 0, 0, 0, time.UTC))
	cfg := config(t)
	cfg.Clock = clk
	c := start(t, cfg)
	s0 := c.Stats()

	srv.Inject(telegramtest.Fault{Method: tg.MessagesSendMessageRequestTypeID, Err: tgerr.New(420, "FLOOD_WAIT_3")})
	errc := make(chan error, 1)
	go func() { errc <- c.Send(t.Context(), telegram.Message{To: "me", Text: "x", RandomID: 1}) }()
	// Asleep on the wait: the answer is counted already.
	if err := clk.WaitTimers(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	if got := c.Stats(); got.FloodWaits != 1 || got.FloodWait != 3*time.Second || got.Sends != 0 {
		t.Errorf("during the wait: Stats = %+v, want 1 flood wait of 3s and no send yet", got)
	}
	clk.Advance(3 * time.Second)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	got := c.Stats()
	if got.FloodWaits != 1 || got.FloodWait != 3*time.Second || got.Sends != 1 || got.SendErrors != 0 {
		t.Errorf("after the retry: Stats = %+v, want still 1 flood wait of 3s, and 1 send", got)
	}
	if d := got.Requests - s0.Requests; d != 1 {
		t.Errorf("Requests grew by %d, want 1: one call, however often retried", d)
	}
	if n := srv.Calls(tg.MessagesSendMessageRequestTypeID); n != 2 {
		t.Errorf("server got %d sendMessage requests, want 2 (refused, retried)", n)
	}

	// Answers beyond the cap fail the call, and count all the same.
	srv.Inject(telegramtest.Fault{Method: tg.MessagesSendMessageRequestTypeID, Err: tgerr.New(420, "FLOOD_WAIT_600")})
	srv.Inject(telegramtest.Fault{Method: tg.MessagesSendMessageRequestTypeID, Err: tgerr.New(420, "SLOWMODE_WAIT_400")})
	for i := range 2 {
		if err := c.Send(t.Context(), telegram.Message{To: "me", Text: "y", RandomID: int64(2 + i)}); err == nil {
			t.Fatalf("send %d: a wait beyond the cap was accepted", i)
		}
	}
	got = c.Stats()
	if got.FloodWaits != 3 || got.FloodWait != 1003*time.Second || got.Sends != 1 || got.SendErrors != 2 {
		t.Errorf("after two waits beyond the cap: Stats = %+v, want 3 flood waits of 1003s, 1 send, 2 errors", got)
	}
}

func TestStatsConnected(t *testing.T) {
	fresh(t)
	loggedOut(t)
	cfg := config(t)
	cfg.OutageBudget = time.Minute
	// Hold the login check up, to look at the client while it is connected
	// but not yet logged in.
	srv.Inject(telegramtest.Fault{Method: tg.UsersGetUsersRequestTypeID, Delay: 500 * time.Millisecond})
	c, err := telegram.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	copied, err := os.Stat(cfg.SessionFile)
	if err != nil {
		t.Fatal(err)
	}
	r := runBackground(t, c)
	// The client stores the session (a new file) once connected.
	waitFor(t, "the connection and the login check", func() bool {
		fi, err := os.Stat(cfg.SessionFile)
		return err == nil && !os.SameFile(fi, copied) && srv.Calls(tg.UsersGetUsersRequestTypeID) > 0
	})
	if c.Stats().Connected {
		t.Error("Connected before the login")
	}
	r.awaitLogin(t)
	if !c.Stats().Connected {
		t.Fatal("not Connected after the login")
	}

	t.Cleanup(func() { _ = srv.Start() })
	srv.Stop()
	waitFor(t, "Connected to turn false in the outage", func() bool { return !c.Stats().Connected })
	// A send waits for the connection meanwhile.
	errc := make(chan error, 1)
	go func() { errc <- c.Send(t.Context(), telegram.Message{To: "me", Text: "during", RandomID: 1}) }()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "Connected to turn true after the outage", func() bool { return c.Stats().Connected })
	if err := <-errc; err != nil {
		t.Fatalf("Send after the outage: %v", err)
	}
	if got := c.Stats(); got.Sends != 1 || got.SendErrors != 0 {
		t.Errorf("Stats = %+v, want the send counted once", got)
	}

	// A blip: the connection drops, and the client reconnects after its
	// first backoff pause (100 ms). No call is in flight meanwhile: gotd
	// v0.93.0 has a data race between a call and a closing connection.
	srv.DropConnections()
	waitFor(t, "Connected to turn false after a dropped connection", func() bool { return !c.Stats().Connected })
	waitFor(t, "Connected to return after a dropped connection", func() bool { return c.Stats().Connected })
	if err := c.Send(t.Context(), telegram.Message{To: "me", Text: "after", RandomID: 2}); err != nil {
		t.Fatal(err)
	}

	r.stop(t)
	if c.Stats().Connected {
		t.Error("Connected after Run returned")
	}
}

func TestStatsConcurrent(t *testing.T) {
	fresh(t)
	c := start(t, config(t))
	s0 := c.Stats()
	chats := []string{"me", "@alice", "@bob", "-3001"}
	const each = 25

	done := make(chan struct{})
	var poll sync.WaitGroup
	poll.Go(func() {
		prev := c.Stats()
		for {
			select {
			case <-done:
				return
			default:
			}
			s := c.Stats()
			if s.Sends < prev.Sends || s.SendErrors < prev.SendErrors || s.Requests < prev.Requests || s.FloodWaits < prev.FloodWaits {
				t.Errorf("counters went down: %+v after %+v", s, prev)
				return
			}
			prev = s
		}
	})
	var senders sync.WaitGroup
	for _, to := range chats {
		senders.Go(func() {
			for i := range each {
				rid := telegram.RandomID(t.Name(), to, fmt.Sprint(i))
				if err := c.Send(t.Context(), telegram.Message{To: to, Text: "m", RandomID: rid}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	senders.Wait()
	close(done)
	poll.Wait()

	got := c.Stats()
	want := uint64(len(chats) * each)
	if got.Sends-s0.Sends != want || got.SendErrors != 0 || got.Requests-s0.Requests < want || !got.Connected {
		t.Errorf("Stats = %+v, want %d sends, no errors, at least %d requests, connected", got, want, want)
	}
	if n := len(srv.Messages()); uint64(n) != want {
		t.Errorf("server holds %d messages, want %d", n, want)
	}
}
