package telegram

import (
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/gotd/td/telegram/message/entity"
	"github.com/gotd/td/telegram/message/html"
	"github.com/gotd/td/tg"
)

// ParseMode says how message text is marked up. Over MTProto the server
// parses no markup: the client turns it into message entities.
type ParseMode string

// Parse modes.
const (
	// ParseModeNone sends the text as it is; the zero value means the same.
	ParseModeNone ParseMode = "none"
	// ParseModeMarkdown reads the Bot API's MarkdownV2: *bold*, _italic_,
	// __underline__, ~strikethrough~, ||spoiler||, `code`, ```pre```
	// (with an optional language on the first line) and [text](url);
	// a backslash escapes the next character. Markup characters that are
	// meant literally must be escaped, as in MarkdownV2; other punctuation
	// needs no escape.
	ParseModeMarkdown ParseMode = "markdown"
	// ParseModeHTML reads the Bot API's HTML subset: <b>, <i>, <u>, <s>,
	// <tg-spoiler>, <code>, <pre>, <a href>, <blockquote>.
	ParseModeHTML ParseMode = "html"
)

// format turns marked-up text into plain text and entities.
func format(mode ParseMode, text string) (string, []tg.MessageEntityClass, error) {
	if !utf8.ValidString(text) {
		return "", nil, errors.New("text is not valid UTF-8")
	}
	switch mode {
	case "", ParseModeNone:
		return text, nil, nil
	case ParseModeMarkdown:
		return markdown(text)
	case ParseModeHTML:
		var b entity.Builder
		if err := html.HTML(strings.NewReader(text), &b, html.Options{}); err != nil {
			return "", nil, fmt.Errorf("html: %w", err)
		}
		out, ents := b.Complete()
		return out, ents, nil
	}
	return "", nil, fmt.Errorf("parse mode %q: want none, markdown or html", string(mode))
}

type mdStyle uint8

const (
	mdBold mdStyle = iota
	mdItalic
	mdUnderline
	mdStrike
	mdSpoiler
	mdStyles
)

var mdMarkers = [mdStyles]string{"*", "_", "__", "~", "||"}

type mdOpen struct {
	at16 int // UTF-16 offset in the output where the span starts
	src  int // byte offset of the marker in the input, for errors
}

type mdParser struct {
	src   string
	out   strings.Builder
	at16  int // UTF-16 length of out: entity offsets count UTF-16 units
	open  [mdStyles]*mdOpen
	links []mdOpen
	ents  []tg.MessageEntityClass
}

var preLangRE = regexp.MustCompile(`^[A-Za-z0-9_+#.-]+$`)

func markdown(src string) (string, []tg.MessageEntityClass, error) {
	p := &mdParser{src: src}
	if err := p.parse(); err != nil {
		return "", nil, fmt.Errorf("markdown: %w", err)
	}
	// Outer spans first, as TDLib orders them. (gotd's SortEntities has
	// an inconsistent comparison.)
	slices.SortStableFunc(p.ents, func(a, b tg.MessageEntityClass) int {
		if c := cmp.Compare(a.GetOffset(), b.GetOffset()); c != 0 {
			return c
		}
		return cmp.Compare(b.GetLength(), a.GetLength())
	})
	return p.out.String(), p.ents, nil
}

func (p *mdParser) write(s string) {
	p.out.WriteString(s)
	for _, r := range s {
		if utf16.RuneLen(r) == 2 {
			p.at16 += 2
		} else {
			p.at16++
		}
	}
}

func (p *mdParser) parse() error {
	src := p.src
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '\\':
			if i+1 >= len(src) {
				p.write(`\`)
				i++
				continue
			}
			_, size := utf8.DecodeRuneInString(src[i+1:])
			p.write(src[i+1 : i+1+size])
			i += 1 + size
		case strings.HasPrefix(src[i:], "```"):
			n, err := p.pre(i)
			if err != nil {
				return err
			}
			i = n
		case c == '`':
			n, err := p.code(i)
			if err != nil {
				return err
			}
			i = n
		case strings.HasPrefix(src[i:], "__"):
			p.toggle(mdUnderline, i)
			i += 2
		case c == '_':
			p.toggle(mdItalic, i)
			i++
		case c == '*':
			p.toggle(mdBold, i)
			i++
		case c == '~':
			p.toggle(mdStrike, i)
			i++
		case strings.HasPrefix(src[i:], "||"):
			p.toggle(mdSpoiler, i)
			i += 2
		case c == '[':
			p.links = append(p.links, mdOpen{at16: p.at16, src: i})
			i++
		case c == ']':
			n, err := p.link(i)
			if err != nil {
				return err
			}
			i = n
		default:
			_, size := utf8.DecodeRuneInString(src[i:])
			p.write(src[i : i+size])
			i += size
		}
	}
	for s, o := range p.open {
		if o != nil {
			return fmt.Errorf("%q at byte %d is never closed (write \\%s for a literal one)", mdMarkers[s], o.src, mdMarkers[s][:1])
		}
	}
	if len(p.links) > 0 {
		return fmt.Errorf(`"[" at byte %d starts a link that never ends with ](url) (write \[ for a literal one)`, p.links[0].src)
	}
	return nil
}

func (p *mdParser) toggle(s mdStyle, src int) {
	o := p.open[s]
	if o == nil {
		p.open[s] = &mdOpen{at16: p.at16, src: src}
		return
	}
	p.open[s] = nil
	offset, length := o.at16, p.at16-o.at16
	if length == 0 {
		return
	}
	var e tg.MessageEntityClass
	switch s {
	case mdBold:
		e = &tg.MessageEntityBold{Offset: offset, Length: length}
	case mdItalic:
		e = &tg.MessageEntityItalic{Offset: offset, Length: length}
	case mdUnderline:
		e = &tg.MessageEntityUnderline{Offset: offset, Length: length}
	case mdStrike:
		e = &tg.MessageEntityStrike{Offset: offset, Length: length}
	case mdSpoiler:
		e = &tg.MessageEntitySpoiler{Offset: offset, Length: length}
	}
	p.ents = append(p.ents, e)
}

// literal reads up to the closing delimiter, where only "\" escapes (the
// delimiter's first character or a backslash), as inside MarkdownV2 code.
func (p *mdParser) literal(from int, delim string) (string, int, bool) {
	var b strings.Builder
	src := p.src
	for i := from; i < len(src); {
		switch {
		case src[i] == '\\' && i+1 < len(src) && (src[i+1] == '\\' || src[i+1] == delim[0]):
			b.WriteByte(src[i+1])
			i += 2
		case strings.HasPrefix(src[i:], delim):
			return b.String(), i + len(delim), true
		default:
			b.WriteByte(src[i])
			i++
		}
	}
	return "", 0, false
}

func (p *mdParser) code(at int) (int, error) {
	text, next, ok := p.literal(at+1, "`")
	if !ok {
		return 0, fmt.Errorf("\"`\" at byte %d is never closed (write \\` for a literal one)", at)
	}
	start := p.at16
	p.write(text)
	if p.at16 > start {
		p.ents = append(p.ents, &tg.MessageEntityCode{Offset: start, Length: p.at16 - start})
	}
	return next, nil
}

func (p *mdParser) pre(at int) (int, error) {
	text, next, ok := p.literal(at+3, "```")
	if !ok {
		return 0, fmt.Errorf("\"```\" at byte %d is never closed", at)
	}
	lang := ""
	if first, rest, found := strings.Cut(text, "\n"); found && (first == "" || preLangRE.MatchString(first)) {
		lang, text = first, rest
	}
	start := p.at16
	p.write(text)
	if p.at16 > start {
		p.ents = append(p.ents, &tg.MessageEntityPre{Offset: start, Length: p.at16 - start, Language: lang})
	}
	return next, nil
}

func (p *mdParser) link(at int) (int, error) {
	if len(p.links) == 0 {
		return 0, fmt.Errorf(`"]" at byte %d closes no link (write \] for a literal one)`, at)
	}
	if !strings.HasPrefix(p.src[at+1:], "(") {
		return 0, fmt.Errorf(`"]" at byte %d must be followed by (url)`, at)
	}
	url, next, ok := p.literal(at+2, ")")
	if !ok {
		return 0, fmt.Errorf(`link URL at byte %d is never closed with ")"`, at+1)
	}
	if strings.TrimSpace(url) == "" {
		return 0, fmt.Errorf("link at byte %d has an empty URL", at+1)
	}
	o := p.links[len(p.links)-1]
	p.links = p.links[:len(p.links)-1]
	if p.at16 > o.at16 {
		p.ents = append(p.ents, &tg.MessageEntityTextURL{Offset: o.at16, Length: p.at16 - o.at16, URL: url})
	}
	return next, nil
}
