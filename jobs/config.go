package jobs

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/scheduler-dev/scheduler/runtime"
	"github.com/scheduler-dev/scheduler/schedule"
	"github.com/scheduler-dev/scheduler/telegram"
)

// Config is a validated configuration file.
type Config struct {
	// File is the path the configuration was read from.
	File string
	// Timezone is the default zone of every job (timezone:); time.Local
	// unless set.
	Timezone *time.Location
	// StateDir is where the state store lives (state_dir:); default
	// $STATE_DIRECTORY (its first entry) when set, else ./.scheduler.
	StateDir string
	// History is how many runs the state store keeps per job (history:);
	// default 100.
	History int
	// MaxConcurrent bounds the runs going at once (max_concurrent:); default 256.
	MaxConcurrent int
	// ShutdownGrace is how long running jobs get to finish after a stop
	// request before they are cancelled (shutdown_grace:); default 30s.
	ShutdownGrace time.Duration
	// Telegram configures the Telegram client (telegram:); nil without the
	// block, and then no job may use the telegram kind.
	Telegram *telegram.Config
	// HTTP configures the read-only HTTP endpoints (/metrics, /healthz,
	// /jobs) (http:); nil without the block: no HTTP listener.
	HTTP *HTTPConfig
	// Jobs are the configured jobs in file order.
	Jobs []*Job
}

// Job is one configured job, ready to be turned into a runtime.Job.
type Job struct {
	// Name is the job's unique name (letters, digits, '.', '_', '-').
	Name string
	// Spec is the schedule: field, already validated by schedule.Parse.
	Spec string
	// Location is the zone Spec is read in: the job's timezone:, a CRON_TZ=
	// prefix of the spec, or Config.Timezone.
	Location *time.Location
	// Policy is the job's policy: defaults: merged with the job's own
	// settings, field by field.
	Policy runtime.Policy
	// Kind is the job's kind: log, exec, http, telegram, parallel or
	// sequence.
	Kind string

	step stepFunc
	// onFailure and onSuccess are the job's alerts (its own, else those of
	// defaults:); nil for none. Job.OnEnd runs them.
	onFailure, onSuccess *alert
}

// Load reads and validates the YAML file at path. lookupEnv (os.LookupEnv in
// production; nil means an empty environment) supplies ${VAR} values. On
// failure it returns a nil Config and an Errors listing every problem found.
func Load(path string, lookupEnv func(string) (string, bool)) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Errors{{File: path, Msg: fmt.Sprintf("cannot read the configuration: %v", pathError(err))}}
	}
	return Parse(path, data, lookupEnv)
}

// Parse is Load on bytes already read: file names the configuration in
// error messages, and relative *_file paths resolve against its directory.
func Parse(file string, data []byte, lookupEnv func(string) (string, bool)) (*Config, error) {
	d := &decoder{file: file, dir: filepath.Dir(file), lookupEnv: lookupEnv}
	var cfg *Config
	if root := d.parseYAML(data); root != nil {
		cfg = d.config(root)
	}
	if len(d.errs) > 0 {
		slices.SortStableFunc(d.errs, func(a, b *Error) int {
			if a.Line != b.Line {
				return a.Line - b.Line
			}
			return a.Col - b.Col
		})
		return nil, d.errs
	}
	return cfg, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML returns the root node of the file's single document, or nil
// after reporting why there is none.
func (d *decoder) parseYAML(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			d.errs = append(d.errs, &Error{File: d.file, Line: 1, Col: 1,
				Msg: "the configuration is empty; it needs at least a jobs: list"})
			return nil
		}
		d.syntaxError(err)
		return nil
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == io.EOF:
	case err != nil:
		d.syntaxError(err)
		return nil
	default:
		d.errs = append(d.errs, &Error{File: d.file, Line: extra.Line, Col: extra.Column,
			Msg: "a second YAML document; the configuration is one document"})
		return nil
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		return doc.Content[0]
	}
	return &doc
}

// syntaxError reports a file that is not valid YAML. yaml.v3 gives the line
// but not the column.
func (d *decoder) syntaxError(err error) {
	e := &Error{File: d.file, Msg: "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Col = 1
		e.Msg = "invalid YAML: " + m[2]
	}
	d.errs = append(d.errs, e)
}

func (d *decoder) config(root *yaml.Node) *Config {
	cfg := &Config{
		File:          d.file,
		Timezone:      time.Local,
		StateDir:      "./.scheduler",
		History:       100,
		MaxConcurrent: 256,
		ShutdownGrace: 30 * time.Second,
	}
	if d.lookupEnv != nil {
		// systemd's StateDirectory= may list several directories; the first is ours.
		if dir, ok := d.lookupEnv("STATE_DIRECTORY"); ok && dir != "" {
			cfg.StateDir, _, _ = strings.Cut(dir, ":")
		}
	}
	if root = resolve(root); root.Kind != yaml.MappingNode {
		d.errorf(root, scope{}, "the configuration must be a mapping with a jobs: list, got %s", describe(root))
		return nil
	}
	f, _ := d.mapping(root, scope{}, keys{
		"timezone": true, "state_dir": true, "history": false, "max_concurrent": false,
		"shutdown_grace": false, "defaults": false, "telegram": false, "http": false, "jobs": false,
	})
	if e := f.get("timezone"); e != nil {
		if loc, ok := d.location(e, scope{path: "timezone"}); ok {
			cfg.Timezone = loc
		}
	}
	if e := f.get("state_dir"); e != nil {
		if v, ok := d.str(e, scope{path: "state_dir"}); ok {
			if v.s == "" {
				d.errorf(v.node, scope{path: "state_dir"}, "must not be empty")
			}
			cfg.StateDir = v.s
		}
	}
	if e := f.get("history"); e != nil {
		if n, ok := d.integer(e.val, scope{path: "history"}); ok {
			if n < 1 {
				d.errorf(e.val, scope{path: "history"}, "must be at least 1")
			}
			cfg.History = n
		}
	}
	if e := f.get("max_concurrent"); e != nil {
		if n, ok := d.integer(e.val, scope{path: "max_concurrent"}); ok {
			if n < 1 {
				d.errorf(e.val, scope{path: "max_concurrent"}, "must be at least 1")
			}
			cfg.MaxConcurrent = n
		}
	}
	if e := f.get("shutdown_grace"); e != nil {
		if t, ok := d.duration(e.val, scope{path: "shutdown_grace"}); ok {
			cfg.ShutdownGrace = t
		}
	}
	if e := f.get("telegram"); e != nil {
		d.hasTelegram = true
		cfg.Telegram = d.telegramBlock(e, cfg.StateDir)
	}
	if e := f.get("http"); e != nil {
		cfg.HTTP = d.httpBlock(e.val)
	}
	var defaults policySpec
	var defaultAlerts alertSpec
	if e := f.get("defaults"); e != nil {
		sc := scope{path: "defaults"}
		known := make(keys)
		for _, k := range policyKeys {
			known[k] = k == "overlap"
		}
		for _, k := range alertKeys {
			known[k] = false
		}
		if df, ok := d.mapping(e.val, sc, known); ok {
			defaults = d.decodePolicy(df, sc)
			d.checkPolicy(defaults, defaults, sc)
			// Compiled once, for every job: paths inside them start at
			// on_failure, as in a job.
			defaultAlerts = d.decodeAlerts(df, scope{}, "defaults")
		}
	}
	e := f.get("jobs")
	if e == nil {
		d.errorf(root, scope{path: "jobs"}, "missing (the list of jobs to run)")
		return cfg
	}
	list := resolve(e.val)
	if list.Kind != yaml.SequenceNode {
		d.errorf(list, scope{path: "jobs"}, "must be a list of jobs, got %s", describe(list))
		return cfg
	}
	names := make(map[string]*yaml.Node)
	for i, n := range list.Content {
		if j := d.job(resolve(n), i, defaults, defaultAlerts, cfg.Timezone, names); j != nil {
			cfg.Jobs = append(cfg.Jobs, j)
		}
	}
	return cfg
}

// location reads an IANA time zone name.
func (d *decoder) location(e *entry, sc scope) (*time.Location, bool) {
	v, ok := d.str(e, sc)
	if !ok {
		return nil, false
	}
	// LoadLocation reads "" as UTC; an empty zone is more likely a mistake.
	loc, err := time.LoadLocation(v.s)
	if err != nil || v.s == "" {
		d.errorf(v.node, sc, "unknown time zone %s (want an IANA name such as Europe/Berlin, or UTC or Local)", v.show())
		return nil, false
	}
	return loc, true
}

var validName = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// jobKeys returns the keys a job mapping accepts.
func (d *decoder) jobKeys() keys {
	k := keys{"name": true, "schedule": true, "timezone": true}
	for _, p := range policyKeys {
		k[p] = p == "overlap"
	}
	for _, a := range alertKeys {
		k[a] = false
	}
	for _, kd := range kindTable() {
		k[kd.name] = kd.text
	}
	return k
}

// job decodes the i-th entry of jobs:. It returns nil if the job has errors
// (they are recorded).
func (d *decoder) job(n *yaml.Node, i int, defaults policySpec, defaultAlerts alertSpec, loc *time.Location, names map[string]*yaml.Node) *Job {
	before := len(d.errs)
	sc := scope{path: fmt.Sprintf("jobs[%d]", i)}
	f, ok := d.mapping(n, sc, d.jobKeys())
	if !ok {
		return nil
	}
	j := &Job{}
	// The name comes first: it labels every other problem of the job.
	if e := f.get("name"); e == nil {
		d.errorf(n, sc.key("name"), "missing (every job needs a unique name)")
	} else if v, ok := d.str(e, sc.key("name")); ok {
		if !validName.MatchString(v.s) {
			d.errorf(v.node, sc.key("name"), "invalid name %s: use letters, digits, '.', '_' and '-' only", v.show())
		} else {
			// Problems already found in this job's mapping (unknown or
			// duplicate keys) were labelled jobs[i]; now it has a name.
			for _, e := range d.errs[before:] {
				if rest, ok := strings.CutPrefix(e.Field, sc.path); ok && e.Job == "" && (rest == "" || rest[0] == '.') {
					e.Job, e.Field = v.s, strings.TrimPrefix(rest, ".")
				}
			}
			sc = scope{job: v.s}
			j.Name = v.s
			if first := names[v.s]; first != nil {
				d.errorf(v.node, sc.key("name"), "duplicate job name (first used at %d:%d)", first.Line, first.Column)
			} else {
				names[v.s] = v.node
			}
		}
	}
	tzSet := false
	if e := f.get("timezone"); e != nil {
		tzSet = true
		if l, ok := d.location(e, sc.key("timezone")); ok {
			loc = l
		}
	}
	if e := f.get("schedule"); e == nil {
		d.errorf(n, sc.key("schedule"), `missing (e.g. "*/5 * * * *" or "@every 1m")`)
	} else if v, ok := d.str(e, sc.key("schedule")); ok {
		z, err := schedule.Parse(v.s, loc)
		switch {
		case err != nil && v.secret:
			d.errorf(v.node, sc.key("schedule"), "invalid schedule %s", v.show())
		case err != nil:
			d.errorf(v.node, sc.key("schedule"), "invalid schedule %q: %v", v.s, err)
		case tzSet && hasZonePrefix(v.s):
			d.errorf(v.node, sc.key("schedule"), "has a CRON_TZ= prefix while the job sets timezone:; use one")
		default:
			j.Spec, j.Location = v.s, z.Location()
		}
	}
	own := d.decodePolicy(f, sc)
	merged := own.over(defaults)
	d.checkPolicy(merged, own, sc)
	j.Policy = merged.apply()
	alerts := d.decodeAlerts(f, sc, "").over(defaultAlerts)
	j.onFailure, j.onSuccess = alerts.onFailure.v, alerts.onSuccess.v

	var kinds []*entry
	for _, e := range f.list {
		if kindByName(e.name) != nil {
			kinds = append(kinds, e)
		}
	}
	if len(kinds) == 0 {
		d.errorf(n, sc, "no kind: a job needs exactly one of %s", kindList())
	}
	for i, e := range kinds {
		if i > 0 {
			d.errorf(e.key, sc.key(e.key.Value), "a job has exactly one kind and this one already has %s; combine steps with parallel or sequence", kinds[0].name)
		}
		step := kindByName(e.name).compile(d, e, sc.key(e.name))
		if i == 0 {
			j.Kind, j.step = e.name, step
		}
	}
	if len(d.errs) > before {
		return nil
	}
	return j
}

func hasZonePrefix(spec string) bool {
	return strings.HasPrefix(spec, "CRON_TZ=") || strings.HasPrefix(spec, "TZ=")
}

// HTTPConfig is the http: block: where the read-only HTTP endpoints listen.
type HTTPConfig struct {
	// Listen is the TCP address, host:port (listen:). Its host must be a
	// loopback address or localhost unless Public is set.
	Listen string
	// Public allows a Listen address other than loopback (public: true):
	// the endpoints have no authentication, so exposing them is a choice
	// to make on purpose (behind a firewall, for a Prometheus elsewhere).
	Public bool
}

func (d *decoder) httpBlock(n *yaml.Node) *HTTPConfig {
	sc := scope{path: "http"}
	f, ok := d.mapping(n, sc, keys{"listen": false, "public": false})
	if !ok {
		return nil
	}
	c := &HTTPConfig{}
	if e := f.get("public"); e != nil {
		c.Public, _ = d.boolean(e.val, scope{path: "http.public"})
	}
	e := f.get("listen")
	if e == nil {
		d.errorf(n, scope{path: "http.listen"}, "missing (the address to serve /metrics, /healthz and /jobs on, such as 127.0.0.1:9090)")
		return nil
	}
	lsc := scope{path: "http.listen"}
	v, ok := d.text(e.val, lsc)
	if !ok {
		return nil
	}
	host, port, err := net.SplitHostPort(v.s)
	if err != nil {
		d.errorf(v.node, lsc, "want host:port, such as 127.0.0.1:9090, got %s", v.show())
		return nil
	}
	// Port 0 picks a free port, which the start record logs.
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		d.errorf(v.node, lsc, "port %q: want a number from 0 to 65535", port)
		return nil
	}
	if !c.Public && !isLoopback(host) {
		d.errorf(v.node, lsc, "%s is not a loopback address: the endpoints have no authentication; listen on 127.0.0.1 or [::1], or set http.public: true to serve them on purpose", v.show())
		return nil
	}
	c.Listen = v.s
	return c
}

// isLoopback reports whether host names only this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
