package jobs

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scheduler-dev/scheduler/runtime"
	"github.com/scheduler-dev/scheduler/telegram"
	"github.com/scheduler-dev/scheduler/telegram/telegramtest"
)

// TestTelegramGather runs the seed documents' asyncio.gather example as a
// parallel job against a real MTProto server, as a logged-in user: read
// the last messages of @telegram, send one to yourself and download
// @telegram's profile photo, all at once.
func TestTelegramGather(t *testing.T) {
	dir := t.TempDir()
	srv, pem := newServer(t, dir)
	const me = 7001
	photo := []byte("\xff\xd8\xff\xe0 a jpeg, as far as this test cares")
	srv.AddUser(telegramtest.User{ID: me, Username: "alice", FirstName: "Alice"})
	srv.AddChannel(telegramtest.Channel{ID: 3001, AccessHash: 9, Username: "telegram", Title: "Telegram", Photo: photo})
	for i := range 12 {
		srv.AddHistory(telegramtest.ChannelPeer(3001), 0, fmt.Sprintf("news %d", i))
	}

	session, err := srv.Session(t.Context(), 1, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.LogIn(session, me); err != nil {
		t.Fatal(err)
	}
	sessionFile := filepath.Join(dir, "telegram.session")
	if err := os.WriteFile(sessionFile, session, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := mustParse(t, fmt.Sprintf(`telegram:
  app_id: 1
  app_hash: h
  session_file: %s
  server: %s
  public_key_file: %s
jobs:
  - name: morning
    schedule: "0 9 * * MON-FRI"
    parallel:
      - telegram: {messages: {chat: "@telegram", limit: 10}}
      - telegram: {send: {to: me, text: "Using the scheduler!"}}
      - telegram: {profile_photo: {chat: "@telegram", path: %s/}}
`, sessionFile, srv.Addr(), pem, dir), nil)

	client, err := telegram.NewClient(*cfg.Telegram)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	deps := Deps{Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Telegram: client}
	run := runtime.Run{Job: "morning", Scheduled: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), Attempt: 1}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := client.Run(ctx, func(ctx context.Context) error {
		return cfg.job(t, "morning").Func(deps)(ctx, run)
	}); err != nil {
		t.Fatal(err)
	}

	msgs := srv.Messages()
	var sent []string
	for _, m := range msgs {
		if m.Peer == telegramtest.UserPeer(me) {
			sent = append(sent, m.Text)
		}
	}
	if len(sent) != 1 || sent[0] != "Using the scheduler!" {
		t.Errorf("messages to self: %q", sent)
	}
	for i := 2; i < 12; i++ {
		if !strings.Contains(logs.String(), fmt.Sprintf(`"msg":"news %d"`, i)) {
			t.Errorf("message %q not in the log", fmt.Sprintf("news %d", i))
		}
	}
	if strings.Contains(logs.String(), `"msg":"news 1"`) {
		t.Error("more than the last 10 messages were read")
	}
	got, err := os.ReadFile(filepath.Join(dir, "telegram.jpg"))
	if err != nil || !bytes.Equal(got, photo) {
		t.Errorf("profile photo: %v, %d bytes", err, len(got))
	}
}

// TestAlertTelegramToAdmin sends a failed job's on_failure to an admin
// chat, as a bot, against a real MTProto server: the message carries the
// run's error and output, and sending the alert again for the same run
// (same random_id, distinct from the job's own steps') posts nothing new.
func TestAlertTelegramToAdmin(t *testing.T) {
	dir := t.TempDir()
	srv, pem := newServer(t, dir)
	const admin = 4242
	srv.AddBot("1000001:secret", telegramtest.User{ID: 1000001, Username: "alerts_bot"})
	srv.AddUser(telegramtest.User{ID: admin, AccessHash: 5, Username: "admin", FirstName: "Admin"})
	cfg := mustParse(t, fmt.Sprintf(`telegram:
  app_id: 1
  app_hash: h
  bot_token: ${BOT_TOKEN}
  session_file: %s/telegram.session
  server: %s
  public_key_file: %s
jobs:
  - name: backup
    schedule: "30 3 * * *"
    exec: {command: "echo 'disk full' >&2; exit 1", shell: true}
    on_failure:
      - telegram:
          send:
            to: "@admin"
            text: "{{ .Job }}: {{ .Outcome }} after {{ .Attempts }} attempt(s): {{ .Error }}\n{{ .Output }}"
`, dir, srv.Addr(), pem), map[string]string{"BOT_TOKEN": "1000001:secret"})

	client, err := telegram.NewClient(*cfg.Telegram)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	rj := cfg.RuntimeJobs(Deps{Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Telegram: client})[0]
	run := runtime.Run{Job: "backup", Scheduled: time.Date(2026, 3, 2, 3, 30, 0, 0, time.UTC), Attempt: 1}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := client.Run(ctx, func(ctx context.Context) error {
		runErr := rj.Func(ctx, run)
		if runErr == nil {
			return fmt.Errorf("the job succeeded")
		}
		rep := runtime.Report{Run: run, Start: run.Scheduled, End: run.Scheduled.Add(time.Second), Outcome: runtime.OutcomeFailed, Err: runErr}
		rj.Policy.OnEnd(ctx, rep)
		rj.Policy.OnEnd(ctx, rep) // as if sent again for the same run
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	var texts []string
	for _, m := range srv.Messages() {
		if m.Peer == telegramtest.UserPeer(admin) {
			texts = append(texts, m.Text)
		}
	}
	want := "backup: failed after 1 attempt(s): job backup: exec: command failed: exit status 1\ndisk full"
	if len(texts) != 1 || strings.TrimSpace(texts[0]) != want {
		t.Errorf("messages to the admin: %q, want one: %q", texts, want)
	}
	sched := run.Scheduled.Format(time.RFC3339Nano)
	alertID := telegram.RandomID("backup", sched, "on_failure[0].telegram.send")
	if ids := srv.SendAttempts(); len(ids) != 2 || ids[0] != alertID || ids[1] != alertID {
		t.Errorf("random_ids sent %v, want twice %d", ids, alertID)
	}
	if alertID == telegram.RandomID("backup", sched, "telegram.send") {
		t.Error("the alert's random_id is the one of the job's own send step")
	}
	if strings.Contains(logs.String(), "alert failed") || strings.Contains(logs.String(), "1000001:secret") {
		t.Errorf("log: %s", logs.String())
	}
}

// newServer starts an in-process MTProto server for the test and writes
// its public key into dir; it returns the server and the key's path.
func newServer(t *testing.T, dir string) (*telegramtest.Server, string) {
	t.Helper()
	srv, err := telegramtest.New(telegramtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	pem := filepath.Join(dir, "server.pem")
	if err := srv.WritePublicKey(pem); err != nil {
		t.Fatal(err)
	}
	return srv, pem
}
