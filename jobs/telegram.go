package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"text/template"
	"time"

	"github.com/scheduler-dev/scheduler/telegram"
)

// TelegramClient is what telegram steps need from a connected client;
// *telegram.Client is one.
type TelegramClient interface {
	Send(ctx context.Context, m telegram.Message) error
	SendFile(ctx context.Context, f telegram.File) error
	Forward(ctx context.Context, f telegram.Forward) (int, error)
	Messages(ctx context.Context, chat string, limit int) ([]telegram.HistoryMessage, error)
	ProfilePhoto(ctx context.Context, chat, path string) (string, error)
}

// telegramBlock reads the top-level telegram: block into a client config.
// The session file defaults to telegram.session in the state directory.
func (d *decoder) telegramBlock(e *entry, stateDir string) *telegram.Config {
	sc := scope{path: "telegram"}
	f, ok := d.mapping(e.val, sc, keys{
		"app_id": true, "app_hash": true, "bot_token": true, "session_file": true,
		"server": true, "public_key_file": true, "dc": false, "rate_limit": false,
		"reconnect": false, "flood_wait_cap": false,
	})
	if !ok {
		return nil
	}
	before := len(d.errs)
	cfg := &telegram.Config{SessionFile: filepath.Join(stateDir, "telegram.session")}
	n := resolve(e.val)
	if e := f.get("app_id"); e == nil {
		d.errorf(n, sc.key("app_id"), "missing (the api_id from my.telegram.org)")
	} else if id, ok := d.integer(e.val, sc.key("app_id")); ok {
		if id <= 0 {
			d.errorf(e.val, sc.key("app_id"), "must be a positive integer")
		}
		cfg.AppID = id
	}
	if e := f.get("app_hash"); e == nil {
		d.errorf(n, sc.key("app_hash"), "missing (the api_hash from my.telegram.org)")
	} else if v, ok := d.str(e, sc.key("app_hash")); ok {
		if v.s == "" {
			d.errorf(v.node, sc.key("app_hash"), "must not be empty")
		}
		cfg.AppHash = v.s
	}
	if e := f.get("bot_token"); e != nil {
		if v, ok := d.str(e, sc.key("bot_token")); ok {
			if v.s == "" {
				d.errorf(v.node, sc.key("bot_token"), "must not be empty (leave it out to use the user session of scheduler login)")
			}
			cfg.BotToken = v.s
		}
	}
	if e := f.get("session_file"); e != nil {
		if v, ok := d.str(e, sc.key("session_file")); ok {
			cfg.SessionFile = v.s
		}
	}
	if e := f.get("server"); e != nil {
		if v, ok := d.str(e, sc.key("server")); ok {
			cfg.Server = v.s
		}
	}
	if e := f.get("public_key_file"); e != nil {
		ksc := sc.key("public_key_file")
		if v, ok := d.str(e, ksc); ok {
			path := v.s
			if !filepath.IsAbs(path) {
				path = filepath.Join(d.dir, path)
			}
			if data, err := os.ReadFile(path); err != nil {
				d.errorf(v.node, ksc, "cannot read %s: %v", v.raw, pathError(err))
			} else if key, err := telegram.ParsePublicKeyPEM(data); err != nil {
				d.errorf(v.node, ksc, "%s: %v", v.raw, err)
			} else {
				cfg.PublicKey = key
			}
		}
	} else if cfg.Server != "" {
		d.errorf(n, sc.key("public_key_file"), "missing: a custom server needs its RSA public key (PEM)")
	}
	if e := f.get("dc"); e != nil {
		if dc, ok := d.integer(e.val, sc.key("dc")); ok {
			if dc < 1 {
				d.errorf(e.val, sc.key("dc"), "must be a data center number, 1 or more")
			}
			cfg.DC = dc
		}
	}
	if e := f.get("rate_limit"); e != nil {
		rsc := sc.key("rate_limit")
		if rf, ok := d.mapping(e.val, rsc, keys{"overall": true, "private": true, "group": true}); ok {
			for _, r := range []struct {
				key string
				dst *telegram.Rate
			}{{"overall", &cfg.RateLimit.Overall}, {"private", &cfg.RateLimit.Private}, {"group", &cfg.RateLimit.Group}} {
				if e := rf.get(r.key); e != nil {
					if v, ok := d.str(e, rsc.key(r.key)); ok {
						rate, err := telegram.ParseRate(v.s)
						if err != nil {
							d.errorf(v.node, rsc.key(r.key), "%v", err)
						}
						*r.dst = rate
					}
				}
			}
		}
	}
	if e := f.get("reconnect"); e != nil {
		cfg.OutageBudget, _ = d.duration(e.val, sc.key("reconnect"))
	}
	if e := f.get("flood_wait_cap"); e != nil {
		cfg.FloodWaitCap, _ = d.duration(e.val, sc.key("flood_wait_cap"))
	}
	if len(d.errs) > before {
		return nil
	}
	return cfg
}

// compileTelegram compiles a telegram step: exactly one action.
func compileTelegram(d *decoder, e *entry, sc scope) stepFunc {
	if !d.hasTelegram {
		d.errorf(e.key, sc, "telegram jobs need a top-level telegram: block")
		return nil
	}
	actions := []struct {
		name    string
		compile func(*decoder, *entry, scope) telegramAction
	}{
		{"send", compileSend}, {"file", compileFile}, {"forward", compileForward},
		{"messages", compileMessages}, {"profile_photo", compileProfilePhoto},
	}
	known := make(keys)
	for _, a := range actions {
		known[a.name] = false
	}
	f, ok := d.mapping(e.val, sc, known)
	if !ok {
		return nil
	}
	if len(f.list) != 1 {
		d.errorf(resolve(e.val), sc, "give exactly one action: send, file, forward, messages or profile_photo")
		return nil
	}
	a := f.list[0]
	for _, def := range actions {
		if def.name == a.name {
			act := def.compile(d, a, sc.key(a.name))
			if act == nil {
				return nil
			}
			step := sc.path + "." + a.name
			return func(ctx context.Context, rc *runCtx) error {
				if rc.deps.Telegram == nil {
					return fmt.Errorf("telegram %s: no Telegram client (Deps.Telegram)", a.name)
				}
				if err := act(ctx, rc, rc.deps.Telegram, step); err != nil {
					return fmt.Errorf("telegram %s: %w", a.name, err)
				}
				return nil
			}
		}
	}
	return nil
}

// telegramAction is a compiled telegram action; step names it inside the
// job, which makes its random_id unique per step.
type telegramAction func(ctx context.Context, rc *runCtx, tg TelegramClient, step string) error

// randomID is fixed for a run of a step: every retry, and a run again after
// a restart (delivery: at_least_once), reuses it, so Telegram posts once.
func randomID(rc *runCtx, step string) int64 {
	return telegram.RandomID(rc.run.Job, rc.run.Scheduled.UTC().Format(time.RFC3339Nano), step)
}

// chat reads the chat reference at key of the mapping at, checked with
// telegram.ParseChat.
func (d *decoder) chat(at *entry, f fields, key string, sc scope) string {
	e := f.get(key)
	if e == nil {
		d.errorf(resolve(at.val), sc.key(key), "missing (me, @username, a numeric chat ID or a t.me link)")
		return ""
	}
	v, ok := d.str(e, sc.key(key))
	if !ok {
		return ""
	}
	if _, err := telegram.ParseChat(v.s); err != nil {
		d.errorf(v.node, sc.key(key), "%v", err)
		return ""
	}
	return v.s
}

// template reads the text/template field at key, if present.
func (d *decoder) template(f fields, key string, sc scope) *template.Template {
	e := f.get(key)
	if e == nil {
		return nil
	}
	v, ok := d.str(e, sc.key(key))
	if !ok {
		return nil
	}
	return d.parseTemplate(v, sc.key(key), key)
}

func (d *decoder) parseMode(f fields, sc scope) telegram.ParseMode {
	e := f.get("parse_mode")
	if e == nil {
		return telegram.ParseModeNone
	}
	v, ok := d.str(e, sc.key("parse_mode"))
	if !ok {
		return ""
	}
	switch m := telegram.ParseMode(v.s); m {
	case telegram.ParseModeNone, telegram.ParseModeMarkdown, telegram.ParseModeHTML:
		return m
	}
	d.errorf(v.node, sc.key("parse_mode"), "must be none, markdown or html, got %s", v.show())
	return ""
}

func (d *decoder) flag(f fields, key string, sc scope, def bool) bool {
	if e := f.get(key); e != nil {
		b, _ := d.boolean(e.val, sc.key(key))
		return b
	}
	return def
}

func (d *decoder) limit(f fields, sc scope, def int) int {
	e := f.get("limit")
	if e == nil {
		return def
	}
	n, ok := d.integer(e.val, sc.key("limit"))
	if ok && n < 1 {
		d.errorf(e.val, sc.key("limit"), "must be at least 1")
	}
	return n
}

func compileSend(d *decoder, e *entry, sc scope) telegramAction {
	f, ok := d.mapping(e.val, sc, keys{"to": true, "text": true, "parse_mode": true, "silent": false, "link_preview": false})
	if !ok {
		return nil
	}
	before := len(d.errs)
	to := d.chat(e, f, "to", sc)
	text := d.template(f, "text", sc)
	if f.get("text") == nil {
		d.errorf(resolve(e.val), sc.key("text"), "missing (the message, a template)")
	}
	mode := d.parseMode(f, sc)
	silent := d.flag(f, "silent", sc, false)
	preview := d.flag(f, "link_preview", sc, true)
	if len(d.errs) > before {
		return nil
	}
	return func(ctx context.Context, rc *runCtx, tg TelegramClient, step string) error {
		s, err := render(text, rc)
		if err != nil {
			return err
		}
		return tg.Send(ctx, telegram.Message{To: to, Text: s, ParseMode: mode, Silent: silent,
			NoLinkPreview: !preview, RandomID: randomID(rc, step)})
	}
}

func compileFile(d *decoder, e *entry, sc scope) telegramAction {
	f, ok := d.mapping(e.val, sc, keys{"to": true, "path": true, "caption": true, "parse_mode": true, "photo": false, "silent": false})
	if !ok {
		return nil
	}
	before := len(d.errs)
	to := d.chat(e, f, "to", sc)
	var path string
	if pe := f.get("path"); pe == nil {
		d.errorf(resolve(e.val), sc.key("path"), "missing (the file to send)")
	} else if v, ok := d.str(pe, sc.key("path")); ok {
		path = v.s
	}
	caption := d.template(f, "caption", sc)
	mode := d.parseMode(f, sc)
	photo := d.flag(f, "photo", sc, false)
	silent := d.flag(f, "silent", sc, false)
	if len(d.errs) > before {
		return nil
	}
	return func(ctx context.Context, rc *runCtx, tg TelegramClient, step string) error {
		c, err := render(caption, rc)
		if err != nil {
			return err
		}
		return tg.SendFile(ctx, telegram.File{To: to, Path: path, Caption: c, ParseMode: mode,
			Photo: photo, Silent: silent, RandomID: randomID(rc, step)})
	}
}

func compileForward(d *decoder, e *entry, sc scope) telegramAction {
	f, ok := d.mapping(e.val, sc, keys{"from": true, "to": true, "limit": false, "drop_author": false, "silent": false})
	if !ok {
		return nil
	}
	before := len(d.errs)
	fw := telegram.Forward{
		From:       d.chat(e, f, "from", sc),
		To:         d.chat(e, f, "to", sc),
		Limit:      d.limit(f, sc, 1),
		DropAuthor: d.flag(f, "drop_author", sc, false),
		Silent:     d.flag(f, "silent", sc, false),
	}
	if len(d.errs) > before {
		return nil
	}
	return func(ctx context.Context, rc *runCtx, tg TelegramClient, step string) error {
		fw := fw
		fw.RandomID = randomID(rc, step)
		n, err := tg.Forward(ctx, fw)
		rc.log.InfoContext(ctx, "forwarded messages", "from", fw.From, "to", fw.To, "count", n)
		return err
	}
}

func compileMessages(d *decoder, e *entry, sc scope) telegramAction {
	f, ok := d.mapping(e.val, sc, keys{"chat": true, "limit": false, "file": true})
	if !ok {
		return nil
	}
	before := len(d.errs)
	chat := d.chat(e, f, "chat", sc)
	limit := d.limit(f, sc, 10)
	var file string
	if e := f.get("file"); e != nil {
		if v, ok := d.str(e, sc.key("file")); ok {
			file = v.s
		}
	}
	if len(d.errs) > before {
		return nil
	}
	return func(ctx context.Context, rc *runCtx, tg TelegramClient, _ string) error {
		msgs, err := tg.Messages(ctx, chat, limit)
		if err != nil {
			return err
		}
		if file == "" {
			for _, m := range msgs {
				rc.log.InfoContext(ctx, m.Text, "chat", chat, "message_id", m.ID, "date", m.Date, "from", m.From, "media", m.Media)
			}
			return nil
		}
		return writeMessages(file, msgs)
	}
}

// writeMessages writes msgs to path as JSON lines, atomically.
func writeMessages(path string, msgs []telegram.HistoryMessage) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	enc := json.NewEncoder(tmp)
	for _, m := range msgs {
		if err := enc.Encode(m); err != nil {
			tmp.Close()
			return err
		}
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func compileProfilePhoto(d *decoder, e *entry, sc scope) telegramAction {
	f, ok := d.mapping(e.val, sc, keys{"chat": true, "path": true})
	if !ok {
		return nil
	}
	before := len(d.errs)
	chat := d.chat(e, f, "chat", sc)
	var path string
	if pe := f.get("path"); pe == nil {
		d.errorf(resolve(e.val), sc.key("path"), "missing (a file, or a directory ending in /)")
	} else if v, ok := d.str(pe, sc.key("path")); ok {
		path = v.s
	}
	if len(d.errs) > before {
		return nil
	}
	return func(ctx context.Context, rc *runCtx, tg TelegramClient, _ string) error {
		written, err := tg.ProfilePhoto(ctx, chat, path)
		if err == nil {
			rc.log.InfoContext(ctx, "profile photo saved", "chat", chat, "path", written)
		}
		return err
	}
}

// pathError drops the operation and path from a file error: messages name
// the path as written in the configuration themselves.
func pathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
