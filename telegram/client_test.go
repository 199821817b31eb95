package telegram_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gotd/td/tg"
	"github.com/gotd/td/tgerr"

	"github.com/scheduler-dev/scheduler/runtime/runtimetest"
	"github.com/scheduler-dev/scheduler/telegram"
	"github.com/scheduler-dev/scheduler/telegram/telegramtest"
)

func TestBotLogin(t *testing.T) {
	fresh(t)
	loggedOut(t)
	cfg := config(t)
	// A session file readable by others gets rewritten with mode 0600.
	if err := os.Chmod(cfg.SessionFile, 0o644); err != nil {
		t.Fatal(err)
	}
	c := start(t, cfg)

	logins := srv.Logins()
	if len(logins) != 1 || logins[0] != (telegramtest.Login{UserID: botUser, APIID: appID, Bot: true, Date: logins[0].Date}) {
		t.Fatalf("server logins = %+v, want one bot login of user %d with api_id %d", logins, botUser, appID)
	}
	if err := c.Send(t.Context(), telegram.Message{To: "me", Text: "logged in", RandomID: 1}); err != nil {
		t.Fatal(err)
	}
	c.stop(t)
	fi, err := os.Stat(cfg.SessionFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("session file mode = %v, want 0600", fi.Mode().Perm())
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(cfg.SessionFile), ".*tmp*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left beside the session: %v", leftovers)
	}
	// A restart reuses the stored login: no second bot login.
	start(t, cfg)
	if n := len(srv.Logins()); n != 1 {
		t.Errorf("%d logins after a restart, want still 1", n)
	}
}

func TestBadBotToken(t *testing.T) {
	fresh(t)
	loggedOut(t)
	const bad = "7000001:this-is-a-wrong-secret"
	cfg := config(t)
	cfg.BotToken = bad
	c, err := telegram.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	called := false
	err = c.Run(t.Context(), func(context.Context) error { called = true; return nil })
	if err == nil {
		t.Fatal("Run succeeded with a wrong bot token")
	}
	if called {
		t.Error("Run called f although the login failed")
	}
	msg := err.Error()
	if !strings.Contains(msg, "ACCESS_TOKEN_INVALID") || !strings.Contains(msg, "bot login") {
		t.Errorf("error %q does not say the bot login failed with ACCESS_TOKEN_INVALID", msg)
	}
	if strings.Contains(msg, "this-is-a-wrong-secret") || strings.Contains(msg, appHash) {
		t.Errorf("error %q leaks a secret", msg)
	}
	if len(srv.Messages()) != 0 {
		t.Error("something was sent without a login")
	}
}

func TestSend(t *testing.T) {
	fresh(t)
	c := start(t, config(t))
	tests := []struct {
		to   string
		peer telegramtest.Peer
	}{
		{"me", telegramtest.UserPeer(botUser)},
		{"@alice", telegramtest.UserPeer(alice.ID)},
		{"@ALICE", telegramtest.UserPeer(alice.ID)},
		{"1002", telegramtest.UserPeer(bob.ID)},
		{"https://t.me/carol", telegramtest.UserPeer(carol.ID)},
		{"@news", telegramtest.ChannelPeer(news.ID)},
		{"-1000000002001", telegramtest.ChannelPeer(news.ID)},
		{"-3001", telegramtest.ChatPeer(group.ID)},
	}
	for i, tt := range tests {
		t.Run(tt.to, func(t *testing.T) {
			text := "hello " + tt.to
			rid := telegram.RandomID(t.Name())
			m := telegram.Message{To: tt.to, Text: text, Silent: i%2 == 0, NoLinkPreview: i%3 == 0, RandomID: rid}
			if err := c.Send(t.Context(), m); err != nil {
				t.Fatal(err)
			}
			all := srv.Messages()
			got := all[len(all)-1]
			if got.Peer != tt.peer || got.Text != text || got.From != botUser || got.RandomID != rid ||
				got.Silent != m.Silent || got.NoWebpage != m.NoLinkPreview {
				t.Errorf("server got %+v, want to %v text %q from %d random_id %d silent %v no_webpage %v",
					got, tt.peer, text, botUser, rid, m.Silent, m.NoLinkPreview)
			}
		})
	}
	if n := len(srv.Messages()); n != len(tests) {
		t.Errorf("server holds %d messages, want %d", n, len(tests))
	}
}

func TestSendMarkup(t *testing.T) {
	fresh(t)
	c := start(t, config(t))
	err := c.Send(t.Context(), telegram.Message{To: "me", ParseMode: telegram.ParseModeMarkdown, RandomID: 7,
		Text: "*Hourly* news: [read](https://example.com/a) 🙂 _now_"})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Send(t.Context(), telegram.Message{To: "me", ParseMode: telegram.ParseModeHTML, RandomID: 8,
		Text: "<b>Hourly</b> <i>news</i>"})
	if err != nil {
		t.Fatal(err)
	}
	got := srv.Messages()
	if len(got) != 2 {
		t.Fatalf("server holds %d messages, want 2", len(got))
	}
	if want := "Hourly news: read 🙂 now"; got[0].Text != want {
		t.Errorf("markdown text = %q, want %q", got[0].Text, want)
	}
	wantMD := []tg.MessageEntityClass{
		&tg.MessageEntityBold{Offset: 0, Length: 6},
		&tg.MessageEntityTextURL{Offset: 13, Length: 4, URL: "https://example.com/a"},
		// 🙂 is two UTF-16 units: "now" starts at 21.
		&tg.MessageEntityItalic{Offset: 21, Length: 3},
	}
	if !entitiesEqual(got[0].Entities, wantMD) {
		t.Errorf("markdown entities = %v, want %v", got[0].Entities, wantMD)
	}
	if want := "Hourly news"; got[1].Text != want {
		t.Errorf("html text = %q, want %q", got[1].Text, want)
	}
	wantHTML := []tg.MessageEntityClass{
		&tg.MessageEntityBold{Offset: 0, Length: 6},
		&tg.MessageEntityItalic{Offset: 7, Length: 4},
	}
	if !entitiesEqual(got[1].Entities, wantHTML) {
		t.Errorf("html entities = %v, want %v", got[1].Entities, wantHTML)
	}
	err = c.Send(t.Context(), telegram.Message{To: "me", ParseMode: telegram.ParseModeMarkdown, Text: "5 * 3"})
	if err == nil || !strings.Contains(err.Error(), `"*" at byte 2 is never closed`) {
		t.Errorf("unbalanced markdown: err = %v", err)
	}
}

func entitiesEqual(a, b []tg.MessageEntityClass) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].String() != b[i].String() {
			return false
		}
	}
	return true
}

func TestRetryAfterLostAnswerPostsOnce(t *testing.T) {
	fresh(t)
	c := start(t, config(t))
	// The server posts the message, then drops the connection before
	// answering: the client must reconnect and resend the same random_id.
	srv.Inject(telegramtest.Fault{Method: tg.MessagesSendMessageRequestTypeID, Disconnect: true})
	rid := telegram.RandomID("job", "2026-03-29T04:00:00Z", "send")
	if err := c.Send(t.Context(), telegram.Message{To: "@alice", Text: "once", RandomID: rid}); err != nil {
		t.Fatal(err)
	}
	if got := countOf(srv.SendAttempts(), rid); got != 2 {
		t.Errorf("server saw random_id %d %d times, want 2 (the lost attempt and the retry)", rid, got)
	}
	if got := messagesTo(telegramtest.UserPeer(alice.ID)); len(got) != 1 || got[0].RandomID != rid {
		t.Errorf("alice got %v, want the message once", got)
	}
}

func TestSlowAnswer(t *testing.T) {
	fresh(t)
	c := start(t, config(t))
	srv.Inject(telegramtest.Fault{Method: tg.MessagesSendMessageRequestTypeID, Delay: 300 * time.Millisecond})
	done := make(chan error, 1)
	go func() { done <- c.Send(t.Context(), telegram.Message{To: "@alice", Text: "slow", RandomID: 3}) }()
	// Meanwhile the connection serves other calls.
	if err := c.Send(t.Context(), telegram.Message{To: "@bob", Text: "fast", RandomID: 4}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := texts(srv.Messages()); len(got) != 2 {
		t.Errorf("server holds %q, want both messages", got)
	}
}

func TestFloodWait(t *testing.T) {
	fresh(t)
	clk := runtimetest.NewClock(time.Date(2026, 3, 29, 4, 0, 0, 0, time.UTC))
	srv.SetClock(clk)
	cfg := config(t)
	cfg.Clock = clk
	c := start(t, cfg)
	t0 := clk.Now()

	// Resolve the chats first so nothing but the waits is in the way.
	for i, to := range []string{"@alice", "@bob", "@news"} {
		if err := c.Send(t.Context(), telegram.Message{To: to, Text: "warm-up", RandomID: int64(100 + i)}); err != nil {
			t.Fatal(err)
		}
	}
	srv.Reset()
	srv.SetClock(clk)

	srv.Inject(telegramtest.Fault{Method: tg.MessagesSendMessageRequestTypeID, Peer: telegramtest.UserPeer(alice.ID),
		Err: tgerr.New(420, "FLOOD_WAIT_30")})
	srv.Inject(telegramtest.Fault{Method: tg.MessagesSendMessageRequestTypeID, Peer: telegramtest.ChannelPeer(news.ID),
		Err: tgerr.New(420, "SLOWMODE_WAIT_10")})
	errc := make(chan error, 4)
	send := func(to, text string, rid int64) {
		go func() { errc <- c.Send(t.Context(), telegram.Message{To: to, Text: text, RandomID: rid}) }()
	}
	send("@alice", "a1", 1)
	send("@news", "n1", 5)
	if err := clk.WaitTimers(t.Context(), 2); err != nil {
		t.Fatal(err)
	}
	// A second send to alice waits out the same flood wait.
	send("@alice", "a2", 2)
	if err := clk.WaitTimers(t.Context(), 3); err != nil {
		t.Fatal(err)
	}
	// Other chats go on meanwhile.
	if err := c.Send(t.Context(), telegram.Message{To: "@bob", Text: "b1", RandomID: 3}); err != nil {
		t.Fatal(err)
	}
	if got := texts(srv.Messages()); len(got) != 1 || got[0] != "b1" {
		t.Fatalf("during the waits the server got %q, want only b1", got)
	}

	clk.Advance(10 * time.Second)
	waitFor(t, "the slow-mode wait to end", func() bool { return len(messagesTo(telegramtest.ChannelPeer(news.ID))) == 1 })
	clk.Advance(19 * time.Second)
	if got := messagesTo(telegramtest.UserPeer(alice.ID)); len(got) != 0 {
		t.Fatalf("alice got %q before her 30s flood wait ended", texts(got))
	}
	clk.Advance(time.Second)
	for range 3 {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	got := messagesTo(telegramtest.UserPeer(alice.ID))
	if len(got) != 2 {
		t.Fatalf("alice got %q, want a1 and a2 once each", texts(got))
	}
	for _, m := range got {
		if !m.Date.Equal(t0.Add(30 * time.Second)) {
			t.Errorf("%s arrived at +%s, want +30s", m.Text, m.Date.Sub(t0))
		}
	}
	if n := countOf(srv.SendAttempts(), 1); n != 2 {
		t.Errorf("a1 was sent %d times, want 2 (refused, then after the wait)", n)
	}
	if n := countOf(srv.SendAttempts(), 2); n != 1 {
		t.Errorf("a2 was sent %d times, want 1 (it waited before sending)", n)
	}
}

func TestFloodWaitBeyondCap(t *testing.T) {
	fresh(t)
	c := start(t, config(t))
	srv.Inject(telegramtest.Fault{Method: tg.MessagesSendMessageRequestTypeID, Err: tgerr.New(420, "FLOOD_WAIT_600")})
	err := c.Send(t.Context(), telegram.Message{To: "@alice", Text: "x", RandomID: 1})
	if err == nil {
		t.Fatal("a 10 minute flood wait was accepted with a 5 minute cap")
	}
	for _, want := range []string{"@alice", "10m0s", "flood wait cap of 5m0s", "FLOOD_WAIT"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if len(srv.Messages()) != 0 {
		t.Error("a message was posted")
	}
}

func TestPeersCacheSurvivesRestart(t *testing.T) {
	fresh(t)
	cfg := config(t)
	sendAll := func(c *running, round int) {
		t.Helper()
		for i, to := range []string{"@alice", "@news", "1002", "-1000000002001"} {
			rid := telegram.RandomID("peers", to, string(rune('0'+round)))
			if err := c.Send(t.Context(), telegram.Message{To: to, Text: "hi", RandomID: rid}); err != nil {
				t.Fatalf("round %d, send %d: %v", round, i, err)
			}
		}
	}
	c := start(t, cfg)
	sendAll(c, 1)
	resolves := srv.Calls(tg.ContactsResolveUsernameRequestTypeID)
	if resolves != 2 {
		t.Errorf("first run resolved %d usernames, want 2", resolves)
	}
	// The channel's numeric ID was learned when @news was resolved.
	if n := srv.Calls(tg.ChannelsGetChannelsRequestTypeID); n != 0 {
		t.Errorf("channels.getChannels called %d times, want 0", n)
	}
	c.stop(t)
	fi, err := os.Stat(cfg.SessionFile + ".peers")
	if err != nil {
		t.Fatalf("peers file: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("peers file mode = %v, want 0600", fi.Mode().Perm())
	}

	getUsers := srv.Calls(tg.UsersGetUsersRequestTypeID)
	c = start(t, cfg)
	sendAll(c, 2)
	if n := srv.Calls(tg.ContactsResolveUsernameRequestTypeID); n != resolves {
		t.Errorf("after a restart contacts.resolveUsername was called %d more times, want 0", n-resolves)
	}
	// The only users.getUsers is the login check of the new run.
	if n := srv.Calls(tg.UsersGetUsersRequestTypeID) - getUsers; n != 1 {
		t.Errorf("after a restart users.getUsers was called %d times, want 1 (the login check)", n)
	}
	if n := len(srv.Messages()); n != 8 {
		t.Errorf("server holds %d messages, want 8", n)
	}
}

func TestStalePeerIsResolvedAgain(t *testing.T) {
	fresh(t)
	c := start(t, config(t))
	if err := c.Send(t.Context(), telegram.Message{To: "@carol", Text: "one", RandomID: 1}); err != nil {
		t.Fatal(err)
	}
	// Carol's access hash changes: the cached one now gets PEER_ID_INVALID.
	changed := carol
	changed.AccessHash = 777
	srv.AddUser(changed)
	t.Cleanup(func() { srv.AddUser(carol) })
	if err := c.Send(t.Context(), telegram.Message{To: "@carol", Text: "two", RandomID: 2}); err != nil {
		t.Fatal(err)
	}
	if n := srv.Calls(tg.ContactsResolveUsernameRequestTypeID); n != 2 {
		t.Errorf("@carol resolved %d times, want 2", n)
	}
	if got := texts(messagesTo(telegramtest.UserPeer(carol.ID))); len(got) != 2 {
		t.Errorf("carol got %q, want both", got)
	}

	err := c.Send(t.Context(), telegram.Message{To: "@nobody_here", Text: "x"})
	if err == nil || !strings.Contains(err.Error(), "USERNAME_NOT_OCCUPIED") || !strings.Contains(err.Error(), "@nobody_here") {
		t.Errorf("send to an unknown username: err = %v, want USERNAME_NOT_OCCUPIED naming the chat", err)
	}
	err = c.Send(t.Context(), telegram.Message{To: "424242", Text: "x"})
	if err == nil || !strings.Contains(err.Error(), "user 424242 is unknown") {
		t.Errorf("send to an unknown user ID: err = %v", err)
	}
}

func TestOutageWithinBudget(t *testing.T) {
	fresh(t)
	cfg := config(t)
	cfg.OutageBudget = time.Minute
	c := start(t, cfg)
	if err := c.Send(t.Context(), telegram.Message{To: "@alice", Text: "before", RandomID: 1}); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	// Send once the client has seen the connection go: a call starting as
	// the connection closes trips a data race inside gotd v0.93.0 (fixed
	// upstream in gotd/td#1776), which -race reports.
	waitFor(t, "the client to see the outage", func() bool { return !c.Stats().Connected })
	errc := make(chan error, 1)
	go func() { errc <- c.Send(t.Context(), telegram.Message{To: "@alice", Text: "during", RandomID: 2}) }()
	// Let the send fail against the stopped server a few times.
	time.Sleep(300 * time.Millisecond)
	select {
	case err := <-errc:
		t.Fatalf("Send returned during the outage: %v", err)
	default:
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("Send after the outage: %v", err)
	}
	if err := c.Send(t.Context(), telegram.Message{To: "@alice", Text: "after", RandomID: 3}); err != nil {
		t.Fatal(err)
	}
	if got := texts(messagesTo(telegramtest.UserPeer(alice.ID))); strings.Join(got, ",") != "before,during,after" {
		t.Errorf("alice got %q, want before, during, after once each", got)
	}
	select {
	case <-c.done:
		t.Fatalf("Run returned after a short outage: %v", c.err)
	default:
	}
}

func TestOutageBeyondBudget(t *testing.T) {
	fresh(t)
	clk := runtimetest.NewClock(time.Date(2026, 3, 29, 4, 0, 0, 0, time.UTC))
	cfg := config(t)
	cfg.Clock = clk
	cfg.OutageBudget = time.Minute
	c := start(t, cfg)
	t.Cleanup(func() { _ = srv.Start() })
	srv.Stop()
	// The budget runs on the client's clock; reconnect attempts on real
	// time. Move the clock on until the client gives up.
	deadline := time.After(20 * time.Second)
	for waiting := true; waiting; {
		select {
		case <-c.done:
			waiting = false
		case <-deadline:
			t.Fatal("Run did not give up after the outage budget")
		case <-time.After(10 * time.Millisecond):
			clk.Advance(15 * time.Second)
		}
	}
	if !errors.Is(c.err, telegram.ErrDisconnected) {
		t.Fatalf("Run = %v, want ErrDisconnected", c.err)
	}
	if !strings.Contains(c.err.Error(), "1m0s") {
		t.Errorf("error %q does not name the budget", c.err)
	}
	if c.fctx.Err() == nil {
		t.Error("f's context is still live after the client gave up")
	}
	c.err = nil // checked; the cleanup expects a clean Run
	err := c.Send(context.Background(), telegram.Message{To: "me", Text: "too late"})
	if !errors.Is(err, telegram.ErrDisconnected) {
		t.Errorf("Send after giving up = %v, want ErrDisconnected", err)
	}
}

func TestNotLoggedInUserSession(t *testing.T) {
	fresh(t)
	loggedOut(t)
	cfg := config(t)
	cfg.BotToken = ""
	c, err := telegram.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Run(t.Context(), func(context.Context) error { t.Error("f called without a login"); return nil })
	if !errors.Is(err, telegram.ErrNotLoggedIn) || !strings.Contains(err.Error(), "scheduler login") {
		t.Errorf("Run = %v, want ErrNotLoggedIn pointing at scheduler login", err)
	}
}
