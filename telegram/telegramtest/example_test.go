package telegramtest_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/scheduler-dev/scheduler/telegram/telegramtest"
)

// A test of the scheduler binary starts a server, writes its public key
// for the config, runs the binary against it and checks what arrived.
func Example() {
	srv, err := telegramtest.New(telegramtest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	srv.AddBot("1000001:secret", telegramtest.User{ID: 1000001, Username: "scheduler_bot"})
	srv.AddChannel(telegramtest.Channel{ID: 2001, AccessHash: 7, Username: "news", Title: "News"})

	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	pem := filepath.Join(dir, "server.pem")
	if err := srv.WritePublicKey(pem); err != nil {
		log.Fatal(err)
	}
	config := fmt.Sprintf("telegram:\n  app_id: 1\n  app_hash: test\n  bot_token: 1000001:secret\n  server: %s\n  public_key_file: %s\n",
		srv.Addr(), pem)
	_ = config // … write it out and run `scheduler run --config` …

	for _, m := range srv.Messages() {
		fmt.Println(m.Peer, m.Text)
	}
	// Output:
}
