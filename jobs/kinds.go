package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"text/template"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/scheduler-dev/scheduler/runtime"
)

// Deps are what job kinds need from the process that runs them.
type Deps struct {
	// Logger receives job output (log lines, exec output); nil discards it.
	Logger *slog.Logger
	// Clock is the time source; nil means runtime.SystemClock.
	Clock runtime.Clock
	// HTTPClient sends the requests of http jobs; nil means a plain
	// &http.Client{}.
	HTTPClient *http.Client
	// Telegram sends the requests of telegram jobs: the client of the
	// configuration's telegram: block, logged in.
	Telegram TelegramClient
}

func (d Deps) withDefaults() Deps {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Clock == nil {
		d.Clock = runtime.SystemClock{}
	}
	if d.HTTPClient == nil {
		d.HTTPClient = &http.Client{}
	}
	return d
}

// runCtx is what a step sees of the run it is part of.
type runCtx struct {
	deps Deps
	log  *slog.Logger // tagged with the job, and the step when nested
	run  runtime.Run
	loc  *time.Location
	// alert is set while the steps of an on_failure or on_success run: how
	// the run they report on ended.
	alert *alertData
}

// stepFunc is a compiled step: a job's kind, or one step of a parallel or
// sequence.
type stepFunc func(ctx context.Context, rc *runCtx) error

// Func returns the function the runtime calls at each fire of j. An error
// it returns carries the job's name.
func (j *Job) Func(d Deps) runtime.Func {
	d = d.withDefaults()
	logger := d.Logger.With("job", j.Name)
	return func(ctx context.Context, r runtime.Run) error {
		if j.step == nil {
			return fmt.Errorf("job %s: not loaded from a configuration (use Load or Parse)", j.Name)
		}
		rc := &runCtx{deps: d, log: logger, run: r, loc: j.Location}
		if err := j.step(ctx, rc); err != nil {
			return fmt.Errorf("job %s: %w", j.Name, err)
		}
		return nil
	}
}

// RuntimeJobs returns one runtime.Job per configured job, in file order.
// Its Policy is the job's, with OnEnd set to the job's alerts (Job.OnEnd)
// when it has any.
func (c *Config) RuntimeJobs(d Deps) []runtime.Job {
	out := make([]runtime.Job, 0, len(c.Jobs))
	for _, j := range c.Jobs {
		p := &j.Policy
		if onEnd := j.OnEnd(d); onEnd != nil {
			withAlerts := j.Policy
			withAlerts.OnEnd = onEnd
			p = &withAlerts
		}
		out = append(out, runtime.Job{
			Name:     j.Name,
			Spec:     j.Spec,
			Location: j.Location,
			Func:     j.Func(d),
			Policy:   p,
		})
	}
	return out
}

// kindDef is one job kind: its key and how it compiles.
type kindDef struct {
	name string
	// text marks a kind whose value is a string, so KIND_file works.
	text    bool
	compile func(d *decoder, e *entry, sc scope) stepFunc
}

// kindTable lists the job kinds. A new kind is one entry here. (A function,
// not a variable: parallel and sequence compile their steps through it.)
func kindTable() []kindDef {
	return []kindDef{
		{"log", true, compileLog},
		{"exec", false, compileExec},
		{"http", false, compileHTTP},
		{"telegram", false, compileTelegram},
		{"parallel", false, compileParallel},
		{"sequence", false, compileSequence},
	}
}

func kindByName(name string) *kindDef {
	for _, k := range kindTable() {
		if k.name == name {
			return &k
		}
	}
	return nil
}

// kindList names the kinds for messages: "log, exec, ... or sequence".
func kindList() string {
	t := kindTable()
	names := make([]string, len(t))
	for i, k := range t {
		names[i] = k.name
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// step compiles one step of a parallel or sequence: a mapping with exactly
// one kind key.
func (d *decoder) step(n *yaml.Node, sc scope) (stepFunc, string) {
	known := make(keys)
	for _, k := range kindTable() {
		known[k.name] = k.text
	}
	n = d.withoutAlerts(n, sc)
	f, ok := d.mapping(n, sc, known)
	if !ok {
		return nil, ""
	}
	if len(f.list) == 0 {
		if len(resolve(n).Content) == 0 {
			d.errorf(resolve(n), sc, "empty step: give exactly one of %s", kindList())
		}
		return nil, ""
	}
	for _, e := range f.list[1:] {
		d.errorf(e.key, sc.key(e.key.Value), "a step has exactly one kind and this one already has %s", f.list[0].name)
	}
	e := f.list[0]
	return kindByName(e.name).compile(d, e, sc.key(e.name)), e.name
}

// withoutAlerts reports the alert keys (on_failure, on_success) of a step's
// mapping, which are easily misplaced there, with a message of their own
// rather than as unknown keys, and returns the mapping without them.
func (d *decoder) withoutAlerts(n *yaml.Node, sc scope) *yaml.Node {
	m := resolve(n)
	if m.Kind != yaml.MappingNode {
		return n
	}
	var kept []*yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := resolve(m.Content[i])
		if k.Kind == yaml.ScalarNode && slices.Contains(alertKeys, k.Value) {
			d.errorf(k, sc.key(k.Value), "%s", d.alertKeyMessage())
			continue
		}
		kept = append(kept, m.Content[i], m.Content[i+1])
	}
	if len(kept) == len(m.Content) {
		return n
	}
	c := *m
	c.Content = kept
	return &c
}

// logData is what a log template sees.
type logData struct {
	// Now is the time of rendering in the job's zone.
	Now time.Time
	// Scheduled is the instant the run was due.
	Scheduled time.Time
	// Job is the job's name.
	Job string
	// Attempt counts tries of this run, from 1.
	Attempt int
}

var templateErrPrefix = regexp.MustCompile(`^template: [^:]*:`)

func compileLog(d *decoder, e *entry, sc scope) stepFunc {
	v, ok := d.str(e, sc)
	if !ok {
		return nil
	}
	tmpl := d.parseTemplate(v, sc, sc.job)
	if tmpl == nil {
		return nil
	}
	return func(ctx context.Context, rc *runCtx) error {
		line, err := render(tmpl, rc)
		if err != nil {
			return fmt.Errorf("log: %w", err)
		}
		rc.log.InfoContext(ctx, line)
		return nil
	}
}

// templateFuncs are the functions templates may call besides text/template's
// own.
var templateFuncs = template.FuncMap{
	// json writes a value as JSON (a string quoted and escaped), for the
	// bodies of webhooks: {"text": {{ .Error | json }}}.
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
}

// parseTemplate parses v as a text/template named name (which execution
// errors quote) for logData, or, in an alert's steps, alertData. Rendering
// it once with sample data catches unknown fields (.Nwo) and bad method
// calls now rather than at the first fire.
func (d *decoder) parseTemplate(v value, sc scope, name string) *template.Template {
	tmpl, err := template.New(name).Funcs(templateFuncs).Parse(v.s)
	hint := ""
	if err == nil {
		sample := time.Date(2000, 1, 2, 3, 4, 5, 0, time.UTC)
		data := logData{Now: sample, Scheduled: sample, Job: sc.job, Attempt: 1}
		alertSample := sampleAlertData
		alertSample.logData = data
		if d.inAlert {
			err = tmpl.Execute(io.Discard, alertSample)
		} else if err = tmpl.Execute(io.Discard, data); err != nil && tmpl.Execute(io.Discard, alertSample) == nil {
			hint = " (.Error, .Output, .Attempts, .Outcome and .Duration exist only in the steps of on_failure and on_success)"
		}
	}
	if err != nil {
		if v.secret {
			d.errorf(v.node, sc, "invalid template (it came from the environment or a file and is not shown)%s", hint)
		} else {
			d.errorf(v.node, sc, "invalid template: line %s%s", templateErrPrefix.ReplaceAllString(err.Error(), ""), hint)
		}
		return nil
	}
	return tmpl
}

// render executes tmpl for the run, with times in the job's zone; a nil
// template renders as "".
func render(tmpl *template.Template, rc *runCtx) (string, error) {
	if tmpl == nil {
		return "", nil
	}
	now, sched := rc.deps.Clock.Now(), rc.run.Scheduled
	if rc.loc != nil {
		now, sched = now.In(rc.loc), sched.In(rc.loc)
	}
	ld := logData{Now: now, Scheduled: sched, Job: rc.run.Job, Attempt: rc.run.Attempt}
	var data any = ld
	if rc.alert != nil {
		a := *rc.alert
		a.logData = ld
		data = a
	}
	var b strings.Builder
	if err := tmpl.Execute(&b, data); err != nil {
		return "", fmt.Errorf("rendering the template: %w", err)
	}
	return b.String(), nil
}

// namedStep is a compiled step of a parallel or sequence with its label
// (parallel[1]) and kind, which name it in errors, and its full path
// inside the job, which tags its log records.
type namedStep struct {
	fn    stepFunc
	label string
	kind  string
	path  string
}

func (s namedStep) call(ctx context.Context, rc *runCtx) error {
	sub := *rc
	sub.log = rc.log.With("step", s.path)
	if err := s.fn(ctx, &sub); err != nil {
		return fmt.Errorf("%s (%s): %w", s.label, s.kind, err)
	}
	return nil
}

// steps compiles the list of a parallel or sequence.
func (d *decoder) steps(e *entry, sc scope) ([]namedStep, bool) {
	n := resolve(e.val)
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, sc, "must be a list of steps, got %s", describe(n))
		return nil, false
	}
	if len(n.Content) == 0 {
		d.errorf(n, sc, "must list at least one step")
		return nil, false
	}
	ok := true
	steps := make([]namedStep, len(n.Content))
	for i, item := range n.Content {
		ssc := sc.index(i)
		fn, kind := d.step(item, ssc)
		if fn == nil {
			ok = false
		}
		steps[i] = namedStep{fn: fn, kind: kind, label: fmt.Sprintf("%s[%d]", e.name, i), path: ssc.path}
	}
	return steps, ok
}

// compileParallel runs all steps at once, like asyncio.gather: the first
// failure cancels the others and is the step's error.
func compileParallel(d *decoder, e *entry, sc scope) stepFunc {
	steps, ok := d.steps(e, sc)
	if !ok {
		return nil
	}
	return func(ctx context.Context, rc *runCtx) error {
		ctx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		var (
			once  sync.Once
			first error
			wg    sync.WaitGroup
		)
		for _, s := range steps {
			wg.Go(func() {
				if err := s.call(ctx, rc); err != nil {
					once.Do(func() {
						first = err
						cancel(err)
					})
				}
			})
		}
		wg.Wait()
		return first
	}
}

// compileSequence runs the steps in order, stopping at the first failure.
func compileSequence(d *decoder, e *entry, sc scope) stepFunc {
	steps, ok := d.steps(e, sc)
	if !ok {
		return nil
	}
	return func(ctx context.Context, rc *runCtx) error {
		for _, s := range steps {
			if ctx.Err() != nil {
				return fmt.Errorf("%s (%s) not started: %w", s.label, s.kind, context.Cause(ctx))
			}
			if err := s.call(ctx, rc); err != nil {
				return err
			}
		}
		return nil
	}
}
