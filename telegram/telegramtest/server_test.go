package telegramtest_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/gotd/td/telegram"
	"github.com/gotd/td/tg"

	"github.com/scheduler-dev/scheduler/telegram/telegramtest"
)

// TestServer checks what tests of clients rely on: a session made once
// keeps working across Stop and Start on the same port, and connections
// that vanish before speaking MTProto do not take the server down.
func TestServer(t *testing.T) {
	srv, err := telegramtest.New(telegramtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	const token = "1000001:secret"
	srv.AddBot(token, telegramtest.User{ID: 1000001, AccessHash: 5, Username: "test_bot"})
	srv.AddUser(telegramtest.User{ID: 42, AccessHash: 7, Username: "alice"})

	for range 3 {
		c, err := net.Dial("tcp", srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c.Write([]byte{0xee, 0xee}) // half a transport header
		_ = c.Close()
	}
	data, err := srv.Session(t.Context(), 1, token)
	if err != nil {
		t.Fatal(err)
	}

	addr := srv.Addr()
	srv.Stop()
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("stopped server still accepts connections")
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	if srv.Addr() != addr {
		t.Errorf("restarted on %s, want %s", srv.Addr(), addr)
	}

	// The session, logged in before the restart, sends right away.
	opts := srv.ClientOptions()
	var store memory
	store.data = data
	opts.SessionStorage = &store
	client := telegram.NewClient(1, "hash", opts)
	err = client.Run(t.Context(), func(ctx context.Context) error {
		_, err := client.API().MessagesSendMessage(ctx, &tg.MessagesSendMessageRequest{
			Peer: &tg.InputPeerUser{UserID: 42, AccessHash: 7}, Message: "hi", RandomID: 99,
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 || msgs[0].Peer != telegramtest.UserPeer(42) || msgs[0].Text != "hi" || msgs[0].From != 1000001 {
		t.Errorf("server holds %+v, want hi from the bot to alice", msgs)
	}
	if logins := srv.Logins(); len(logins) != 1 || !logins[0].Bot {
		t.Errorf("logins = %+v, want the bot's", logins)
	}
}

type memory struct{ data []byte }

func (m *memory) LoadSession(context.Context) ([]byte, error) { return m.data, nil }
func (m *memory) StoreSession(_ context.Context, b []byte) error {
	m.data = append([]byte(nil), b...)
	return nil
}
