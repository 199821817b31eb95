package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/scheduler-dev/scheduler/runtime"
)

// maxDrain is how much of a response body is read (and dropped) so that the
// connection can be reused.
const maxDrain = 64 << 10

type httpStep struct {
	method  string
	url     string
	desc    string // METHOD scheme://host/path: safe to log
	header  http.Header
	host    string             // a Host header, which net/http takes from Request.Host
	body    *template.Template // nil: no body
	expect  []int              // empty: any 2xx
	timeout time.Duration
}

func compileHTTP(d *decoder, e *entry, sc scope) stepFunc {
	f, ok := d.mapping(e.val, sc, keys{
		"url": true, "method": true, "headers": false, "body": true,
		"expect_status": false, "timeout": false,
	})
	if !ok {
		return nil
	}
	before := len(d.errs)
	n := resolve(e.val)
	s := &httpStep{method: http.MethodGet, header: make(http.Header)}
	if e := f.get("method"); e != nil {
		if v, ok := d.str(e, sc.key("method")); ok {
			if !isToken(v.s) {
				d.errorf(v.node, sc.key("method"), "invalid HTTP method %s", v.show())
			}
			s.method = v.s
		}
	}
	usc := sc.key("url")
	if e := f.get("url"); e == nil {
		d.errorf(n, usc, "missing (the http or https URL to request)")
	} else if v, ok := d.str(e, usc); ok {
		// Messages name at most scheme and host: the rest of a URL may
		// carry a token (query, userinfo, or a path like /bot<TOKEN>/).
		u, err := url.Parse(v.s)
		var uerr *url.Error
		switch {
		case err != nil && errors.As(err, &uerr) && !v.secret:
			d.errorf(v.node, usc, "invalid URL: %v", uerr.Err)
		case err != nil:
			d.errorf(v.node, usc, "invalid URL")
		case u.Scheme != "http" && u.Scheme != "https":
			d.errorf(v.node, usc, "must be an http or https URL")
		case u.Host == "":
			d.errorf(v.node, usc, "the URL has no host")
		default:
			s.url = v.s
			s.desc = describeURL(u, v)
		}
	}
	if e := f.get("headers"); e != nil {
		hs, _ := d.stringMap(e.val, sc.key("headers"), func(k string) string {
			if !isToken(k) {
				return "invalid header name"
			}
			return ""
		})
		for _, v := range hs {
			if strings.ContainsAny(v.s, "\r\n\x00") {
				d.errorf(v.node, sc.key("headers").key(v.raw), "the value must not contain CR, LF or NUL")
				continue
			}
			if http.CanonicalHeaderKey(v.raw) == "Host" {
				s.host = v.s
				continue
			}
			s.header.Add(v.raw, v.s)
		}
	}
	if e := f.get("body"); e != nil {
		if v, ok := d.str(e, sc.key("body")); ok {
			s.body = d.parseTemplate(v, sc.key("body"), "body")
		}
	}
	if e := f.get("expect_status"); e != nil {
		s.expect = d.statuses(e.val, sc.key("expect_status"))
	}
	if e := f.get("timeout"); e != nil {
		s.timeout, _ = d.duration(e.val, sc.key("timeout"))
	}
	if len(d.errs) > before {
		return nil
	}
	s.desc = s.method + " " + s.desc
	return s.run
}

// describeURL returns the URL as scheme://host/path, leaving out
// userinfo, query and fragment. A URL holding text from the environment is
// described as written, with its ${VAR}s unexpanded, since a variable may
// hold a token anywhere in it; one read from a file is not described at all.
func describeURL(u *url.URL, v value) string {
	if !v.secret {
		return u.Scheme + "://" + u.Host + u.EscapedPath()
	}
	if !strings.Contains(v.raw, "${") {
		return "(URL read from url_file)"
	}
	raw := v.raw
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		raw = raw[:i]
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	authority, path, _ := strings.Cut(rest, "/")
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		authority = authority[i+1:]
	}
	if path != "" || strings.Contains(rest, "/") {
		path = "/" + path
	}
	return scheme + "://" + authority + path
}

// statuses reads expect_status: one status code or a list of them.
func (d *decoder) statuses(n *yaml.Node, sc scope) []int {
	n = resolve(n)
	items := []*yaml.Node{n}
	isList := n.Kind == yaml.SequenceNode
	if isList {
		items = n.Content
		if len(items) == 0 {
			d.errorf(n, sc, "must list at least one status code")
			return nil
		}
	}
	var out []int
	for i, item := range items {
		isc := sc
		if isList {
			isc = sc.index(i)
		}
		c, ok := d.integer(item, isc)
		if !ok {
			continue
		}
		if c < 100 || c > 599 {
			d.errorf(item, isc, "%d is not an HTTP status code (100-599)", c)
			continue
		}
		out = append(out, c)
	}
	return out
}

// isToken reports whether s is an HTTP token (a method or header name).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

func (s *httpStep) run(ctx context.Context, rc *runCtx) error {
	if s.timeout > 0 {
		var cancel context.CancelCauseFunc
		ctx, cancel = context.WithCancelCause(ctx)
		defer cancel(nil)
		t := rc.deps.Clock.AfterFunc(s.timeout, func() { cancel(&runtime.TimeoutError{Timeout: s.timeout}) })
		defer t.Stop()
	}
	var body io.Reader
	if s.body != nil {
		text, err := render(s.body, rc)
		if err != nil {
			return fmt.Errorf("http %s: body: %w", s.desc, err)
		}
		body = strings.NewReader(text)
	}
	req, err := http.NewRequestWithContext(ctx, s.method, s.url, body)
	if err != nil {
		return fmt.Errorf("http %s: invalid request", s.desc)
	}
	req.Header = s.header.Clone()
	if s.host != "" {
		req.Host = s.host
	}
	resp, err := rc.deps.HTTPClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("http %s: %w", s.desc, context.Cause(ctx))
		}
		// *url.Error repeats the whole URL; keep only what went wrong.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return fmt.Errorf("http %s: %w", s.desc, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	resp.Body.Close()
	rc.log.DebugContext(ctx, "http response", "request", s.desc, "status", resp.StatusCode)
	if !s.accepts(resp.StatusCode) {
		return fmt.Errorf("http %s: status %s, expected %s", s.desc, resp.Status, s.expected())
	}
	return nil
}

func (s *httpStep) accepts(code int) bool {
	if len(s.expect) == 0 {
		return code >= 200 && code <= 299
	}
	return slices.Contains(s.expect, code)
}

func (s *httpStep) expected() string {
	if len(s.expect) == 0 {
		return "2xx"
	}
	codes := make([]string, len(s.expect))
	for i, c := range s.expect {
		codes[i] = strconv.Itoa(c)
	}
	if len(codes) == 1 {
		return codes[0]
	}
	return strings.Join(codes[:len(codes)-1], ", ") + " or " + codes[len(codes)-1]
}
