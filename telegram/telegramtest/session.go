package telegramtest

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/gotd/td/session"
	"github.com/gotd/td/telegram"
	"github.com/gotd/td/telegram/dcs"
	"github.com/gotd/td/tg"
)

// ClientOptions returns gotd client options that reach this server: its
// public key, its address as the only DC and a plain TCP resolver.
func (s *Server) ClientOptions() telegram.Options {
	host, portStr, _ := net.SplitHostPort(s.Addr())
	port, _ := strconv.Atoi(portStr)
	return telegram.Options{
		PublicKeys: []telegram.PublicKey{{RSA: s.PublicKey()}},
		DC:         s.dc,
		DCList:     dcs.List{Options: []tg.DCOption{{ID: s.dc, IPAddress: host, Port: port}}},
		Resolver:   dcs.Plain(dcs.PlainOptions{}),
		NoUpdates:  true,
	}
}

// Session creates a new auth key on this server through a real key exchange
// and returns the client's session data: gotd's session JSON, which is also
// the content of a session file of package telegram. With a bot token the
// key is logged in as that bot; without one it is not logged in.
//
// A key exchange costs about half a second of CPU, so tests make a session
// once (in TestMain) and copy the bytes into each test's session file. The
// copies share the key, and so its login.
func (s *Server) Session(ctx context.Context, appID int, botToken string) ([]byte, error) {
	var store session.StorageMemory
	opts := s.ClientOptions()
	opts.SessionStorage = &store
	client := telegram.NewClient(appID, "telegramtest", opts)
	err := client.Run(ctx, func(ctx context.Context) error {
		if botToken != "" {
			if _, err := client.Auth().Bot(ctx, botToken); err != nil {
				return fmt.Errorf("bot login: %w", err)
			}
		}
		// gotd saves the session just after signalling readiness; wait for
		// it rather than race it.
		for {
			if data, err := store.Bytes(nil); err == nil && len(data) > 0 {
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(5 * time.Millisecond):
			}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("telegramtest: session: %w", err)
	}
	return store.Bytes(nil)
}

// authKeyID reads the auth key ID out of gotd session data.
func authKeyID(data []byte) ([8]byte, error) {
	var id [8]byte
	loader := session.Loader{Storage: &memStorage{data: data}}
	d, err := loader.Load(context.Background())
	if err != nil {
		return id, fmt.Errorf("telegramtest: session data: %w", err)
	}
	if len(d.AuthKeyID) != len(id) {
		return id, fmt.Errorf("telegramtest: session data has no auth key")
	}
	copy(id[:], d.AuthKeyID)
	return id, nil
}

type memStorage struct{ data []byte }

func (m *memStorage) LoadSession(context.Context) ([]byte, error) { return m.data, nil }
func (m *memStorage) StoreSession(context.Context, []byte) error  { return nil }
