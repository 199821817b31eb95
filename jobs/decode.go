package jobs

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// decoder walks the YAML node tree, collecting every problem instead of
// stopping at the first, so that one validate run shows them all.
type decoder struct {
	file      string
	dir       string // resolves relative *_file paths
	lookupEnv func(string) (string, bool)
	errs      Errors
	// hasTelegram: the file has a telegram: block, so telegram steps may
	// be used.
	hasTelegram bool
	// inAlert is set while the steps of an on_failure or on_success are
	// compiled: their templates see alertData, and they may not nest
	// alerts.
	inAlert bool
}

// scope locates a node for error messages: the job it is in and its dotted
// path inside that job.
type scope struct {
	job  string
	path string
}

func (s scope) key(k string) scope {
	if s.path == "" {
		return scope{s.job, k}
	}
	return scope{s.job, s.path + "." + k}
}

func (s scope) index(i int) scope { return scope{s.job, fmt.Sprintf("%s[%d]", s.path, i)} }

func (d *decoder) errorf(n *yaml.Node, sc scope, format string, args ...any) {
	e := &Error{File: d.file, Job: sc.job, Field: sc.path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	d.errs = append(d.errs, e)
}

// value is a string field after ${VAR} expansion or *_file reading.
type value struct {
	s    string
	raw  string     // as written in the file, before expansion
	node *yaml.Node // where errors about the value point
	// secret is set when s holds text from the environment or from a file:
	// such text must never be echoed in an error or a log.
	secret bool
}

// show quotes v for an error message, unless it must not be shown.
func (v value) show() string {
	if v.secret {
		return "(value from the environment or a file, not shown)"
	}
	return strconv.Quote(v.s)
}

// entry is one key of a mapping. A key written as NAME_file has name NAME
// and file set: its value is a path whose contents are the field's value.
type entry struct {
	key  *yaml.Node
	val  *yaml.Node
	name string
	file bool
}

// fields are the entries of one mapping, by name.
type fields struct {
	list []*entry
	by   map[string]*entry
}

func (f fields) get(name string) *entry {
	if f.by == nil {
		return nil
	}
	return f.by[name]
}

// keys lists the keys a mapping accepts; true marks a string field that may
// also be given as KEY_file.
type keys map[string]bool

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// describe names the type of a node for "must be X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.ShortTag() {
	case "!!null":
		return "nothing (null)"
	case "!!bool":
		return "a boolean"
	case "!!int":
		return "an integer"
	case "!!float":
		return "a number"
	case "!!str":
		return "a string"
	case "!!timestamp":
		return "a timestamp"
	}
	return "a " + strings.TrimPrefix(n.ShortTag(), "!!")
}

// mapping checks that n is a mapping and returns its entries, reporting
// unknown keys, duplicate keys and keys given both as KEY and KEY_file.
func (d *decoder) mapping(n *yaml.Node, sc scope, known keys) (fields, bool) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		d.errorf(n, sc, "must be a mapping, got %s", describe(n))
		return fields{}, false
	}
	f := fields{by: make(map[string]*entry)}
	seen := make(map[string]*yaml.Node)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, sc, "keys must be strings, got %s", describe(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			d.errorf(k, sc.key("<<"), "merge keys are not supported; use defaults: for shared settings")
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.errorf(k, sc.key(k.Value), "duplicate key (first given at %d:%d)", first.Line, first.Column)
			continue
		}
		seen[k.Value] = k
		e := &entry{key: k, val: v, name: k.Value}
		if _, ok := known[k.Value]; !ok {
			base, isFile := strings.CutSuffix(k.Value, "_file")
			if fileOK := known[base]; !isFile || !fileOK {
				d.errorf(k, sc.key(k.Value), "unknown key%s", suggest(k.Value, known))
				continue
			}
			e.name, e.file = base, true
		}
		if other := f.by[e.name]; other != nil {
			d.errorf(k, sc.key(k.Value), "%s and %s_file are both given; use one", e.name, e.name)
			continue
		}
		f.by[e.name] = e
		f.list = append(f.list, e)
	}
	return f, true
}

// suggest returns a "did you mean" hint for a mistyped key.
func suggest(key string, known keys) string {
	best, bestDist := "", 3
	names := make([]string, 0, len(known))
	for k := range known {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if dist := editDistance(key, k); dist < bestDist {
			best, bestDist = k, dist
		}
	}
	if best == "" {
		return " (want one of: " + strings.Join(names, ", ") + ")"
	}
	return fmt.Sprintf(" (did you mean %s?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// isText reports whether a scalar may be read as a string: quoted or plain
// text, and numbers (argv items and env values like 60 are meant as text).
func isText(n *yaml.Node) bool {
	if n.Kind != yaml.ScalarNode {
		return false
	}
	switch n.ShortTag() {
	case "!!str", "!!int", "!!float", "!!timestamp":
		return true
	}
	return false
}

// text reads a string scalar and expands ${VAR} in it.
func (d *decoder) text(n *yaml.Node, sc scope) (value, bool) {
	n = resolve(n)
	if !isText(n) {
		d.errorf(n, sc, "must be a string, got %s", describe(n))
		return value{}, false
	}
	s, secret, err := expand(n.Value, d.lookupEnv)
	if err != nil {
		d.errorf(n, sc, "%v", err)
		return value{}, false
	}
	return value{s: s, raw: n.Value, node: n, secret: secret}, true
}

// str reads a string field, from its value or, for KEY_file, from the file
// the value names.
func (d *decoder) str(e *entry, sc scope) (value, bool) {
	if !e.file {
		return d.text(e.val, sc)
	}
	fsc := scope{sc.job, sc.path + "_file"}
	p, ok := d.text(e.val, fsc)
	if !ok {
		return value{}, false
	}
	path := p.s
	if !filepath.IsAbs(path) {
		path = filepath.Join(d.dir, path)
	}
	shown := path
	if p.secret {
		shown = p.raw // names the file without the environment's values
	}
	data, err := os.ReadFile(path)
	if err != nil {
		d.errorf(p.node, fsc, "cannot read %s: %v", shown, pathError(err))
		return value{}, false
	}
	s := string(data)
	if t, ok := strings.CutSuffix(s, "\n"); ok {
		s = strings.TrimSuffix(t, "\r")
	}
	return value{s: s, raw: p.raw, node: p.node, secret: true}, true
}

// scalarText returns the text of a scalar of a non-string type (int, bool):
// the literal as written, or, for a string containing ${VAR}, its expansion.
func (d *decoder) scalarText(n *yaml.Node, sc scope, tag, want string) (value, bool) {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == tag {
		return value{s: n.Value, raw: n.Value, node: n}, true
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" && strings.Contains(n.Value, "$") {
		return d.text(n, sc)
	}
	d.errorf(n, sc, "must be %s, got %s", want, describe(n))
	return value{}, false
}

func (d *decoder) integer(n *yaml.Node, sc scope) (int, bool) {
	v, ok := d.scalarText(n, sc, "!!int", "an integer")
	if !ok {
		return 0, false
	}
	var i int
	var err error
	if v.secret || resolve(n).ShortTag() == "!!str" {
		i, err = strconv.Atoi(strings.TrimSpace(v.s))
	} else {
		err = resolve(n).Decode(&i)
	}
	if err != nil {
		d.errorf(v.node, sc, "must be an integer, got %s", v.show())
		return 0, false
	}
	return i, true
}

func (d *decoder) boolean(n *yaml.Node, sc scope) (bool, bool) {
	v, ok := d.scalarText(n, sc, "!!bool", "true or false")
	if !ok {
		return false, false
	}
	switch v.s {
	case "true", "True", "TRUE":
		return true, true
	case "false", "False", "FALSE":
		return false, true
	}
	d.errorf(v.node, sc, "must be true or false, got %s", v.show())
	return false, false
}

// duration reads a Go duration (90s, 1h30m); 0 is allowed, negative is not.
func (d *decoder) duration(n *yaml.Node, sc scope) (time.Duration, bool) {
	v, ok := d.text(n, sc)
	if !ok {
		return 0, false
	}
	dur, err := time.ParseDuration(strings.TrimSpace(v.s))
	if err != nil {
		d.errorf(v.node, sc, "invalid duration %s (use Go syntax, e.g. 90s, 1h30m)", v.show())
		return 0, false
	}
	if dur < 0 {
		d.errorf(v.node, sc, "must not be negative")
		return 0, false
	}
	return dur, true
}

// stringMap reads a mapping of user-chosen keys to string values (env,
// headers). Keys are taken as written, and returned in each value's raw;
// values are expanded. A KEY_file
// convention cannot apply here: such names are legitimate keys.
func (d *decoder) stringMap(n *yaml.Node, sc scope, checkKey func(string) string) ([]value, bool) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		d.errorf(n, sc, "must be a mapping, got %s", describe(n))
		return nil, false
	}
	ok := true
	var out []value
	seen := make(map[string]*yaml.Node)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := resolve(n.Content[i])
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, sc, "keys must be strings, got %s", describe(k))
			ok = false
			continue
		}
		ksc := sc.key(k.Value)
		if first, dup := seen[k.Value]; dup {
			d.errorf(k, ksc, "duplicate key (first given at %d:%d)", first.Line, first.Column)
			ok = false
			continue
		}
		seen[k.Value] = k
		if msg := checkKey(k.Value); msg != "" {
			d.errorf(k, ksc, "%s", msg)
			ok = false
			continue
		}
		v, vok := d.text(n.Content[i+1], ksc)
		if !vok {
			ok = false
			continue
		}
		v.raw = k.Value // the key: the caller needs it, and the value is in s
		out = append(out, v)
	}
	return out, ok
}

var varName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// expand replaces ${VAR} and ${VAR:-default} with values from lookupEnv;
// $$ is a literal $, and a $ before anything else is kept as is (so shell
// commands keep their $1 and $HOME). secret reports whether any text came
// from the environment. Errors name variables, never their values.
func expand(s string, lookupEnv func(string) (string, bool)) (out string, secret bool, err error) {
	if !strings.Contains(s, "$") {
		return s, false, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
			continue
		case '{':
		default:
			b.WriteByte(c)
			continue
		}
		end := closingBrace(s, i+2)
		if end < 0 {
			return "", false, fmt.Errorf("unterminated ${ (write $$ for a literal $)")
		}
		body := s[i+2 : end]
		name, def, hasDef := strings.Cut(body, ":-")
		if !varName.MatchString(name) {
			return "", false, fmt.Errorf("invalid variable name %q in ${...} (want ${NAME} or ${NAME:-default})", name)
		}
		val, set := "", false
		if lookupEnv != nil {
			val, set = lookupEnv(name)
		}
		switch {
		case set && (val != "" || !hasDef):
			b.WriteString(val)
			secret = true
		case hasDef:
			dv, dsecret, err := expand(def, lookupEnv)
			if err != nil {
				return "", false, err
			}
			b.WriteString(dv)
			secret = secret || dsecret
		default:
			return "", false, fmt.Errorf("environment variable %s is not set (use ${%s:-default} to give a default)", name, name)
		}
		i = end
	}
	return b.String(), secret, nil
}

// closingBrace returns the index of the } closing a ${ whose body starts at
// from, counting nested ${...} in defaults; -1 if there is none.
func closingBrace(s string, from int) int {
	depth := 0
	for i := from; i < len(s); i++ {
		switch {
		case s[i] == '$' && i+1 < len(s) && s[i+1] == '{':
			depth++
			i++
		case s[i] == '}':
			if depth == 0 {
				return i
			}
			depth--
		}
	}
	return -1
}
