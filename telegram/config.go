package telegram

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/scheduler-dev/scheduler/runtime"
)

// Config configures a Client. Zero fields take the documented defaults.
type Config struct {
	// AppID and AppHash identify the application (my.telegram.org).
	AppID   int
	AppHash string
	// BotToken logs the client in as a bot. Without it the client uses the
	// user session that Login stored in SessionFile.
	BotToken string
	// SessionFile holds the session (the auth key: a secret). It is written
	// atomically with mode 0600. Required.
	SessionFile string
	// PeersFile caches resolved chats (IDs and access hashes) so a restart
	// resolves nothing again; default SessionFile + ".peers".
	PeersFile string

	// Server is another MTProto endpoint as host:port: Telegram's test
	// DCs, a self-hosted server or telegramtest. Empty means Telegram's
	// production DCs. PublicKey is required with it.
	Server    string
	PublicKey *rsa.PublicKey
	// DC is the data center to connect to first; default 2.
	DC int

	// RateLimit paces sends; the zero value keeps a bot inside Telegram's
	// published limits.
	RateLimit RateLimit
	// OutageBudget is how long the client may stay disconnected (while it
	// reconnects with backoff) before it gives up for good; default 5m.
	OutageBudget time.Duration
	// FloodWaitCap is the longest a single call waits out FLOOD_WAIT and
	// SLOWMODE_WAIT answers in total before it fails; default 5m.
	FloodWaitCap time.Duration

	// Logger receives the client's logs; default: discarded.
	Logger *slog.Logger
	// Clock paces flood waits and rate limits and measures outages;
	// default runtime.SystemClock.
	Clock runtime.Clock
}

// RateLimit is how fast the client may post messages. A zero Rate takes its
// default.
type RateLimit struct {
	// Overall limits all sends together; default 30/s.
	Overall Rate
	// Private limits sends to each private chat (a user, a bot, yourself);
	// default 1/s.
	Private Rate
	// Group limits sends to each group or channel; default 20/min.
	Group Rate
}

// Rate is Events per Per. Sends are paced evenly, Per/Events apart (a token
// bucket that holds one token), and no window of length Per ever holds
// more than Events of them, even when a stalled sender catches up.
type Rate struct {
	Events int
	Per    time.Duration
}

// Unlimited is a Rate that never waits, for self-hosted servers and tests.
var Unlimited = Rate{Events: math.MaxInt, Per: time.Nanosecond}

// Telegram's published limits for bots.
var (
	defaultOverall = Rate{Events: 30, Per: time.Second}
	defaultPrivate = Rate{Events: 1, Per: time.Second}
	defaultGroup   = Rate{Events: 20, Per: time.Minute}
)

// ParseRate parses "N/UNIT" or "N/DURATION": "30/s", "1/s", "20/min",
// "20/1m", "5/10s", "100/h"; "unlimited" gives Unlimited.
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	if s == "unlimited" {
		return Unlimited, nil
	}
	n, per, ok := strings.Cut(s, "/")
	if !ok {
		return Rate{}, fmt.Errorf("rate %q: want N/UNIT, like 30/s or 20/min", s)
	}
	events, err := strconv.Atoi(strings.TrimSpace(n))
	if err != nil || events <= 0 {
		return Rate{}, fmt.Errorf("rate %q: %q is not a positive whole number", s, n)
	}
	per = strings.TrimSpace(per)
	var d time.Duration
	switch per {
	case "s", "sec", "second":
		d = time.Second
	case "m", "min", "minute":
		d = time.Minute
	case "h", "hour":
		d = time.Hour
	default:
		d, err = time.ParseDuration(per)
		if err != nil || d <= 0 {
			return Rate{}, fmt.Errorf("rate %q: %q is neither s, min, h nor a positive duration", s, per)
		}
	}
	return Rate{Events: events, Per: d}, nil
}

// String formats r the way ParseRate reads it.
func (r Rate) String() string {
	switch {
	case r == Unlimited:
		return "unlimited"
	case r.Per == time.Second:
		return fmt.Sprintf("%d/s", r.Events)
	case r.Per == time.Minute:
		return fmt.Sprintf("%d/min", r.Events)
	case r.Per == time.Hour:
		return fmt.Sprintf("%d/h", r.Events)
	}
	return fmt.Sprintf("%d/%s", r.Events, r.Per)
}

func (r Rate) limit() rate.Limit {
	if r == Unlimited {
		return rate.Inf
	}
	return rate.Limit(float64(r.Events) / r.Per.Seconds())
}

func (r Rate) orDefault(d Rate) Rate {
	if r == (Rate{}) {
		return d
	}
	return r
}

func (r Rate) check(field string) error {
	if r.Events <= 0 || r.Per <= 0 {
		return fmt.Errorf("telegram: rate_limit.%s: %d/%s is not a positive rate", field, r.Events, r.Per)
	}
	return nil
}

// ParsePublicKeyPEM decodes an RSA public key from PEM, either PKCS #1
// ("RSA PUBLIC KEY", how Telegram publishes its keys) or PKIX ("PUBLIC
// KEY"). MTProto needs a 2048-bit key.
func ParsePublicKeyPEM(data []byte) (*rsa.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	var key *rsa.PublicKey
	if k, err := x509.ParsePKCS1PublicKey(block.Bytes); err == nil {
		key = k
	} else {
		pub, err2 := x509.ParsePKIXPublicKey(block.Bytes)
		if err2 != nil {
			return nil, fmt.Errorf("PEM block %q is neither a PKCS #1 nor a PKIX public key: %w", block.Type, err)
		}
		k, ok := pub.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("PEM block %q holds a %T, not an RSA key", block.Type, pub)
		}
		key = k
	}
	if key.N.BitLen() != 2048 {
		return nil, fmt.Errorf("RSA key has %d bits; MTProto needs 2048", key.N.BitLen())
	}
	return key, nil
}

// withDefaults validates cfg and fills in defaults. Errors name the
// config field, never a secret's value.
func (cfg Config) withDefaults() (Config, error) {
	var errs []error
	if cfg.AppID <= 0 {
		errs = append(errs, errors.New("telegram: app_id must be a positive number"))
	}
	if cfg.AppHash == "" {
		errs = append(errs, errors.New("telegram: app_hash is required"))
	}
	if cfg.BotToken != "" {
		if _, err := botID(cfg.BotToken); err != nil {
			errs = append(errs, err)
		}
	}
	if cfg.SessionFile == "" {
		errs = append(errs, errors.New("telegram: session_file is required"))
	}
	if cfg.PeersFile == "" && cfg.SessionFile != "" {
		cfg.PeersFile = cfg.SessionFile + ".peers"
	}
	if cfg.Server != "" {
		host, port, err := net.SplitHostPort(cfg.Server)
		if p, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || p <= 0 || p > 65535 {
			errs = append(errs, fmt.Errorf("telegram: server %q is not host:port", cfg.Server))
		}
		if cfg.PublicKey == nil {
			errs = append(errs, errors.New("telegram: public_key_file is required with server"))
		}
	} else if cfg.PublicKey != nil {
		errs = append(errs, errors.New("telegram: public_key_file needs server: Telegram's own keys are built in"))
	}
	if cfg.DC == 0 {
		cfg.DC = 2
	}
	if cfg.DC < 0 {
		errs = append(errs, fmt.Errorf("telegram: dc %d is not a data center ID", cfg.DC))
	}
	cfg.RateLimit.Overall = cfg.RateLimit.Overall.orDefault(defaultOverall)
	cfg.RateLimit.Private = cfg.RateLimit.Private.orDefault(defaultPrivate)
	cfg.RateLimit.Group = cfg.RateLimit.Group.orDefault(defaultGroup)
	for _, r := range []struct {
		name string
		r    Rate
	}{{"overall", cfg.RateLimit.Overall}, {"private", cfg.RateLimit.Private}, {"group", cfg.RateLimit.Group}} {
		if err := r.r.check(r.name); err != nil {
			errs = append(errs, err)
		}
	}
	if cfg.OutageBudget == 0 {
		cfg.OutageBudget = 5 * time.Minute
	}
	if cfg.OutageBudget < 0 {
		errs = append(errs, fmt.Errorf("telegram: reconnect budget %s is negative", cfg.OutageBudget))
	}
	if cfg.FloodWaitCap == 0 {
		cfg.FloodWaitCap = 5 * time.Minute
	}
	if cfg.FloodWaitCap < 0 {
		errs = append(errs, fmt.Errorf("telegram: flood wait cap %s is negative", cfg.FloodWaitCap))
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = runtime.SystemClock{}
	}
	return cfg, errors.Join(errs...)
}

// botID returns the bot's user ID, the part of its token before the colon.
// The error never contains the token.
func botID(token string) (int64, error) {
	id, secret, ok := strings.Cut(token, ":")
	n, err := strconv.ParseInt(id, 10, 64)
	if !ok || err != nil || n <= 0 || secret == "" {
		return 0, errors.New("telegram: bot_token is malformed: want the ID:SECRET form BotFather gives")
	}
	return n, nil
}
