// Command telegramtestd runs a telegramtest server until interrupted, for
// trying the scheduler against a local Telegram by hand:
//
//	go run ./telegram/telegramtest/cmd/telegramtestd -pem /tmp/tg.pem
//
// It prints the address and the config lines to use, then one JSON line
// per message a client posts.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/scheduler-dev/scheduler/telegram/telegramtest"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	pemPath := flag.String("pem", "telegramtest.pem", "file to write the server's public key to")
	token := flag.String("bot", "1000001:telegramtest-token", "bot token the server accepts (ID:SECRET)")
	users := flag.String("users", "alice:1001,bob:1002", "users as USERNAME:ID, comma-separated")
	channels := flag.String("channels", "news:2001", "channels as USERNAME:ID, comma-separated")
	flag.Parse()
	if err := run(*addr, *pemPath, *token, *users, *channels); err != nil {
		fmt.Fprintln(os.Stderr, "telegramtestd:", err)
		os.Exit(1)
	}
}

func run(addr, pemPath, token, users, channels string) error {
	botID, _, ok := strings.Cut(token, ":")
	id, err := strconv.ParseInt(botID, 10, 64)
	if !ok || err != nil {
		return fmt.Errorf("-bot %q: want ID:SECRET", token)
	}
	srv, err := telegramtest.New(telegramtest.Options{Addr: addr})
	if err != nil {
		return err
	}
	defer srv.Close()
	srv.AddBot(token, telegramtest.User{ID: id, AccessHash: id, Username: "telegramtest_bot", FirstName: "Bot"})
	for name, id := range pairs(users) {
		srv.AddUser(telegramtest.User{ID: id, AccessHash: id * 7, Username: name, FirstName: name})
	}
	for name, id := range pairs(channels) {
		srv.AddChannel(telegramtest.Channel{ID: id, AccessHash: id * 7, Username: name, Title: name})
	}
	if err := srv.WritePublicKey(pemPath); err != nil {
		return err
	}
	fmt.Printf("listening on %s (DC %d)\n", srv.Addr(), srv.DC())
	fmt.Printf("telegram:\n  app_id: 1\n  app_hash: telegramtest\n  bot_token: %s\n  server: %s\n  public_key_file: %s\n",
		token, srv.Addr(), pemPath)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	enc := json.NewEncoder(os.Stdout)
	seen := 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(100 * time.Millisecond):
		}
		msgs := srv.Messages()
		for _, m := range msgs[seen:] {
			_ = enc.Encode(map[string]any{
				"id": m.ID, "to": m.Peer.String(), "from": m.From, "text": m.Text,
				"random_id": m.RandomID, "date": m.Date.Format(time.RFC3339Nano),
			})
		}
		seen = len(msgs)
	}
}

// pairs parses "name:id,name:id".
func pairs(s string) map[string]int64 {
	out := map[string]int64{}
	for _, p := range strings.Split(s, ",") {
		name, id, ok := strings.Cut(strings.TrimSpace(p), ":")
		if n, err := strconv.ParseInt(id, 10, 64); ok && err == nil {
			out[strings.TrimPrefix(name, "@")] = n
		}
	}
	return out
}
