package telegram_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/scheduler-dev/scheduler/telegram"
)

func ExampleRandomID() {
	// The same job, scheduled instant and step give the same random_id on
	// every attempt, so Telegram posts the message once.
	scheduled := time.Date(2026, 3, 29, 9, 0, 0, 0, time.UTC).Format(time.RFC3339)
	first := telegram.RandomID("hourly-news", scheduled, "send")
	retry := telegram.RandomID("hourly-news", scheduled, "send")
	next := telegram.RandomID("hourly-news", time.Date(2026, 3, 29, 10, 0, 0, 0, time.UTC).Format(time.RFC3339), "send")
	fmt.Println(first == retry, first == next)
	// Output: true false
}

func ExampleParseChat() {
	for _, s := range []string{"me", "@Telegram", "https://t.me/durov", "-1001234567890"} {
		c, err := telegram.ParseChat(s)
		fmt.Println(c, err)
	}
	// Output:
	// me <nil>
	// @telegram <nil>
	// @durov <nil>
	// -1001234567890 <nil>
}

func ExampleClient_Run() {
	c, err := telegram.NewClient(telegram.Config{
		AppID:       12345,
		AppHash:     os.Getenv("TG_APP_HASH"),
		BotToken:    os.Getenv("TG_BOT_TOKEN"),
		SessionFile: "/var/lib/scheduler/telegram.session",
	})
	if err != nil {
		log.Fatal(err)
	}
	// Run returns when ctx ends, or with ErrDisconnected after an outage
	// longer than the reconnect budget.
	err = c.Run(context.Background(), func(ctx context.Context) error {
		return c.Send(ctx, telegram.Message{
			To:        "@news",
			Text:      "*Hourly* news",
			ParseMode: telegram.ParseModeMarkdown,
			RandomID:  telegram.RandomID("hourly-news", "2026-03-29T09:00:00Z", "send"),
		})
	})
	if err != nil {
		log.Fatal(err)
	}
}

func ExampleClient_Stats() {
	c, err := telegram.NewClient(telegram.Config{
		AppID:       12345,
		AppHash:     os.Getenv("TG_APP_HASH"),
		BotToken:    os.Getenv("TG_BOT_TOKEN"),
		SessionFile: "/var/lib/scheduler/telegram.session",
	})
	if err != nil {
		log.Fatal(err)
	}
	// Stats never waits for the connection, so the health check answers at
	// once during an outage too.
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		s := c.Stats()
		if !s.Connected {
			http.Error(w, "telegram: not connected", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "ok: %d sent, %d failed, %d flood waits (%s)\n", s.Sends, s.SendErrors, s.FloodWaits, s.FloodWait)
	})
	go func() { log.Fatal(http.ListenAndServe("127.0.0.1:9090", mux)) }()

	err = c.Run(context.Background(), func(ctx context.Context) error {
		<-ctx.Done()
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
}
