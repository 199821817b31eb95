package telegram_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scheduler-dev/scheduler/telegram"
	"github.com/scheduler-dev/scheduler/telegram/telegramtest"
)

func TestSendFile(t *testing.T) {
	fresh(t)
	c := start(t, config(t))
	dir := t.TempDir()
	report := filepath.Join(dir, "report.json")
	// Two upload parts (gotd uploads small files in 512 KiB parts).
	data := bytes.Repeat([]byte("day,count\n2026-03-29,42\n"), 30000)
	if err := os.WriteFile(report, data, 0o644); err != nil {
		t.Fatal(err)
	}
	photo := filepath.Join(dir, "chart.jpg")
	img := make([]byte, 2000)
	_, _ = rand.Read(img)
	if err := os.WriteFile(photo, img, 0o644); err != nil {
		t.Fatal(err)
	}

	err := c.SendFile(t.Context(), telegram.File{To: "@alice", Path: report, Caption: "*daily* report",
		ParseMode: telegram.ParseModeMarkdown, RandomID: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SendFile(t.Context(), telegram.File{To: "@news", Path: photo, Photo: true, Silent: true, RandomID: 2}); err != nil {
		t.Fatal(err)
	}
	got := srv.Messages()
	if len(got) != 2 {
		t.Fatalf("server holds %d messages, want 2", len(got))
	}
	doc := got[0]
	if doc.Peer != telegramtest.UserPeer(alice.ID) || doc.Media == nil || doc.Media.Photo ||
		doc.Media.Name != "report.json" || doc.Media.MimeType != "application/json" ||
		!bytes.Equal(doc.Media.Data, data) || doc.Text != "daily report" || len(doc.Entities) != 1 {
		t.Errorf("document message = %+v (media name %q type %q, %d bytes)", doc, doc.Media.Name, doc.Media.MimeType, len(doc.Media.Data))
	}
	ph := got[1]
	if ph.Peer != telegramtest.ChannelPeer(news.ID) || ph.Media == nil || !ph.Media.Photo ||
		!bytes.Equal(ph.Media.Data, img) || !ph.Silent {
		t.Errorf("photo message = %+v", ph)
	}

	err = c.SendFile(t.Context(), telegram.File{To: "me", Path: filepath.Join(dir, "missing.txt")})
	if err == nil || !strings.Contains(err.Error(), "missing.txt") {
		t.Errorf("missing file: err = %v", err)
	}
}

func TestForwardAndMessages(t *testing.T) {
	fresh(t)
	from := telegramtest.ChannelPeer(news.ID)
	srv.AddHistory(from, alice.ID, "hello")

	// Telegram lets only user accounts read history.
	bot := start(t, config(t))
	_, err := bot.Messages(t.Context(), "@news", 1)
	if err == nil || !strings.Contains(err.Error(), "BOT_METHOD_INVALID") || !strings.Contains(err.Error(), "user account") {
		t.Errorf("a bot reading history: err = %v, want BOT_METHOD_INVALID and a hint", err)
	}
	bot.stop(t)

	// As alice, a user account.
	if err := srv.LogIn(session, alice.ID); err != nil {
		t.Fatal(err)
	}
	cfg := config(t)
	cfg.BotToken = ""
	c := start(t, cfg)
	for _, text := range []string{"old", "first", "second", "third"} {
		srv.AddHistory(from, alice.ID, text)
	}

	msgs, err := c.Messages(t.Context(), "@news", 3)
	if err != nil {
		t.Fatal(err)
	}
	var gotTexts []string
	for _, m := range msgs {
		gotTexts = append(gotTexts, m.Text)
		if m.From != alice.ID || m.ID == 0 || m.Date.IsZero() {
			t.Errorf("message %+v: want ID, date and sender %d", m, alice.ID)
		}
	}
	if strings.Join(gotTexts, ",") != "first,second,third" {
		t.Errorf("Messages = %q, want the last three oldest first", gotTexts)
	}

	fwd := telegram.Forward{From: "@news", To: "@bob", Limit: 2, DropAuthor: true, RandomID: telegram.RandomID("fwd")}
	n, err := c.Forward(t.Context(), fwd)
	if err != nil || n != 2 {
		t.Fatalf("Forward = %d, %v; want 2", n, err)
	}
	// A retry of the same run forwards nothing twice.
	if _, err := c.Forward(t.Context(), fwd); err != nil {
		t.Fatal(err)
	}
	got := messagesTo(telegramtest.UserPeer(bob.ID))
	if strings.Join(texts(got), ",") != "second,third" {
		t.Fatalf("bob got %q, want second and third once each", texts(got))
	}
	for _, m := range got {
		if m.Forwarded == nil || m.Forwarded.From != from || !m.Forwarded.DropAuthor {
			t.Errorf("forwarded message %+v lacks its origin", m)
		}
	}
}

func TestProfilePhoto(t *testing.T) {
	fresh(t)
	// Bigger than one download part (gotd fetches 512 KiB at a time).
	pic := make([]byte, 700_000)
	_, _ = rand.Read(pic)
	withPhoto := alice
	withPhoto.Photo = pic
	srv.AddUser(withPhoto)
	t.Cleanup(func() { srv.AddUser(alice) })
	c := start(t, config(t))

	dir := t.TempDir()
	path, err := c.ProfilePhoto(t.Context(), "@alice", dir+"/photos/")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "photos", "alice.jpg"); path != want {
		t.Errorf("ProfilePhoto wrote %s, want %s", path, want)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, pic) {
		t.Errorf("downloaded %d bytes, not the %d-byte photo", len(got), len(pic))
	}

	_, err = c.ProfilePhoto(t.Context(), "@bob", dir)
	if !errors.Is(err, telegram.ErrNoPhoto) {
		t.Errorf("chat without a photo: err = %v, want ErrNoPhoto", err)
	}
}
