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
	srv, err := telegramtest.New(telegramtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	const me = 7001
	photo := []byte("\xff\xd8\xff\xe0 a jpeg, as far as this test cares")
	srv.AddUser(telegramtest.User{ID: me, Username: "alice", FirstName: "Alice"})
	srv.AddChannel(telegramtest.Channel{ID: 3001, AccessHash: 9, Username: "telegram", Title: "Telegram", Photo: photo})
	for i := range 12 {
		srv.AddHistory(telegramtest.ChannelPeer(3001), 0, fmt.Sprintf("news %d", i))
	}

	dir := t.TempDir()
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
	pem := filepath.Join(dir, "server.pem")
	if err := srv.WritePublicKey(pem); err != nil {
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
