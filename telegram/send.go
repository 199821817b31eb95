package telegram

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"mime"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gotd/td/telegram/downloader"
	"github.com/gotd/td/telegram/uploader"
	"github.com/gotd/td/tg"
	"github.com/gotd/td/tgerr"
)

// ErrNoPhoto is returned (wrapped) by ProfilePhoto for a chat without a
// profile photo.
var ErrNoPhoto = errors.New("telegram: chat has no profile photo")

// Message is a text message to send.
type Message struct {
	// To is the chat: "me", "@username", a numeric ID or a t.me link (see
	// ParseChat).
	To   string
	Text string
	// ParseMode says how Text is marked up; the zero value is plain text.
	ParseMode     ParseMode
	Silent        bool // deliver without a notification sound
	NoLinkPreview bool
	// RandomID makes the send idempotent: Telegram posts a random_id once.
	// Derive it with RandomID from the job, the scheduled instant and the
	// step, so every retry of the run reuses it. Zero picks a random one,
	// which makes only this call's own retries safe.
	RandomID int64
}

// Send sends a text message.
func (c *Client) Send(ctx context.Context, m Message) error {
	err := c.send(ctx, m)
	if err != nil {
		c.stats.sent(0, err)
		return fmt.Errorf("telegram: send to %s: %w", m.To, err)
	}
	c.stats.sent(1, nil)
	return nil
}

func (c *Client) send(ctx context.Context, m Message) error {
	chat, err := ParseChat(m.To)
	if err != nil {
		return err
	}
	text, entities, err := format(m.ParseMode, m.Text)
	if err != nil {
		return err
	}
	if strings.TrimSpace(text) == "" {
		return errors.New("text is empty")
	}
	if err := c.await(ctx); err != nil {
		return err
	}
	rid := orRandom(m.RandomID)
	return c.withPeer(ctx, chat, func(p tg.InputPeerClass) error {
		_, err := c.api.MessagesSendMessage(ctx, &tg.MessagesSendMessageRequest{
			Peer:      p,
			Message:   text,
			Entities:  entities,
			RandomID:  rid,
			Silent:    m.Silent,
			NoWebpage: m.NoLinkPreview,
		})
		return err
	})
}

// File is a file to send as a document or a photo.
type File struct {
	To   string // as in Message
	Path string
	// Caption is shown under the file, marked up per ParseMode.
	Caption   string
	ParseMode ParseMode
	// Photo sends the file as a compressed photo instead of a document.
	Photo    bool
	Silent   bool
	RandomID int64 // as in Message
}

// SendFile uploads a file and sends it.
func (c *Client) SendFile(ctx context.Context, f File) error {
	err := c.sendFile(ctx, f)
	if err != nil {
		c.stats.sent(0, err)
		return fmt.Errorf("telegram: send %s to %s: %w", f.Path, f.To, err)
	}
	c.stats.sent(1, nil)
	return nil
}

func (c *Client) sendFile(ctx context.Context, f File) error {
	chat, err := ParseChat(f.To)
	if err != nil {
		return err
	}
	caption, entities, err := format(f.ParseMode, f.Caption)
	if err != nil {
		return err
	}
	fi, err := os.Stat(f.Path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return errors.New("not a regular file")
	}
	if err := c.await(ctx); err != nil {
		return err
	}
	rid := orRandom(f.RandomID)
	var file tg.InputFileClass // uploaded once, even if the chat is resolved twice
	return c.withPeer(ctx, chat, func(p tg.InputPeerClass) error {
		if file == nil {
			up, err := uploader.NewUploader(c.api).FromPath(ctx, f.Path)
			if err != nil {
				return fmt.Errorf("upload: %w", err)
			}
			file = up
		}
		var media tg.InputMediaClass
		if f.Photo {
			media = &tg.InputMediaUploadedPhoto{File: file}
		} else {
			typ := mime.TypeByExtension(filepath.Ext(f.Path))
			if typ == "" {
				typ = "application/octet-stream"
			}
			media = &tg.InputMediaUploadedDocument{
				File:       file,
				MimeType:   typ,
				Attributes: []tg.DocumentAttributeClass{&tg.DocumentAttributeFilename{FileName: filepath.Base(f.Path)}},
			}
		}
		_, err := c.api.MessagesSendMedia(ctx, &tg.MessagesSendMediaRequest{
			Peer:     p,
			Media:    media,
			Message:  caption,
			Entities: entities,
			RandomID: rid,
			Silent:   f.Silent,
		})
		return err
	})
}

// Forward copies the last Limit messages of one chat to another.
type Forward struct {
	From, To string // as Message.To
	Limit    int
	// DropAuthor sends copies without the "Forwarded from" header.
	DropAuthor bool
	Silent     bool
	// RandomID is the base of the forwarded messages' random_ids: each
	// message's is derived from it and the message's ID, so a retry
	// forwards no message twice.
	RandomID int64
}

// Forward forwards the last f.Limit messages of f.From to f.To, oldest
// first, one request per message (so each is paced by the rate limits),
// and returns how many it forwarded.
func (c *Client) Forward(ctx context.Context, f Forward) (int, error) {
	n, err := c.forward(ctx, f)
	c.stats.sent(n, err)
	if err != nil {
		return n, fmt.Errorf("telegram: forward from %s to %s: %w", f.From, f.To, err)
	}
	return n, nil
}

func (c *Client) forward(ctx context.Context, f Forward) (int, error) {
	from, err := ParseChat(f.From)
	if err != nil {
		return 0, err
	}
	to, err := ParseChat(f.To)
	if err != nil {
		return 0, err
	}
	if f.Limit <= 0 {
		return 0, fmt.Errorf("limit %d: want at least 1 message", f.Limit)
	}
	if err := c.await(ctx); err != nil {
		return 0, err
	}
	base := strconv.FormatInt(orRandom(f.RandomID), 10)
	done := map[int]bool{}
	err = c.withPeer(ctx, from, func(src tg.InputPeerClass) error {
		msgs, err := c.history(ctx, src, f.Limit)
		if err != nil {
			return err
		}
		return c.withPeer(ctx, to, func(dst tg.InputPeerClass) error {
			for _, m := range msgs {
				if done[m.ID] {
					continue
				}
				_, err := c.api.MessagesForwardMessages(ctx, &tg.MessagesForwardMessagesRequest{
					FromPeer:   src,
					ID:         []int{m.ID},
					RandomID:   []int64{RandomID(base, strconv.Itoa(m.ID))},
					ToPeer:     dst,
					DropAuthor: f.DropAuthor,
					Silent:     f.Silent,
				})
				if err != nil {
					return fmt.Errorf("message %d: %w", m.ID, err)
				}
				done[m.ID] = true
			}
			return nil
		})
	})
	return len(done), err
}

// HistoryMessage is a message read from a chat's history.
type HistoryMessage struct {
	ID   int
	Date time.Time
	// From is the sender in the Bot API's ID form (users positive, groups
	// negative, channels -100…); 0 if Telegram did not say.
	From int64
	Text string
	// Media names the attachment's kind ("photo", "document", …); empty
	// for none.
	Media string
}

// Messages returns the last limit messages of a chat, oldest first. Reading
// history needs a user account: Telegram refuses it to bots.
func (c *Client) Messages(ctx context.Context, chat string, limit int) ([]HistoryMessage, error) {
	ch, err := ParseChat(chat)
	if err == nil && limit <= 0 {
		err = fmt.Errorf("limit %d: want at least 1 message", limit)
	}
	if err == nil {
		err = c.await(ctx)
	}
	var out []HistoryMessage
	if err == nil {
		err = c.withPeer(ctx, ch, func(p tg.InputPeerClass) error {
			msgs, err := c.history(ctx, p, limit)
			out = msgs
			return err
		})
	}
	if err != nil {
		return nil, fmt.Errorf("telegram: messages of %s: %w", chat, err)
	}
	return out, nil
}

// history pages through messages.getHistory (100 per request) and returns
// up to limit messages, oldest first. Service messages are left out.
func (c *Client) history(ctx context.Context, p tg.InputPeerClass, limit int) ([]HistoryMessage, error) {
	var newestFirst []HistoryMessage
	offset := 0
	for len(newestFirst) < limit {
		res, err := c.api.MessagesGetHistory(ctx, &tg.MessagesGetHistoryRequest{
			Peer: p, OffsetID: offset, Limit: min(100, limit-len(newestFirst)),
		})
		if tgerr.Is(err, "BOT_METHOD_INVALID") {
			return nil, fmt.Errorf("bots may not read chat history; log in a user account (scheduler login): %w", err)
		}
		if err != nil {
			return nil, err
		}
		page, ok := res.AsModified()
		if !ok || len(page.GetMessages()) == 0 {
			break
		}
		for _, m := range page.GetMessages() {
			offset = m.GetID()
			if m, ok := m.(*tg.Message); ok && len(newestFirst) < limit {
				newestFirst = append(newestFirst, historyMessage(m))
			}
		}
	}
	out := make([]HistoryMessage, len(newestFirst))
	for i, m := range newestFirst {
		out[len(out)-1-i] = m
	}
	return out, nil
}

func historyMessage(m *tg.Message) HistoryMessage {
	h := HistoryMessage{ID: m.ID, Date: time.Unix(int64(m.Date), 0), Text: m.Message}
	from := m.FromID
	if from == nil {
		from = m.PeerID // a channel post, or a private chat's other side
	}
	switch p := from.(type) {
	case *tg.PeerUser:
		h.From = p.UserID
	case *tg.PeerChat:
		h.From = -p.ChatID
	case *tg.PeerChannel:
		h.From = -channelIDOffset - p.ChannelID
	}
	if m.Media != nil {
		h.Media = strings.ToLower(strings.TrimPrefix(m.Media.TypeName(), "messageMedia"))
	}
	return h
}

// ProfilePhoto downloads a chat's current profile photo (full size, JPEG)
// to path and returns the file written. If path is a directory or ends in
// a separator, the file inside it is named after the chat (username or
// ID) plus ".jpg". The file is replaced atomically.
func (c *Client) ProfilePhoto(ctx context.Context, chat, path string) (string, error) {
	out, err := c.profilePhoto(ctx, chat, path)
	if err != nil {
		return "", fmt.Errorf("telegram: profile photo of %s: %w", chat, err)
	}
	return out, nil
}

func (c *Client) profilePhoto(ctx context.Context, chatStr, path string) (string, error) {
	chat, err := ParseChat(chatStr)
	if err != nil {
		return "", err
	}
	if path == "" {
		return "", errors.New("no path to save it to")
	}
	if fi, err := os.Stat(path); strings.HasSuffix(path, string(os.PathSeparator)) || strings.HasSuffix(path, "/") || err == nil && fi.IsDir() {
		name := strings.TrimPrefix(chat.String(), "@")
		path = filepath.Join(path, name+".jpg")
	}
	if err := c.await(ctx); err != nil {
		return "", err
	}
	var data bytes.Buffer
	err = c.withPeer(ctx, chat, func(p tg.InputPeerClass) error {
		id, err := c.photoID(ctx, p)
		if err != nil {
			return err
		}
		data.Reset()
		_, err = downloader.NewDownloader().
			Download(c.api, &tg.InputPeerPhotoFileLocation{Big: true, Peer: p, PhotoID: id}).
			Stream(ctx, &data)
		return err
	})
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	if err := writeFileAtomic(path, data.Bytes(), 0o644); err != nil {
		return "", err
	}
	return path, nil
}

// photoID asks for the chat's current photo.
func (c *Client) photoID(ctx context.Context, p tg.InputPeerClass) (int64, error) {
	var photo interface{ GetPhotoID() int64 }
	switch p := p.(type) {
	case *tg.InputPeerSelf, *tg.InputPeerUser:
		in := tg.InputUserClass(&tg.InputUserSelf{})
		if u, ok := p.(*tg.InputPeerUser); ok {
			in = &tg.InputUser{UserID: u.UserID, AccessHash: u.AccessHash}
		}
		users, err := c.api.UsersGetUsers(ctx, []tg.InputUserClass{in})
		if err != nil {
			return 0, err
		}
		for _, u := range users {
			if u, ok := u.AsNotEmpty(); ok {
				if ph, ok := u.Photo.(*tg.UserProfilePhoto); ok {
					photo = ph
				}
			}
		}
	case *tg.InputPeerChannel:
		res, err := c.api.ChannelsGetChannels(ctx, []tg.InputChannelClass{&tg.InputChannel{ChannelID: p.ChannelID, AccessHash: p.AccessHash}})
		if err != nil {
			return 0, err
		}
		for _, ch := range res.GetChats() {
			if ch, ok := ch.(*tg.Channel); ok {
				if ph, ok := ch.Photo.(*tg.ChatPhoto); ok {
					photo = ph
				}
			}
		}
	case *tg.InputPeerChat:
		res, err := c.api.MessagesGetChats(ctx, []int64{p.ChatID})
		if err != nil {
			return 0, err
		}
		for _, ch := range res.GetChats() {
			if ch, ok := ch.(*tg.Chat); ok {
				if ph, ok := ch.Photo.(*tg.ChatPhoto); ok {
					photo = ph
				}
			}
		}
	}
	if photo == nil {
		return 0, ErrNoPhoto
	}
	return photo.GetPhotoID(), nil
}

// orRandom returns id, or a random non-zero one if id is 0.
func orRandom(id int64) int64 {
	for id == 0 {
		var b [8]byte
		_, _ = rand.Read(b[:])
		id = int64(binary.LittleEndian.Uint64(b[:]))
	}
	return id
}
