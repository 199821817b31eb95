package telegram

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gotd/td/bin"
	"github.com/gotd/td/telegram"
	"github.com/gotd/td/tg"
	"github.com/gotd/td/tgerr"

	"github.com/scheduler-dev/scheduler/runtime"
)

// call is what the guard needs to know about an RPC.
type call struct {
	method   string // e.g. "messages.sendMessage"
	scope    string // flood-wait scope: the chat for posts, else the method
	chat     string // rate-limit key; empty for calls that post nothing
	group    bool   // chat is a group or channel (else a private chat)
	posts    int    // messages the call posts
	randomID int64
}

// describe inspects a request on its way to Telegram.
func (c *Client) describe(in bin.Encoder) call {
	post := func(method string, peer tg.InputPeerClass, n int, randomID int64) call {
		chat, group := c.peerKey(peer)
		return call{method: method, scope: chat, chat: chat, group: group, posts: n, randomID: randomID}
	}
	switch r := in.(type) {
	case *tg.MessagesSendMessageRequest:
		return post("messages.sendMessage", r.Peer, 1, r.RandomID)
	case *tg.MessagesSendMediaRequest:
		return post("messages.sendMedia", r.Peer, 1, r.RandomID)
	case *tg.MessagesForwardMessagesRequest:
		var rid int64
		if len(r.RandomID) > 0 {
			rid = r.RandomID[0]
		}
		return post("messages.forwardMessages", r.ToPeer, len(r.ID), rid)
	case *tg.MessagesSendMultiMediaRequest:
		return post("messages.sendMultiMedia", r.Peer, len(r.MultiMedia), 0)
	}
	name := fmt.Sprintf("%T", in)
	if t, ok := in.(interface{ TypeName() string }); ok {
		name = t.TypeName()
	}
	return call{method: name, scope: "method " + name}
}

// peerKey names a chat for rate limits and flood waits, and says whether it
// is a group or channel.
func (c *Client) peerKey(p tg.InputPeerClass) (string, bool) {
	switch p := p.(type) {
	case *tg.InputPeerSelf:
		if id := c.selfID.Load(); id != 0 {
			return "user " + strconv.FormatInt(id, 10), false
		}
		return "me", false
	case *tg.InputPeerUser:
		return "user " + strconv.FormatInt(p.UserID, 10), false
	case *tg.InputPeerUserFromMessage:
		return "user " + strconv.FormatInt(p.UserID, 10), false
	case *tg.InputPeerChat:
		return "group " + strconv.FormatInt(p.ChatID, 10), true
	case *tg.InputPeerChannel:
		return "channel " + strconv.FormatInt(p.ChannelID, 10), true
	case *tg.InputPeerChannelFromMessage:
		return "channel " + strconv.FormatInt(p.ChannelID, 10), true
	}
	return "unknown peer", false
}

// guard is the client's middleware: every RPC goes through it. It
//   - waits out FLOOD_WAIT_X, FLOOD_PREMIUM_WAIT_X and SLOWMODE_WAIT_X and
//     retries, up to FloodWaitCap per call; the wait holds back every call
//     in the same scope (a chat for sends), while others go on;
//   - paces posts through the rate limiter, on every attempt;
//   - retries calls that failed for want of a connection, while the client
//     rides out an outage, resending the identical request: a send keeps its
//     random_id, so Telegram posts it once however often it arrives;
//   - treats RANDOM_ID_DUPLICATE as delivered: an earlier attempt (this
//     run's, or a previous run's after a restart) already posted it;
//   - counts calls and flood-wait answers for Stats.
func (c *Client) guard(next tg.Invoker) telegram.InvokeFunc {
	return func(ctx context.Context, in bin.Encoder, out bin.Decoder) error {
		c.stats.requests.Add(1)
		k := c.describe(in)
		start := c.clock.Now()
		var (
			flooded  time.Duration // waited for flood waits so far
			lost     time.Time     // first connection failure of this call
			pause    = 100 * time.Millisecond
			attempts int
		)
		for {
			attempts++
			w, err := c.floods.wait(ctx, c.clock, k.scope, c.cfg.FloodWaitCap-flooded)
			flooded += w
			if err != nil {
				return fmt.Errorf("%s: %w", k.method, err)
			}
			sent := c.clock.Now()
			for range k.posts {
				if sent, err = c.limit.wait(ctx, k.chat, k.group); err != nil {
					return err
				}
			}
			gen := c.outage.generation()
			err = next.Invoke(ctx, in, out)
			// An answer, even an error, shows the connection is up:
			// gotd reports a new connection (by storing the session) only
			// after the first calls on it may have been answered.
			if _, rpcErr := tgerr.As(err); err == nil || rpcErr {
				c.outage.answered(gen)
			}
			// Counted before anything else: each answer once, even if the
			// call gives up on it.
			wait, flood := floodWait(err)
			if flood {
				c.stats.floodWaits.Add(1)
				c.stats.floodWait.Add(int64(wait))
			}
			if err == nil || tgerr.Is(err, "RANDOM_ID_DUPLICATE") {
				if k.posts > 0 {
					c.log.LogAttrs(ctx, slog.LevelDebug, "sent",
						slog.String("method", k.method), slog.String("chat", k.chat),
						slog.Int64("random_id", k.randomID), slog.Int("attempts", attempts),
						slog.Time("released", sent), slog.Duration("waited", sent.Sub(start)),
						slog.Duration("rtt", c.clock.Now().Sub(sent)), slog.Bool("duplicate", err != nil))
				}
				return nil
			}
			if ctx.Err() != nil {
				return err
			}
			if flood {
				if flooded+wait > c.cfg.FloodWaitCap {
					return fmt.Errorf("%s to %s: Telegram asks to wait %s, beyond the flood wait cap of %s: %w",
						k.method, k.scope, wait, c.cfg.FloodWaitCap, err)
				}
				c.log.Info("flood wait", "method", k.method, "scope", k.scope, "wait", wait)
				c.floods.set(k.scope, c.clock.Now().Add(wait))
				continue
			}
			if !transient(err) {
				return err
			}
			now := c.clock.Now()
			if lost.IsZero() {
				lost = now
			}
			if now.Sub(lost) >= c.cfg.OutageBudget {
				return fmt.Errorf("%s: no answer within the outage budget of %s: %w", k.method, c.cfg.OutageBudget, err)
			}
			c.log.Debug("call failed; retrying once connected", "method", k.method, "error", err.Error())
			// Real time, like gotd's reconnect backoff: this only paces
			// polling of the connection; the outage budget is on Clock.
			t := time.NewTimer(pause)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return err
			case <-c.done:
				t.Stop()
				return fmt.Errorf("%s: %w", k.method, c.closedErr())
			}
			pause = min(2*pause, 2*time.Second)
		}
	}
}

// floodWait reports how long Telegram asks to wait.
func floodWait(err error) (time.Duration, bool) {
	rpcErr, ok := tgerr.As(err)
	if !ok || !rpcErr.IsOneOf("FLOOD_WAIT", "FLOOD_PREMIUM_WAIT", "SLOWMODE_WAIT") {
		return 0, false
	}
	return time.Duration(rpcErr.Argument) * time.Second, true
}

// transient reports whether a failed call may succeed if sent again as it
// is: the connection failed under it (the request may or may not have
// reached Telegram), or Telegram had an internal problem. Anything else,
// such as a request that does not encode, fails at once.
func transient(err error) bool {
	if rpcErr, ok := tgerr.As(err); ok {
		return rpcErr.Code == 500 || rpcErr.Code == -503
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	// gotd v0.93.0 reports a connection lost under a call with unexported
	// errors; the outage tests fail if these texts change.
	msg := err.Error()
	for _, s := range []string{"connection dead", "engine was closed", "engine forcibly closed", "retry limit reached", "dial failed"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// floodWaits remembers until when each scope must not be called.
type floodWaits struct {
	mu    sync.Mutex
	until map[string]time.Time
}

// wait blocks while a flood wait is in force for scope. It fails without
// waiting if the wait would take longer than budget.
func (f *floodWaits) wait(ctx context.Context, clock runtime.Clock, scope string, budget time.Duration) (time.Duration, error) {
	var waited time.Duration
	for {
		f.mu.Lock()
		now := clock.Now()
		until, ok := f.until[scope]
		if ok && !until.After(now) {
			delete(f.until, scope)
			ok = false
		}
		f.mu.Unlock()
		if !ok {
			return waited, nil
		}
		d := until.Sub(now)
		if waited+d > budget {
			return waited, fmt.Errorf("%s is in a flood wait for another %s, beyond the remaining flood wait cap of %s",
				scope, d.Round(time.Second), (budget - waited).Round(time.Second))
		}
		if err := sleep(ctx, clock, d); err != nil {
			return waited, err
		}
		waited += d
	}
}

func (f *floodWaits) set(scope string, until time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.until == nil {
		f.until = map[string]time.Time{}
	}
	if until.After(f.until[scope]) {
		f.until[scope] = until
	}
}
