package telegram_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/scheduler-dev/scheduler/telegram"
)

func TestParseChat(t *testing.T) {
	ok := map[string]string{
		"me":                           "me",
		"Self":                         "me",
		"@News_Daily":                  "@news_daily",
		"12345":                        "12345",
		"-4567":                        "-4567",
		"-1001234567890":               "-1001234567890",
		"t.me/durov":                   "@durov",
		"https://t.me/durov/123":       "@durov",
		"http://telegram.me/durov":     "@durov",
		"https://t.me/s/durov":         "@durov",
		"https://t.me/c/1234567890/55": "-1001234567890",
		" @padded ":                    "@padded",
	}
	for in, want := range ok {
		c, err := telegram.ParseChat(in)
		if err != nil || c.String() != want {
			t.Errorf("ParseChat(%q) = %q, %v; want %q", in, c, err, want)
		}
	}
	bad := map[string]string{
		"":                         "empty",
		"@ab":                      "3 to 32",
		"@1abc":                    "starts with a letter",
		"news":                     "want me, @username",
		"0":                        "not a chat ID",
		"https://t.me/+AbCdEf":     "invite links",
		"https://t.me/joinchat/Ab": "invite links",
		"https://t.me/c/x/1":       "not a channel ID",
		"https://example.com/x":    "want me, @username",
	}
	for in, want := range bad {
		if _, err := telegram.ParseChat(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseChat(%q) err = %v, want it to say %q", in, err, want)
		}
	}
}

func TestParseRate(t *testing.T) {
	ok := map[string]telegram.Rate{
		"30/s":      {Events: 30, Per: time.Second},
		"20/min":    {Events: 20, Per: time.Minute},
		"20/1m":     {Events: 20, Per: time.Minute},
		"5 / 10s":   {Events: 5, Per: 10 * time.Second},
		"100/h":     {Events: 100, Per: time.Hour},
		"unlimited": telegram.Unlimited,
	}
	for in, want := range ok {
		r, err := telegram.ParseRate(in)
		if err != nil || r != want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", in, r, err, want)
		}
		if back, err := telegram.ParseRate(r.String()); err != nil || back != r {
			t.Errorf("ParseRate(%q.String() = %q) = %v, %v", in, r.String(), back, err)
		}
	}
	for _, in := range []string{"30", "0/s", "-1/s", "x/s", "3/fortnight", "3/-1s"} {
		if _, err := telegram.ParseRate(in); err == nil {
			t.Errorf("ParseRate(%q) succeeded", in)
		}
	}
}

func TestParsePublicKeyPEM(t *testing.T) {
	key, err := telegram.ParsePublicKeyPEM(srv.PublicKeyPEM())
	if err != nil || !key.Equal(srv.PublicKey()) {
		t.Fatalf("PKCS #1 PEM: %v", err)
	}
	der, err := x509.MarshalPKIXPublicKey(srv.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	key, err = telegram.ParsePublicKeyPEM(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	if err != nil || !key.Equal(srv.PublicKey()) {
		t.Fatalf("PKIX PEM: %v", err)
	}
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	smallPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&small.PublicKey)})
	for name, in := range map[string][]byte{
		"no PEM":      []byte("not a key"),
		"garbage DER": pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: []byte{1, 2, 3}}),
		"1024 bits":   smallPEM,
	} {
		if _, err := telegram.ParsePublicKeyPEM(in); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

func TestNewClientValidation(t *testing.T) {
	_, err := telegram.NewClient(telegram.Config{
		AppHash:   appHash,
		BotToken:  "no-colon-" + strings.Repeat("s", 30),
		Server:    "localhost",
		RateLimit: telegram.RateLimit{Group: telegram.Rate{Events: 0, Per: time.Minute}},
	})
	if err == nil {
		t.Fatal("NewClient accepted a broken config")
	}
	msg := err.Error()
	for _, want := range []string{"app_id", "session_file", "bot_token is malformed", `server "localhost"`, "public_key_file", "rate_limit.group"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %s", msg, want)
		}
	}
	if strings.Contains(msg, "sssss") || strings.Contains(msg, appHash) {
		t.Errorf("error %q leaks a secret", msg)
	}
}
