package jobs

import (
	"fmt"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/scheduler-dev/scheduler/runtime"
)

// policyKeys are the keys both defaults: and a job accept. Adding a policy
// means: a key here, a field in policySpec, a case in decodePolicy, a line
// in over and one in apply.
var policyKeys = []string{"overlap", "timeout", "retry", "misfire", "grace", "max_catchup", "delivery", "jitter", "jitter_seed"}

// opt is a policy field that may or may not be set at one level; node is
// where it was set, for errors found only after merging.
type opt[T any] struct {
	v    T
	set  bool
	node *yaml.Node
}

func (o opt[T]) or(base opt[T]) opt[T] {
	if o.set {
		return o
	}
	return base
}

// policySpec is the policy written at one level (defaults or a job).
type policySpec struct {
	overlap    opt[runtime.Overlap]
	timeout    opt[time.Duration]
	attempts   opt[int]
	backoff    opt[time.Duration]
	maxBackoff opt[time.Duration]
	misfire    opt[runtime.Misfire]
	grace      opt[time.Duration]
	maxCatchup opt[int]
	delivery   opt[runtime.Delivery]
	jitter     opt[time.Duration]
	stable     opt[bool] // jitter_seed: stable
}

// over returns p with the fields it leaves unset taken from base.
func (p policySpec) over(base policySpec) policySpec {
	return policySpec{
		overlap:    p.overlap.or(base.overlap),
		timeout:    p.timeout.or(base.timeout),
		attempts:   p.attempts.or(base.attempts),
		backoff:    p.backoff.or(base.backoff),
		maxBackoff: p.maxBackoff.or(base.maxBackoff),
		misfire:    p.misfire.or(base.misfire),
		grace:      p.grace.or(base.grace),
		maxCatchup: p.maxCatchup.or(base.maxCatchup),
		delivery:   p.delivery.or(base.delivery),
		jitter:     p.jitter.or(base.jitter),
		stable:     p.stable.or(base.stable),
	}
}

// apply returns the runtime policy p describes; unset fields keep the
// built-in defaults (overlap allowed, no timeout, a single attempt).
func (p policySpec) apply() runtime.Policy {
	pol := runtime.Policy{Overlap: runtime.OverlapAllow, Retry: runtime.Retry{Attempts: 1}}
	if p.overlap.set {
		pol.Overlap = p.overlap.v
	}
	if p.timeout.set {
		pol.Timeout = p.timeout.v
	}
	if p.attempts.set {
		pol.Retry.Attempts = p.attempts.v
	}
	if p.backoff.set {
		pol.Retry.Backoff = p.backoff.v
	}
	if p.maxBackoff.set {
		pol.Retry.MaxBackoff = p.maxBackoff.v
	}
	// The zero values of the rest are the runtime's defaults (misfire auto,
	// no grace limit, default catch-up, at-most-once, no jitter).
	pol.Misfire = p.misfire.v
	pol.Grace = p.grace.v
	pol.MaxCatchup = p.maxCatchup.v
	pol.Delivery = p.delivery.v
	pol.Jitter = p.jitter.v
	pol.StableJitter = p.stable.v
	return pol
}

// decodePolicy reads the policy keys present in f into p.
func (d *decoder) decodePolicy(f fields, sc scope) policySpec {
	var p policySpec
	decodeEnum(d, f, sc, "overlap", runtime.ParseOverlap, "allow, forbid, replace or queue", &p.overlap)
	durations := []struct {
		key string
		dst *opt[time.Duration]
	}{{"timeout", &p.timeout}, {"grace", &p.grace}, {"jitter", &p.jitter}}
	for _, k := range durations {
		if e := f.get(k.key); e != nil {
			if t, ok := d.duration(e.val, sc.key(k.key)); ok {
				*k.dst = opt[time.Duration]{t, true, e.val}
			}
		}
	}
	decodeEnum(d, f, sc, "misfire", runtime.ParseMisfire, "skip, run_once or run_all", &p.misfire)
	decodeEnum(d, f, sc, "delivery", runtime.ParseDelivery, "at_most_once or at_least_once", &p.delivery)
	decodeEnum(d, f, sc, "jitter_seed", parseJitterSeed, "random or stable", &p.stable)
	if e := f.get("max_catchup"); e != nil {
		if n, ok := d.integer(e.val, sc.key("max_catchup")); ok {
			if n < 1 {
				d.errorf(e.val, sc.key("max_catchup"), "must be at least 1")
			} else {
				p.maxCatchup = opt[int]{n, true, e.val}
			}
		}
	}
	if e := f.get("retry"); e != nil {
		rsc := sc.key("retry")
		rf, ok := d.mapping(e.val, rsc, keys{"attempts": false, "backoff": false, "max_backoff": false})
		if ok {
			if e := rf.get("attempts"); e != nil {
				if n, ok := d.integer(e.val, rsc.key("attempts")); ok {
					if n < 1 {
						d.errorf(e.val, rsc.key("attempts"), "must be at least 1 (it counts tries, the first included)")
					} else {
						p.attempts = opt[int]{n, true, e.val}
					}
				}
			}
			if e := rf.get("backoff"); e != nil {
				if t, ok := d.duration(e.val, rsc.key("backoff")); ok {
					p.backoff = opt[time.Duration]{t, true, e.val}
				}
			}
			if e := rf.get("max_backoff"); e != nil {
				if t, ok := d.duration(e.val, rsc.key("max_backoff")); ok {
					p.maxBackoff = opt[time.Duration]{t, true, e.val}
				}
			}
		}
	}
	return p
}

// checkPolicy reports inconsistencies in a merged policy. own is the level
// being checked: a problem is reported there only if own set one of the
// fields involved, so a bad defaults: block is reported once, not per job.
func (d *decoder) checkPolicy(merged, own policySpec, sc scope) {
	if merged.backoff.set && merged.maxBackoff.set && merged.maxBackoff.v < merged.backoff.v &&
		(own.backoff.set || own.maxBackoff.set) {
		field, n := "max_backoff", merged.maxBackoff.node
		if !own.maxBackoff.set {
			field, n = "backoff", merged.backoff.node
		}
		d.errorf(n, sc.key("retry").key(field),
			"max_backoff (%s) must not be less than backoff (%s)", merged.maxBackoff.v, merged.backoff.v)
	}
}

// decodeEnum reads the string at key, if present, into dst with parse;
// want lists the accepted values for the error message, which shows the
// value given only if it did not come from the environment or a file.
func decodeEnum[T any](d *decoder, f fields, sc scope, key string, parse func(string) (T, error), want string, dst *opt[T]) {
	e := f.get(key)
	if e == nil {
		return
	}
	v, ok := d.str(e, sc.key(key))
	if !ok {
		return
	}
	x, err := parse(v.s)
	if err != nil {
		d.errorf(v.node, sc.key(key), "must be %s, got %s", want, v.show())
		return
	}
	*dst = opt[T]{x, true, v.node}
}

// parseJitterSeed parses jitter_seed: random (a new delay each run) or
// stable (a delay derived from the job's name).
func parseJitterSeed(s string) (bool, error) {
	switch s {
	case "random":
		return false, nil
	case "stable":
		return true, nil
	}
	return false, fmt.Errorf("unknown jitter_seed %q (want random or stable)", s)
}
