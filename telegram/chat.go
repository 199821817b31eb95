package telegram

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// Chat names a chat as a job spec does: yourself ("me"), a public username
// ("@news"), a numeric ID in the Bot API's form (users positive, basic
// groups negative, channels and supergroups -100…) or a t.me link. The zero
// Chat names nothing.
type Chat struct {
	kind     chatKind
	id       int64
	username string // lower case, without "@"
}

type chatKind uint8

const (
	chatNone chatKind = iota
	chatSelf
	chatUsername
	chatUser
	chatGroup   // basic group
	chatChannel // channel or supergroup
)

// channelIDOffset turns Bot API channel IDs (-100xxxxxxxxxx) into MTProto
// ones, as Telegram's own clients do.
const channelIDOffset = 1_000_000_000_000

var usernameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{2,31}$`)

// ParseChat parses a chat reference. Validating a job spec with it reports
// a bad `to` before anything runs; the Client parses the same way.
func ParseChat(s string) (Chat, error) {
	orig := s
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "":
		return Chat{}, fmt.Errorf("chat is empty: want me, @username, a numeric ID or a t.me link")
	case "me", "self":
		return Chat{kind: chatSelf}, nil
	}
	if name, ok := strings.CutPrefix(s, "@"); ok {
		return usernameChat(orig, name)
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		switch {
		case n > 0:
			return Chat{kind: chatUser, id: n}, nil
		case n < -channelIDOffset:
			return Chat{kind: chatChannel, id: -n - channelIDOffset}, nil
		case n < 0:
			return Chat{kind: chatGroup, id: -n}, nil
		}
		return Chat{}, fmt.Errorf("chat %q: 0 is not a chat ID", orig)
	}
	if link, ok := tmeLink(s); ok {
		return linkChat(orig, link)
	}
	return Chat{}, fmt.Errorf("chat %q: want me, @username, a numeric ID or a t.me link", orig)
}

func usernameChat(orig, name string) (Chat, error) {
	if !usernameRE.MatchString(name) {
		return Chat{}, fmt.Errorf("chat %q: a username has 3 to 32 letters, digits or underscores and starts with a letter", orig)
	}
	return Chat{kind: chatUsername, username: strings.ToLower(name)}, nil
}

// tmeLink returns the path of a t.me (or telegram.me / telegram.dog) link.
func tmeLink(s string) (string, bool) {
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return "", false
	}
	switch strings.ToLower(u.Host) {
	case "t.me", "www.t.me", "telegram.me", "www.telegram.me", "telegram.dog":
		return strings.Trim(u.Path, "/"), true
	}
	return "", false
}

func linkChat(orig, path string) (Chat, error) {
	parts := strings.Split(path, "/")
	switch {
	case parts[0] == "":
		return Chat{}, fmt.Errorf("chat %q: the link names no chat", orig)
	case strings.HasPrefix(parts[0], "+") || parts[0] == "joinchat":
		return Chat{}, fmt.Errorf("chat %q: invite links cannot be resolved without joining; use the chat's numeric ID", orig)
	case parts[0] == "c":
		// t.me/c/<channel>/<message>: a private channel's message link.
		if len(parts) < 2 {
			return Chat{}, fmt.Errorf("chat %q: t.me/c/ needs a channel ID", orig)
		}
		id, err := strconv.ParseInt(parts[1], 10, 64)
		if err != nil || id <= 0 {
			return Chat{}, fmt.Errorf("chat %q: %q is not a channel ID", orig, parts[1])
		}
		return Chat{kind: chatChannel, id: id}, nil
	case parts[0] == "s" && len(parts) > 1:
		// t.me/s/<name>: a channel's public preview page.
		return usernameChat(orig, parts[1])
	}
	return usernameChat(orig, parts[0])
}

// String returns the canonical form: "me", "@name", or the Bot API ID.
func (c Chat) String() string {
	switch c.kind {
	case chatSelf:
		return "me"
	case chatUsername:
		return "@" + c.username
	case chatUser:
		return strconv.FormatInt(c.id, 10)
	case chatGroup:
		return strconv.FormatInt(-c.id, 10)
	case chatChannel:
		return strconv.FormatInt(-channelIDOffset-c.id, 10)
	}
	return ""
}

// IsZero reports whether c names no chat.
func (c Chat) IsZero() bool { return c.kind == chatNone }
