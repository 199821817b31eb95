package jobs

import (
	"reflect"
	"testing"
	"time"

	"github.com/scheduler-dev/scheduler/runtime"
)

func TestConfigDefaults(t *testing.T) {
	cfg := mustParse(t, "jobs:\n  - {name: a, schedule: \"@every 1s\", log: hi}\n", nil)
	if cfg.Timezone != time.Local || cfg.StateDir != "./.scheduler" || cfg.MaxConcurrent != 256 || cfg.ShutdownGrace != 30*time.Second {
		t.Errorf("defaults = %v %q %d %s", cfg.Timezone, cfg.StateDir, cfg.MaxConcurrent, cfg.ShutdownGrace)
	}
	j := cfg.job(t, "a")
	want := runtime.Policy{Overlap: runtime.OverlapAllow, Retry: runtime.Retry{Attempts: 1}}
	if !equalPolicy(j.Policy, want) || j.Kind != "log" || j.Spec != "@every 1s" || j.Location != time.Local {
		t.Errorf("job = %+v", j)
	}

	// systemd's StateDirectory= sets $STATE_DIRECTORY, possibly to a list.
	cfg = mustParse(t, "jobs: []\n", map[string]string{"STATE_DIRECTORY": "/var/lib/scheduler:/var/lib/other"})
	if cfg.StateDir != "/var/lib/scheduler" {
		t.Errorf("StateDir = %q", cfg.StateDir)
	}
	cfg = mustParse(t, "state_dir: /srv/state\njobs: []\n", map[string]string{"STATE_DIRECTORY": "/var/lib/scheduler"})
	if cfg.StateDir != "/srv/state" {
		t.Errorf("StateDir = %q", cfg.StateDir)
	}
}

func TestDefaultsMerge(t *testing.T) {
	cfg := mustParse(t, `timezone: UTC
max_concurrent: 8
shutdown_grace: 1m30s
defaults:
  overlap: forbid
  timeout: 10m
  retry: {attempts: 3, backoff: 10s, max_backoff: 5m}
jobs:
  - name: inherits
    schedule: "@hourly"
    log: hi
  - name: overrides
    schedule: "@hourly"
    overlap: queue
    timeout: 0
    retry: {backoff: 1s}
    log: hi
  - name: raises-backoff
    schedule: "@hourly"
    retry: {attempts: 1, backoff: 5m}
    log: hi
`, nil)
	if cfg.MaxConcurrent != 8 || cfg.ShutdownGrace != 90*time.Second || cfg.Timezone != time.UTC {
		t.Errorf("config = %+v", cfg)
	}
	for _, tt := range []struct {
		job  string
		want runtime.Policy
	}{
		{"inherits", runtime.Policy{Overlap: runtime.OverlapForbid, Timeout: 10 * time.Minute,
			Retry: runtime.Retry{Attempts: 3, Backoff: 10 * time.Second, MaxBackoff: 5 * time.Minute}}},
		{"overrides", runtime.Policy{Overlap: runtime.OverlapQueue, Timeout: 0,
			Retry: runtime.Retry{Attempts: 3, Backoff: time.Second, MaxBackoff: 5 * time.Minute}}},
		{"raises-backoff", runtime.Policy{Overlap: runtime.OverlapForbid, Timeout: 10 * time.Minute,
			Retry: runtime.Retry{Attempts: 1, Backoff: 5 * time.Minute, MaxBackoff: 5 * time.Minute}}},
	} {
		if got := cfg.job(t, tt.job).Policy; !equalPolicy(got, tt.want) {
			t.Errorf("%s: policy = %+v, want %+v", tt.job, got, tt.want)
		}
	}
}

func TestTimeZones(t *testing.T) {
	cfg := mustParse(t, `timezone: America/New_York
jobs:
  - {name: default-zone, schedule: "0 9 * * *", log: hi}
  - {name: own-zone, schedule: "0 9 * * *", timezone: Asia/Tokyo, log: hi}
  - {name: cron-tz, schedule: "CRON_TZ=Europe/Berlin 0 9 * * *", log: hi}
`, nil)
	for name, zone := range map[string]string{"default-zone": "America/New_York", "own-zone": "Asia/Tokyo", "cron-tz": "Europe/Berlin"} {
		if got := cfg.job(t, name).Location.String(); got != zone {
			t.Errorf("%s: Location = %s, want %s", name, got, zone)
		}
	}
	if cfg.Timezone.String() != "America/New_York" {
		t.Errorf("Timezone = %s", cfg.Timezone)
	}
}

func TestExpand(t *testing.T) {
	env := envOf(map[string]string{"HOST": "example.com", "EMPTY": "", "PORT": "8080"})
	for _, tt := range []struct {
		in, want string
		secret   bool
	}{
		{"plain", "plain", false},
		{"https://${HOST}/x", "https://example.com/x", true},
		{"${MISSING:-fallback}", "fallback", false},
		{"${EMPTY:-used when empty}", "used when empty", false},
		{"${EMPTY}", "", true},
		{"${MISSING:-${HOST}:${PORT}}", "example.com:8080", true},
		{"${MISSING:-}", "", false},
		{"cost: $$5, $$${HOST}", "cost: $5, $example.com", true},
		{"echo $HOME $1 $", "echo $HOME $1 $", false},
	} {
		got, secret, err := expand(tt.in, env)
		if err != nil || got != tt.want || secret != tt.secret {
			t.Errorf("expand(%q) = %q, %v, %v; want %q, %v", tt.in, got, secret, err, tt.want, tt.secret)
		}
	}
	for in, want := range map[string]string{
		"${NOPE}":   "environment variable NOPE is not set (use ${NOPE:-default} to give a default)",
		"${":        "unterminated ${ (write $$ for a literal $)",
		"${1X}":     `invalid variable name "1X" in ${...} (want ${NAME} or ${NAME:-default})`,
		"${A B:-x}": `invalid variable name "A B" in ${...} (want ${NAME} or ${NAME:-default})`,
	} {
		if _, _, err := expand(in, env); err == nil || err.Error() != want {
			t.Errorf("expand(%q) error = %v, want %s", in, err, want)
		}
	}
}

func TestRuntimeJobs(t *testing.T) {
	cfg := mustParse(t, `defaults: {timeout: 1m}
jobs:
  - {name: a, schedule: "@every 1s", log: one}
  - {name: b, schedule: "*/5 * * * *", timezone: UTC, exec: {command: ["true"]}}
`, nil)
	rjs := cfg.RuntimeJobs(Deps{})
	if len(rjs) != 2 {
		t.Fatalf("%d jobs", len(rjs))
	}
	for i, rj := range rjs {
		j := cfg.Jobs[i]
		if rj.Name != j.Name || rj.Spec != j.Spec || rj.Location != j.Location || rj.Policy != &j.Policy || rj.Func == nil {
			t.Errorf("runtime job %d = %+v, from %+v", i, rj, j)
		}
	}
	if rjs[1].Policy.Timeout != time.Minute || rjs[1].Location != time.UTC {
		t.Errorf("b = %+v", rjs[1])
	}
	if err := rjs[1].Func(t.Context(), runtime.Run{Job: "b", Attempt: 1}); err != nil {
		t.Errorf("running b: %v", err)
	}
}

func TestTimingPolicies(t *testing.T) {
	cfg := mustParse(t, `defaults:
  misfire: run_all
  max_catchup: 5
  grace: 6h
  jitter: 30s
jobs:
  - name: inherits
    schedule: "@hourly"
    log: hi
  - name: overrides
    schedule: "@hourly"
    misfire: skip
    delivery: at_least_once
    jitter: 10m
    jitter_seed: stable
    log: hi
`, nil)
	for _, tt := range []struct {
		job  string
		want runtime.Policy
	}{
		{"inherits", runtime.Policy{Retry: runtime.Retry{Attempts: 1}, Misfire: runtime.MisfireRunAll, MaxCatchup: 5, Grace: 6 * time.Hour, Jitter: 30 * time.Second}},
		{"overrides", runtime.Policy{Retry: runtime.Retry{Attempts: 1}, Misfire: runtime.MisfireSkip, MaxCatchup: 5, Grace: 6 * time.Hour,
			Delivery: runtime.AtLeastOnce, Jitter: 10 * time.Minute, StableJitter: true}},
	} {
		if got := cfg.job(t, tt.job).Policy; !equalPolicy(got, tt.want) {
			t.Errorf("%s: policy %+v, want %+v", tt.job, got, tt.want)
		}
	}
}

// equalPolicy compares two policies field by field; OnEnd, a func, only by
// whether it is set.
func equalPolicy(a, b runtime.Policy) bool {
	if (a.OnEnd == nil) != (b.OnEnd == nil) {
		return false
	}
	a.OnEnd, b.OnEnd = nil, nil
	return reflect.DeepEqual(a, b)
}
