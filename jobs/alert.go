package jobs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/scheduler-dev/scheduler/runtime"
)

// The alert keys, accepted in defaults: and in a job.
const (
	onFailure = "on_failure"
	onSuccess = "on_success"
)

// alertKeys are the keys naming alerts; like policyKeys, both defaults:
// and a job accept them.
var alertKeys = []string{onFailure, onSuccess}

// defaultAlertTimeout bounds an alert's steps when the job sets no
// timeout: an alert is a notification, and one that hangs must not hold
// the run's concurrency slot (which the runtime keeps until OnEnd returns)
// for long.
const defaultAlertTimeout = time.Minute

// alert is a compiled on_failure or on_success: steps run one after
// another once a run has ended.
type alert struct {
	name  string // on_failure or on_success
	steps []namedStep
}

// alertSpec is the alerts written at one level (defaults or a job). An
// alert set to [] is set, with a nil value: it turns the default off.
type alertSpec struct {
	onFailure opt[*alert]
	onSuccess opt[*alert]
}

// over returns a with the alerts it leaves unset taken from base: a job's
// own alert replaces the default one whole.
func (a alertSpec) over(base alertSpec) alertSpec {
	return alertSpec{onFailure: a.onFailure.or(base.onFailure), onSuccess: a.onSuccess.or(base.onSuccess)}
}

// decodeAlerts compiles the alert keys present in f. Their steps are
// compiled with paths starting at the alert's name (on_failure[0]...), as
// log records and Telegram random_ids use them; label, if set, is put in
// front of the field of errors found, so that an alert in defaults: is
// reported as defaults.on_failure[0]...
func (d *decoder) decodeAlerts(f fields, sc scope, label string) alertSpec {
	var a alertSpec
	for _, k := range []struct {
		name string
		dst  *opt[*alert]
	}{{onFailure, &a.onFailure}, {onSuccess, &a.onSuccess}} {
		e := f.get(k.name)
		if e == nil {
			continue
		}
		before := len(d.errs)
		al, ok := d.alert(e, sc.key(k.name))
		if label != "" {
			for _, err := range d.errs[before:] {
				err.Field = label + "." + err.Field
			}
		}
		if ok {
			*k.dst = opt[*alert]{al, true, e.val}
		}
	}
	return a
}

// alert compiles the list of steps of an on_failure or on_success; an
// empty list is no alert (nil), and ok.
func (d *decoder) alert(e *entry, sc scope) (*alert, bool) {
	n := resolve(e.val)
	switch {
	case n.Kind == yaml.MappingNode:
		d.errorf(n, sc, "must be a list of steps, got a mapping (write each step as a list item: - telegram: ...)")
		return nil, false
	case n.Kind == yaml.SequenceNode && len(n.Content) == 0:
		return nil, true
	}
	outer := d.inAlert
	d.inAlert = true
	defer func() { d.inAlert = outer }()
	steps, ok := d.steps(e, sc)
	if !ok {
		return nil, false
	}
	return &alert{name: e.name, steps: steps}, true
}

// alertKeyMessage says why an alert key is not accepted in a step.
func (d *decoder) alertKeyMessage() string {
	if d.inAlert {
		return "an alert's steps cannot have alerts of their own"
	}
	return "alerts belong to a job or to defaults:, not to a step"
}

// alertData is what a template in an alert's step sees: the data of log
// templates, and how the run ended.
type alertData struct {
	logData
	// Error is the run's error; empty when it succeeded.
	Error string
	// Output is the tail (about 4 KiB) of the output of the exec step that
	// failed the run; empty for other failures and on success.
	Output string
	// Attempts is how many attempts the run made.
	Attempts int
	// Outcome is ok, failed, timeout or panic.
	Outcome string
	// Duration is how long the run took, from its first attempt's start to
	// its end.
	Duration time.Duration
}

// sampleAlertData is what templates in alerts are checked with at load.
var sampleAlertData = alertData{
	Error:    "job sample: exec: command failed: exit status 1",
	Output:   "sample output\n",
	Attempts: 1,
	Outcome:  runtime.OutcomeFailed,
	Duration: time.Second,
}

// environ returns the alert data as environment variables for the
// commands of exec steps, which have no template: SCHEDULER_JOB,
// SCHEDULER_SCHEDULED, SCHEDULER_OUTCOME, SCHEDULER_ERROR,
// SCHEDULER_OUTPUT, SCHEDULER_ATTEMPTS and SCHEDULER_DURATION.
func (a *alertData) environ(rc *runCtx) []string {
	sched := rc.run.Scheduled
	if rc.loc != nil {
		sched = sched.In(rc.loc)
	}
	// The environment of a process cannot hold NUL bytes, which command
	// output may.
	clean := func(s string) string { return strings.ReplaceAll(s, "\x00", "") }
	return []string{
		"SCHEDULER_JOB=" + rc.run.Job,
		"SCHEDULER_SCHEDULED=" + sched.Format(time.RFC3339Nano),
		"SCHEDULER_OUTCOME=" + a.Outcome,
		"SCHEDULER_ERROR=" + clean(a.Error),
		"SCHEDULER_OUTPUT=" + clean(a.Output),
		"SCHEDULER_ATTEMPTS=" + strconv.Itoa(a.Attempts),
		"SCHEDULER_DURATION=" + a.Duration.String(),
	}
}

// OnEnd returns the function that runs j's alerts, for
// runtime.Policy.OnEnd (RuntimeJobs sets it): after a run that failed,
// timed out or panicked, the job's on_failure steps; after one that
// succeeded, its on_success steps; after a run that was cancelled (by
// shutdown or a replacing run) or skipped (its occurrence was claimed
// elsewhere), nothing. It returns nil when j has no alerts, so that such
// jobs cost nothing at the end of a run.
//
// The steps run one after another, each whatever became of the one
// before, under ctx and a timeout: j's Policy.Timeout if set, else one
// minute. An alert is never retried, and its failure is logged (level
// ERROR, with the job and the alert's name) without changing the outcome
// of the run it reports on. Telegram messages of an alert carry a
// random_id of their own, fixed for the run, so that sending one again
// never posts it twice.
func (j *Job) OnEnd(d Deps) func(ctx context.Context, r runtime.Report) {
	if j.onFailure == nil && j.onSuccess == nil {
		return nil
	}
	d = d.withDefaults()
	logger := d.Logger.With("job", j.Name)
	timeout := j.Policy.Timeout
	if timeout <= 0 {
		timeout = defaultAlertTimeout
	}
	return func(ctx context.Context, r runtime.Report) {
		var a *alert
		switch r.Outcome {
		case runtime.OutcomeOK:
			a = j.onSuccess
		case runtime.OutcomeFailed, runtime.OutcomeTimeout, runtime.OutcomePanic:
			a = j.onFailure
		}
		if a == nil {
			return
		}
		data := &alertData{Attempts: r.Attempt, Outcome: r.Outcome, Duration: r.End.Sub(r.Start)}
		if r.Err != nil {
			data.Error = r.Err.Error()
			var ee *ExitError
			if errors.As(r.Err, &ee) {
				data.Output = ee.Output
			}
		}
		rc := &runCtx{deps: d, log: logger, run: r.Run, loc: j.Location, alert: data}
		a.run(ctx, rc, timeout)
	}
}

// run runs the alert's steps in order under timeout, logging each failure.
func (a *alert) run(ctx context.Context, rc *runCtx, timeout time.Duration) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	t := rc.deps.Clock.AfterFunc(timeout, func() { cancel(&runtime.TimeoutError{Timeout: timeout}) })
	defer t.Stop()
	start := rc.deps.Clock.Now()
	failed := false
	for i, s := range a.steps {
		if ctx.Err() != nil {
			// A timeout or the end of the shutdown grace period: what is
			// left would fail at once.
			what := fmt.Sprintf("%s (%s)", s.label, s.kind)
			if rest := len(a.steps) - i - 1; rest > 0 {
				what += fmt.Sprintf(" and %d later step(s)", rest)
			}
			a.logFailure(rc, fmt.Errorf("%s not started: %w", what, context.Cause(ctx)))
			return
		}
		if err := callAlertStep(ctx, s, rc); err != nil {
			a.logFailure(rc, err)
			failed = true
		}
	}
	if !failed {
		rc.log.Debug("alert sent", "alert", a.name, "scheduled", rc.run.Scheduled,
			"duration", rc.deps.Clock.Now().Sub(start))
	}
}

func (a *alert) logFailure(rc *runCtx, err error) {
	rc.log.Error("alert failed", "alert", a.name, "scheduled", rc.run.Scheduled,
		"outcome", rc.alert.Outcome, "error", err)
}

// callAlertStep runs one step of an alert. The runtime recovers the
// panics of a run's attempts, not those of OnEnd: one here would take the
// whole scheduler down.
func callAlertStep(ctx context.Context, s namedStep, rc *runCtx) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%s (%s): panic: %v", s.label, s.kind, v)
		}
	}()
	return s.call(ctx, rc)
}
