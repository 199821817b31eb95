//go:build linux

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gotd/td/tg"
	"github.com/gotd/td/tgerr"

	"github.com/scheduler-dev/scheduler/telegram/telegramtest"
)

const (
	botToken = "1000001:bot-secret-token"
	newsID   = 2001
)

// telegramServer starts an in-process MTProto server with a bot and a
// channel @news, and returns it with the telegram: block that reaches it.
func telegramServer(t *testing.T, dir, extra string) (*telegramtest.Server, string) {
	t.Helper()
	srv, err := telegramtest.New(telegramtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	srv.AddBot(botToken, telegramtest.User{ID: 1000001, Username: "scheduler_bot"})
	srv.AddChannel(telegramtest.Channel{ID: newsID, AccessHash: 7, Username: "news", Title: "News"})
	pem := filepath.Join(dir, "server.pem")
	if err := srv.WritePublicKey(pem); err != nil {
		t.Fatal(err)
	}
	// The job posts every second to one channel: above Telegram's 20 a
	// minute per channel, which the limiter would otherwise (rightly) apply.
	block := fmt.Sprintf("telegram:\n  app_id: 1\n  app_hash: test-app-hash\n  bot_token: ${BOT_TOKEN}\n  server: %s\n  public_key_file: %s\n  rate_limit: {group: 10/s}\n%s",
		srv.Addr(), pem, extra)
	return srv, block
}

// waitMessages waits until the server holds at least n messages.
func waitMessages(t *testing.T, srv *telegramtest.Server, n int) []telegramtest.Message {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		if msgs := srv.Messages(); len(msgs) >= n {
			return msgs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages after %s, want %d", len(srv.Messages()), waitLimit, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkOnce checks that every message is a tick for @news and that no
// scheduled instant was posted twice.
func checkOnce(t *testing.T, msgs []telegramtest.Message) {
	t.Helper()
	tick := regexp.MustCompile(`^tick \d\d:\d\d:\d\d$`)
	seen := map[string]bool{}
	for _, m := range msgs {
		if m.Peer != telegramtest.ChannelPeer(newsID) || !tick.MatchString(m.Text) {
			t.Errorf("message %q to %v, want a tick to @news", m.Text, m.Peer)
		}
		if seen[m.Text] {
			t.Errorf("%q posted twice", m.Text)
		}
		seen[m.Text] = true
	}
}

const tickJob = `jobs:
  - name: news
    schedule: "@every 1s"
    telegram:
      send: {to: "@news", text: "tick {{ .Scheduled.Format \"15:04:05\" }}"}
`

// TestTelegramSendsThroughTheServer runs the binary against the test
// server: the bot logs in, the job posts every second to @news, and a
// FLOOD_WAIT answer is waited out with the message delivered once.
func TestTelegramSendsThroughTheServer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv, block := telegramServer(t, dir, "")
	srv.Inject(telegramtest.Fault{Method: tg.MessagesSendMessageRequestTypeID, Err: tgerr.New(420, "FLOOD_WAIT_1")})
	config := writeFile(t, dir, "config.yaml", "state_dir: state\n"+httpBlock+block+tickJob)

	p := startEnv(t, dir, []string{"BOT_TOKEN=" + botToken}, "run", "--config", config, "--log-format", "json")
	waitMessages(t, srv, 3)
	// /metrics counts the sends and the one flood wait.
	addr := httpAddr(p)
	waitMetric(t, addr, `scheduler_telegram_flood_waits_total 1`)
	// A message is posted before its run's end is counted.
	okRuns := regexp.MustCompile(`(?m)^scheduler_runs_total\{job="news",outcome="ok"\} [3-9]\d*$`)
	metrics := poll(t, "/metrics with "+okRuns.String(), func() (string, bool) {
		_, body := get(t, addr, "/metrics")
		return body, okRuns.MatchString(body)
	})
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^scheduler_telegram_sends_total [3-9]\d*$`),
		regexp.MustCompile(`(?m)^scheduler_telegram_flood_wait_seconds_total 1$`),
		regexp.MustCompile(`(?m)^scheduler_telegram_connected 1$`),
		regexp.MustCompile(`(?m)^scheduler_runs_total\{job="news",outcome="ok"\} [3-9]\d*$`),
	} {
		if !want.MatchString(metrics) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if status, body := get(t, addr, "/healthz"); status != 200 {
		t.Errorf("/healthz: %d %s", status, body)
	}
	p.signal(syscall.SIGTERM)
	if code := p.wait(waitLimit); code != 0 {
		t.Errorf("exit status %d after SIGTERM", code)
	}
	checkOnce(t, srv.Messages())
	if logins := srv.Logins(); len(logins) != 1 {
		t.Errorf("%d logins, want 1", len(logins))
	}
	// The flood-waited request was sent again, with the same random_id,
	// and posted once.
	attempts := map[int64]int{}
	for _, id := range srv.SendAttempts() {
		attempts[id]++
	}
	var retried []int64
	for id, n := range attempts {
		if n > 1 {
			retried = append(retried, id)
		}
	}
	if len(retried) != 1 || attempts[retried[0]] != 2 {
		t.Fatalf("random_ids sent more than once: %v, want one, twice (FLOOD_WAIT, then the retry)", retried)
	}
	posted := 0
	for _, m := range srv.Messages() {
		if m.RandomID == retried[0] {
			posted++
		}
	}
	if posted != 1 {
		t.Errorf("the flood-waited message was posted %d times, want 1", posted)
	}

	for _, l := range p.snapshot() {
		if strings.Contains(l, "bot-secret-token") || strings.Contains(l, "test-app-hash") {
			t.Errorf("a secret in the output: %s", l)
		}
	}
}

// TestTelegramOutageWithinBudget stops the server for less than the outage
// budget: the client reconnects, delivery resumes and nothing is doubled.
func TestTelegramOutageWithinBudget(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv, block := telegramServer(t, dir, "  reconnect: 20s\n")
	config := writeFile(t, dir, "config.yaml", "state_dir: state\n"+httpBlock+block+tickJob)
	p := startEnv(t, dir, []string{"BOT_TOKEN=" + botToken}, "run", "--config", config, "--log-format", "json")

	before := len(waitMessages(t, srv, 2))
	addr := httpAddr(p)
	srv.Stop()
	// /healthz tells the outage.
	waitHealth(t, addr, 503, `"telegram": "disconnected"`)
	time.Sleep(time.Second)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	waitMessages(t, srv, before+3)
	waitHealth(t, addr, 200, `"status": "ok"`)
	p.signal(syscall.SIGTERM)
	if code := p.wait(waitLimit); code != 0 {
		t.Errorf("exit status %d after SIGTERM", code)
	}
	checkOnce(t, srv.Messages())
}

// TestTelegramOutageBeyondBudget stops the server for good: once the
// outage budget is spent the loop shuts down gracefully and the process
// exits 1, for systemd's Restart=on-failure.
func TestTelegramOutageBeyondBudget(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv, block := telegramServer(t, dir, "  reconnect: 2s\n")
	config := writeFile(t, dir, "config.yaml", "state_dir: state\n"+block+tickJob)
	p := startEnv(t, dir, []string{"BOT_TOKEN=" + botToken}, "run", "--config", config, "--log-format", "json")
	waitMessages(t, srv, 1)
	srv.Stop()
	if code := p.wait(waitLimit); code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	p.waitRecord("loop stopped")
	p.waitFor("the disconnect reported", 1, func(l string) bool {
		return strings.Contains(l, "scheduler stopped") && strings.Contains(l, "disconnected")
	})
}

// TestTelegramBadBotToken checks a refused login: exit 1 with a clear
// message that does not show the token, and nothing sent.
func TestTelegramBadBotToken(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv, block := telegramServer(t, dir, "")
	config := writeFile(t, dir, "config.yaml", "state_dir: state\n"+block+tickJob)
	p := startEnv(t, dir, []string{"BOT_TOKEN=1000001:wrong-secret"}, "run", "--config", config, "--log-format", "json")
	if code := p.wait(waitLimit); code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	// The exit is seen before the last lines are read from the pipe: wait
	// for the error line rather than read what has arrived so far.
	p.waitFor("a clear login error", 1, func(l string) bool { return strings.Contains(l, "ACCESS_TOKEN_INVALID") })
	if out := strings.Join(p.snapshot(), "\n"); strings.Contains(out, "wrong-secret") {
		t.Errorf("the token is in the output:\n%s", out)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("%d messages sent without a login", n)
	}
}

// TestTelegramUserLogin logs a user account in with `scheduler login`
// (phone, code and 2FA password on standard input), then runs a job that
// sends a message to the account's own chat ("me") through that session.
func TestTelegramUserLogin(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv, err := telegramtest.New(telegramtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	const userID = 5550001
	if err := srv.AddAccount(telegramtest.Account{
		User: telegramtest.User{ID: userID, Username: "alice", Phone: "+15550001111"},
		Code: "12345", Password: "two-factor-secret",
	}); err != nil {
		t.Fatal(err)
	}
	pem := filepath.Join(dir, "server.pem")
	if err := srv.WritePublicKey(pem); err != nil {
		t.Fatal(err)
	}
	config := writeFile(t, dir, "config.yaml", fmt.Sprintf(`state_dir: state
telegram:
  app_id: 1
  app_hash: test-app-hash
  server: %s
  public_key_file: %s
jobs:
  - name: note-to-self
    schedule: "@every 1s"
    telegram:
      send: {to: me, text: "Using the scheduler!"}
`, srv.Addr(), pem))

	login := exec.Command(binary(t), "login", "--config", config)
	login.Dir = dir
	login.Env = environ()
	login.Stdin = strings.NewReader("+15550001111\n12345\ntwo-factor-secret\n")
	out, err := login.CombinedOutput()
	if err != nil {
		t.Fatalf("scheduler login: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "two-factor-secret") {
		t.Errorf("the password was echoed:\n%s", out)
	}
	info, err := os.Stat(filepath.Join(dir, "state", "telegram.session"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("session file: %v, mode %v, want 0600", err, info.Mode())
	}

	p := start(t, dir, "run", "--config", config, "--log-format", "json")
	msgs := waitMessages(t, srv, 1)
	p.signal(syscall.SIGTERM)
	if code := p.wait(waitLimit); code != 0 {
		t.Errorf("exit status %d", code)
	}
	if m := msgs[0]; m.Peer != telegramtest.UserPeer(userID) || m.From != userID || m.Text != "Using the scheduler!" {
		t.Errorf("message %+v, want a note to self", m)
	}
}
