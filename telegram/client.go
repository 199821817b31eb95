package telegram

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/gotd/td/telegram"
	"github.com/gotd/td/telegram/dcs"
	"github.com/gotd/td/tg"

	"github.com/scheduler-dev/scheduler/runtime"
)

// ErrDisconnected is returned (wrapped) once the client has been without a
// connection for longer than its outage budget and has given up, and by
// calls made after that.
var ErrDisconnected = errors.New("telegram: disconnected")

// ErrNotLoggedIn is returned (wrapped) by Run when the client has no bot
// token and its session file holds no logged-in user session.
var ErrNotLoggedIn = errors.New("telegram: not logged in")

// errStopped is returned by calls made after Run has returned normally.
var errStopped = errors.New("telegram: client is not running")

// Client is a Telegram client that stays connected while Run runs. Its
// methods are safe for concurrent use; they wait until Run has logged in.
type Client struct {
	cfg   Config
	log   *slog.Logger
	clock runtime.Clock
	tc    *telegram.Client
	api   *tg.Client

	peers  *peerCache
	limit  *limiter
	floods floodWaits
	outage *outage
	stats  counters

	selfID  atomic.Int64
	running atomic.Bool
	live    atomic.Bool   // logged in, and Run has not returned
	ready   chan struct{} // closed once logged in
	done    chan struct{} // closed when Run returns
}

// NewClient checks cfg and returns a Client; nothing connects before Run.
func NewClient(cfg Config) (*Client, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	log := cfg.Logger.With("component", "telegram")
	c := &Client{
		cfg:   cfg,
		log:   log,
		clock: cfg.Clock,
		limit: newLimiter(cfg.Clock, cfg.RateLimit),
		ready: make(chan struct{}),
		done:  make(chan struct{}),
	}
	c.outage = &outage{clock: cfg.Clock, budget: cfg.OutageBudget, log: log}
	c.peers = loadPeers(cfg.PeersFile, log)

	opts := telegram.Options{
		DC:        cfg.DC,
		NoUpdates: true,
		SessionStorage: &sessionFile{
			path:   cfg.SessionFile,
			log:    log,
			stored: c.outage.connected,
		},
		Middlewares:         []telegram.Middleware{telegram.MiddlewareFunc(c.guard)},
		ReconnectionBackoff: func() backoff.BackOff { return c.outage },
		Logger:              newZapLogger(log),
		Device:              telegram.DeviceConfig{DeviceModel: "scheduler", AppVersion: "scheduler"},
	}
	if cfg.Server != "" {
		host, portStr, _ := net.SplitHostPort(cfg.Server)
		port, _ := strconv.Atoi(portStr)
		opts.PublicKeys = []telegram.PublicKey{{RSA: cfg.PublicKey}}
		opts.DCList = dcs.List{Options: []tg.DCOption{{ID: cfg.DC, IPAddress: host, Port: port}}}
		opts.Resolver = dcs.Plain(dcs.PlainOptions{})
	}
	c.tc = telegram.NewClient(cfg.AppID, cfg.AppHash, opts)
	c.api = c.tc.API()
	return c, nil
}

// Run connects, logs in (with the bot token) or checks that the session
// file's user session is logged in, then calls f and returns what f
// returns. Nothing is sent before the login succeeded.
//
// Short outages are ridden out: the client reconnects with backoff and
// calls in flight are retried. When an outage outlasts the outage budget,
// f's context is cancelled and, once f has returned, Run returns an error
// wrapping ErrDisconnected. When ctx ends, f's context is cancelled too and
// Run returns f's result. A Client runs once.
func (c *Client) Run(ctx context.Context, f func(ctx context.Context) error) error {
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("telegram: Run called twice; a Client runs once")
	}
	defer close(c.done)

	var fErr error
	err := c.tc.Run(ctx, func(ctx context.Context) error {
		if err := c.authorize(ctx); err != nil {
			if ctx.Err() == nil {
				fErr = err // else: stopped while logging in
			}
			return err
		}
		c.live.Store(true)
		close(c.ready)

		flushCtx, stopFlush := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Go(func() { c.peers.flushEvery(flushCtx, time.Second) })
		fErr = f(ctx)
		stopFlush()
		wg.Wait()
		return fErr
	})
	c.live.Store(false)
	if ferr := c.peers.flush(); ferr != nil {
		c.log.Warn("could not save the peers cache", "file", c.cfg.PeersFile, "error", ferr.Error())
	}
	switch {
	case c.outage.exhausted() && err != nil:
		return c.redact(fmt.Errorf("%w: no connection for %s (the reconnect budget): %w", ErrDisconnected, c.cfg.OutageBudget, err))
	case c.outage.exhausted():
		return fmt.Errorf("%w: no connection for %s (the reconnect budget)", ErrDisconnected, c.cfg.OutageBudget)
	case fErr != nil:
		return c.redact(fErr)
	case err != nil:
		return c.redact(fmt.Errorf("telegram: %w", err))
	}
	return nil
}

// authorize logs the bot in, or checks the user session.
func (c *Client) authorize(ctx context.Context) error {
	status, err := c.tc.Auth().Status(ctx)
	if err != nil {
		return fmt.Errorf("telegram: check login: %w", err)
	}
	if c.cfg.BotToken == "" {
		if !status.Authorized {
			return fmt.Errorf("%w: session file %s holds no logged-in user; run `scheduler login` first", ErrNotLoggedIn, c.cfg.SessionFile)
		}
		c.loggedIn(status.User)
		return nil
	}
	want, _ := botID(c.cfg.BotToken)
	if status.Authorized {
		if status.User.ID != want {
			return fmt.Errorf("telegram: session file %s is logged in as user %d, not as the bot of bot_token (%d); delete it or use another session_file",
				c.cfg.SessionFile, status.User.ID, want)
		}
		c.loggedIn(status.User)
		return nil
	}
	auth, err := c.tc.Auth().Bot(ctx, c.cfg.BotToken)
	if err != nil {
		return fmt.Errorf("telegram: bot login: %w", err)
	}
	u, ok := auth.User.AsNotEmpty()
	if !ok {
		return errors.New("telegram: bot login: Telegram returned no user")
	}
	c.loggedIn(u)
	return nil
}

func (c *Client) loggedIn(u *tg.User) {
	c.selfID.Store(u.ID)
	c.peers.setOwner(u.ID)
	c.log.Info("logged in", "user_id", u.ID, "username", u.Username, "bot", u.Bot)
}

// await blocks until Run has logged in.
func (c *Client) await(ctx context.Context) error {
	select {
	case <-c.ready:
	case <-c.done:
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	select {
	case <-c.done:
		return c.closedErr()
	default:
		return nil
	}
}

// closedErr says why a call cannot go out once Run has returned.
func (c *Client) closedErr() error {
	if c.outage.exhausted() {
		return ErrDisconnected
	}
	return errStopped
}

// redact masks the bot token and app hash in an error's text, should a
// lower layer ever have put them there.
func (c *Client) redact(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	secrets := []string{c.cfg.BotToken, c.cfg.AppHash}
	if _, secret, ok := strings.Cut(c.cfg.BotToken, ":"); ok {
		secrets = append(secrets, secret)
	}
	out := msg
	for _, s := range secrets {
		if len(s) >= 6 {
			out = strings.ReplaceAll(out, s, "[redacted]")
		}
	}
	if out == msg {
		return err
	}
	return &redactedError{err: err, msg: out}
}

type redactedError struct {
	err error
	msg string
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// outage is gotd's reconnection backoff. It measures each outage from the
// first failed connection since the client was last connected (gotd's
// ExponentialBackOff counts from the client's start), and stops the
// client once an outage outlasts the budget.
type outage struct {
	clock  runtime.Clock
	budget time.Duration
	log    *slog.Logger

	// link is the connection state: the number of failed or lost
	// connections so far, shifted left by one, with the low bit set while
	// a connection is up. The count lets an answer that arrives late mark
	// only the connection it came on as up, never a newer one or an outage
	// that has begun since.
	link atomic.Uint64

	mu    sync.Mutex
	since time.Time // start of the current outage; zero while connected
	pause time.Duration
	spent bool
}

// NextBackOff implements backoff.BackOff; gotd calls it after each failed
// or lost connection.
func (o *outage) NextBackOff() time.Duration {
	for {
		old := o.link.Load()
		if o.link.CompareAndSwap(old, (old>>1+1)<<1) {
			break
		}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.clock.Now()
	if o.since.IsZero() {
		o.since = now
		o.pause = 100 * time.Millisecond
		o.log.Warn("no connection to Telegram; reconnecting", "budget", o.budget)
	}
	if now.Sub(o.since) >= o.budget {
		o.spent = true
		o.log.Error("no connection within the reconnect budget; giving up", "budget", o.budget)
		return backoff.Stop
	}
	// Short pauses: gotd finishes the current pause before it notices a
	// cancellation.
	d := o.pause
	o.pause = min(2*o.pause, 2*time.Second)
	return d
}

// Reset implements backoff.BackOff.
func (o *outage) Reset() {}

// connected ends the current outage; called when a connection is up.
func (o *outage) connected() {
	o.link.Or(1)
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.since.IsZero() {
		o.log.Info("reconnected", "outage", o.clock.Now().Sub(o.since))
	}
	o.since = time.Time{}
}

// generation identifies the current connection (or outage) for answered.
func (o *outage) generation() uint64 { return o.link.Load() >> 1 }

// answered marks the connection of generation gen as up: a call sent on it
// got an answer. It does nothing once that connection is lost.
func (o *outage) answered(gen uint64) { o.link.CompareAndSwap(gen<<1, gen<<1|1) }

// up reports whether a connection is established.
func (o *outage) up() bool { return o.link.Load()&1 == 1 }

func (o *outage) exhausted() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.spent
}
