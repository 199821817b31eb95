package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/gotd/td/tg"
	"github.com/gotd/td/tgerr"
	"golang.org/x/sync/singleflight"
)

// peer is a resolved chat: what an InputPeer needs.
type peer struct {
	Kind       string `json:"kind"` // "user", "group" or "channel"
	ID         int64  `json:"id"`
	AccessHash int64  `json:"access_hash,omitempty"`
}

func (p peer) input() tg.InputPeerClass {
	switch p.Kind {
	case "self":
		return &tg.InputPeerSelf{}
	case "group":
		return &tg.InputPeerChat{ChatID: p.ID}
	case "channel":
		return &tg.InputPeerChannel{ChannelID: p.ID, AccessHash: p.AccessHash}
	}
	return &tg.InputPeerUser{UserID: p.ID, AccessHash: p.AccessHash}
}

func (p peer) key() string { return p.Kind + " " + strconv.FormatInt(p.ID, 10) }

// key is the chat's entry in the peers cache.
func (c Chat) key() string {
	switch c.kind {
	case chatUsername:
		return "@" + c.username
	case chatUser:
		return "user " + strconv.FormatInt(c.id, 10)
	case chatChannel:
		return "channel " + strconv.FormatInt(c.id, 10)
	}
	return ""
}

// peersVersion is the peers file's format version.
const peersVersion = 1

type peersFile struct {
	Version int `json:"version"`
	// Owner is the account the access hashes belong to: they are valid for
	// that account only.
	Owner int64           `json:"owner"`
	Peers map[string]peer `json:"peers"`
}

// peerCache remembers resolved chats and persists them beside the session,
// so a restart resolves nothing again (contacts.resolveUsername has tight
// flood limits). Writes are coalesced: a burst of lookups is saved once.
type peerCache struct {
	path string
	log  *slog.Logger

	mu    sync.Mutex
	owner int64
	peers map[string]peer
	dirty bool

	saveMu  sync.Mutex // one writer of the file at a time
	flights singleflight.Group
}

// loadPeers reads the cache. A missing or unreadable file is an empty
// cache: it only saves lookups.
func loadPeers(path string, log *slog.Logger) *peerCache {
	c := &peerCache{path: path, log: log, peers: map[string]peer{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c
	}
	var f peersFile
	if err == nil {
		err = json.Unmarshal(data, &f)
	}
	if err == nil && f.Version != peersVersion {
		err = fmt.Errorf("format version %d, want %d", f.Version, peersVersion)
	}
	if err != nil {
		log.Warn("ignoring the peers cache", "file", path, "error", err.Error())
		return c
	}
	c.owner = f.Owner
	for k, p := range f.Peers {
		c.peers[k] = p
	}
	return c
}

// setOwner drops the cache if it belongs to another account.
func (c *peerCache) setOwner(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.owner == id {
		return
	}
	if c.owner != 0 && len(c.peers) > 0 {
		c.log.Info("the peers cache belongs to another account; starting afresh", "file", c.path)
	}
	c.owner = id
	c.peers = map[string]peer{}
	c.dirty = true
}

func (c *peerCache) get(key string) (peer, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.peers[key]
	return p, ok
}

func (c *peerCache) put(p peer, keys ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range keys {
		c.peers[k] = p
	}
	c.dirty = true
}

// forget drops key and every other entry for the same chat.
func (c *peerCache) forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.peers[key]
	if !ok {
		return
	}
	for k, q := range c.peers {
		if q.Kind == p.Kind && q.ID == p.ID {
			delete(c.peers, k)
		}
	}
	c.dirty = true
}

// flush writes the cache if it changed.
func (c *peerCache) flush() error {
	c.saveMu.Lock()
	defer c.saveMu.Unlock()
	c.mu.Lock()
	if !c.dirty {
		c.mu.Unlock()
		return nil
	}
	data, err := json.MarshalIndent(peersFile{Version: peersVersion, Owner: c.owner, Peers: c.peers}, "", "\t")
	c.dirty = false
	c.mu.Unlock()
	if err == nil {
		if err = os.MkdirAll(filepath.Dir(c.path), 0o700); err == nil {
			err = writeFileAtomic(c.path, data, 0o600)
		}
	}
	if err != nil {
		c.mu.Lock()
		c.dirty = true
		c.mu.Unlock()
	}
	return err
}

// flushEvery saves changes every interval until ctx ends.
func (c *peerCache) flushEvery(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := c.flush(); err != nil {
				c.log.Warn("could not save the peers cache", "file", c.path, "error", err.Error())
			}
		}
	}
}

// resolve returns the peer for chat, from the cache when it is there
// (cached reports that). Concurrent lookups of one chat share one request.
func (c *Client) resolve(ctx context.Context, chat Chat) (p peer, cached bool, err error) {
	switch chat.kind {
	case chatSelf:
		return peer{Kind: "self"}, false, nil
	case chatGroup:
		// Basic groups need no access hash.
		return peer{Kind: "group", ID: chat.id}, false, nil
	}
	key := chat.key()
	if p, ok := c.peers.get(key); ok {
		return p, true, nil
	}
	ch := c.peers.flights.DoChan(key, func() (any, error) {
		if p, ok := c.peers.get(key); ok {
			return p, nil
		}
		// Detached from this caller: others may be waiting on the answer.
		// The guard still bounds it by the outage budget.
		p, err := c.lookup(context.WithoutCancel(ctx), chat)
		if err != nil {
			return nil, err
		}
		keys := []string{p.key()}
		if chat.kind == chatUsername {
			keys = append(keys, key)
		}
		c.peers.put(p, keys...)
		return p, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return peer{}, false, r.Err
		}
		return r.Val.(peer), false, nil
	case <-ctx.Done():
		return peer{}, false, context.Cause(ctx)
	}
}

// lookup asks Telegram for a chat's ID and access hash.
func (c *Client) lookup(ctx context.Context, chat Chat) (peer, error) {
	switch chat.kind {
	case chatUsername:
		res, err := c.api.ContactsResolveUsername(ctx, chat.username)
		if tgerr.Is(err, "USERNAME_NOT_OCCUPIED", "USERNAME_INVALID") {
			return peer{}, fmt.Errorf("no user, group or channel is called %s: %w", chat, err)
		}
		if err != nil {
			return peer{}, fmt.Errorf("resolve %s: %w", chat, err)
		}
		return peerFromResolved(chat, res)
	case chatUser:
		// Bots may pass access_hash 0 to learn the real one.
		users, err := c.api.UsersGetUsers(ctx, []tg.InputUserClass{&tg.InputUser{UserID: chat.id}})
		if err != nil {
			return peer{}, fmt.Errorf("look up user %d: %w", chat.id, err)
		}
		for _, u := range users {
			if u, ok := u.AsNotEmpty(); ok && u.ID == chat.id {
				return peer{Kind: "user", ID: u.ID, AccessHash: u.AccessHash}, nil
			}
		}
		return peer{}, fmt.Errorf("user %d is unknown to this account (a bot reaches only users who started it; a user account must have met them): use @username", chat.id)
	case chatChannel:
		res, err := c.api.ChannelsGetChannels(ctx, []tg.InputChannelClass{&tg.InputChannel{ChannelID: chat.id}})
		if err != nil {
			return peer{}, fmt.Errorf("look up channel %s: %w", chat, err)
		}
		for _, ch := range res.GetChats() {
			switch ch := ch.(type) {
			case *tg.Channel:
				if ch.ID == chat.id {
					return peer{Kind: "channel", ID: ch.ID, AccessHash: ch.AccessHash}, nil
				}
			case *tg.ChannelForbidden:
				if ch.ID == chat.id {
					return peer{}, fmt.Errorf("channel %s is private or bans this account", chat)
				}
			}
		}
		return peer{}, fmt.Errorf("channel %s is unknown to this account", chat)
	}
	return peer{}, fmt.Errorf("chat %q cannot be looked up", chat)
}

func peerFromResolved(chat Chat, res *tg.ContactsResolvedPeer) (peer, error) {
	switch p := res.Peer.(type) {
	case *tg.PeerUser:
		for _, u := range res.Users {
			if u, ok := u.AsNotEmpty(); ok && u.ID == p.UserID {
				return peer{Kind: "user", ID: u.ID, AccessHash: u.AccessHash}, nil
			}
		}
	case *tg.PeerChannel:
		for _, ch := range res.Chats {
			if ch, ok := ch.(*tg.Channel); ok && ch.ID == p.ChannelID {
				return peer{Kind: "channel", ID: ch.ID, AccessHash: ch.AccessHash}, nil
			}
		}
	case *tg.PeerChat:
		return peer{Kind: "group", ID: p.ChatID}, nil
	}
	return peer{}, fmt.Errorf("resolve %s: Telegram's answer lacks the chat", chat)
}

// peerInvalid reports errors that mean a cached access hash went stale.
func peerInvalid(err error) bool {
	return tgerr.Is(err, "PEER_ID_INVALID", "CHANNEL_INVALID", "USER_ID_INVALID")
}

// withPeer resolves to and calls do with it. If a cached peer turns out
// stale, it resolves the chat again and calls do once more.
func (c *Client) withPeer(ctx context.Context, chat Chat, do func(tg.InputPeerClass) error) error {
	p, cached, err := c.resolve(ctx, chat)
	if err != nil {
		return err
	}
	err = do(p.input())
	if !cached || !peerInvalid(err) {
		return err
	}
	c.log.Info("cached chat is no longer valid; resolving it again", "chat", chat.String(), "error", err.Error())
	c.peers.forget(chat.key())
	p, _, rerr := c.resolve(ctx, chat)
	if rerr != nil {
		return fmt.Errorf("%w (after %w)", rerr, err)
	}
	return do(p.input())
}
