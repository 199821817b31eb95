package telegram

import (
	"strings"
	"testing"

	"github.com/gotd/td/tg"
)

func TestMarkdown(t *testing.T) {
	tests := []struct {
		in   string
		text string
		ents []tg.MessageEntityClass
	}{
		{"plain text. with! punctuation-", "plain text. with! punctuation-", nil},
		{"*bold* and _italic_", "bold and italic", []tg.MessageEntityClass{
			&tg.MessageEntityBold{Offset: 0, Length: 4},
			&tg.MessageEntityItalic{Offset: 9, Length: 6},
		}},
		{"__under__ ~gone~ ||secret||", "under gone secret", []tg.MessageEntityClass{
			&tg.MessageEntityUnderline{Offset: 0, Length: 5},
			&tg.MessageEntityStrike{Offset: 6, Length: 4},
			&tg.MessageEntitySpoiler{Offset: 11, Length: 6},
		}},
		{"*bold _both_*", "bold both", []tg.MessageEntityClass{
			&tg.MessageEntityBold{Offset: 0, Length: 9},
			&tg.MessageEntityItalic{Offset: 5, Length: 4},
		}},
		{"see [the *docs*](https://x.dev/a\\)b)", "see the docs", []tg.MessageEntityClass{
			&tg.MessageEntityTextURL{Offset: 4, Length: 8, URL: "https://x.dev/a)b"},
			&tg.MessageEntityBold{Offset: 8, Length: 4},
		}},
		{"run `go test *` now", "run go test * now", []tg.MessageEntityClass{
			&tg.MessageEntityCode{Offset: 4, Length: 9},
		}},
		{"```go\nfmt.Println(`x`)\n```", "fmt.Println(`x`)\n", []tg.MessageEntityClass{
			&tg.MessageEntityPre{Offset: 0, Length: 17, Language: "go"},
		}},
		{`5 \* 3 \_ \[x\] \\`, `5 * 3 _ [x] \`, nil},
		// Offsets count UTF-16 units: the emoji is two.
		{"🎉 *yay*", "🎉 yay", []tg.MessageEntityClass{&tg.MessageEntityBold{Offset: 3, Length: 3}}},
		{"é *ü*", "é ü", []tg.MessageEntityClass{&tg.MessageEntityBold{Offset: 2, Length: 1}}},
		{"a single | pipe", "a single | pipe", nil},
		{"**", "", nil},
	}
	for _, tt := range tests {
		text, ents, err := format(ParseModeMarkdown, tt.in)
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if text != tt.text || !sameEntities(ents, tt.ents) {
			t.Errorf("%q = %q %v, want %q %v", tt.in, text, ents, tt.text, tt.ents)
		}
	}
}

func TestMarkdownErrors(t *testing.T) {
	tests := map[string]string{
		"5 * 3":          `"*" at byte 2 is never closed`,
		"snake_case":     `"_" at byte 5 is never closed`,
		"[link](":        `link URL at byte 6 is never closed`,
		"[link] text":    `"]" at byte 5 must be followed by (url)`,
		"a ] b":          `"]" at byte 2 closes no link`,
		"[open":          `"[" at byte 0 starts a link`,
		"`code":          "\"`\" at byte 0 is never closed",
		"```go\ncode":    "\"```\" at byte 0 is never closed",
		"[x]()":          "empty URL",
		"||spoiler":      `"||" at byte 0 is never closed`,
		"bad \xff utf-8": "not valid UTF-8",
	}
	for in, want := range tests {
		_, _, err := format(ParseModeMarkdown, in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want it to say %q", in, err, want)
		}
	}
}

func TestParseModes(t *testing.T) {
	text, ents, err := format("", "*as is*")
	if err != nil || text != "*as is*" || ents != nil {
		t.Errorf("zero parse mode = %q %v %v", text, ents, err)
	}
	text, ents, err = format(ParseModeHTML, `<b>bold</b> &amp; <a href="https://x.dev">link</a>`)
	want := []tg.MessageEntityClass{
		&tg.MessageEntityBold{Offset: 0, Length: 4},
		&tg.MessageEntityTextURL{Offset: 7, Length: 4, URL: "https://x.dev"},
	}
	if err != nil || text != "bold & link" || !sameEntities(ents, want) {
		t.Errorf("html = %q %v %v", text, ents, err)
	}
	if _, _, err := format("rtf", "x"); err == nil || !strings.Contains(err.Error(), "want none, markdown or html") {
		t.Errorf("unknown mode: err = %v", err)
	}
}

func sameEntities(a, b []tg.MessageEntityClass) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].String() != b[i].String() {
			return false
		}
	}
	return true
}
