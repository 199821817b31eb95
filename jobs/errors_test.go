package jobs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scheduler-dev/scheduler/schedule"
	"github.com/scheduler-dev/scheduler/telegram"
)

// TestLoadErrors feeds broken configurations to Load and checks the exact
// problems reported, all at once, and that no Config comes back.
func TestLoadErrors(t *testing.T) {
	env := map[string]string{
		"SECRET":       "s3cr3t-value",
		"BAD_DURATION": "s3cr3t-duration",
		"EMPTY":        "",
	}
	const job = "jobs:\n  - name: j\n    schedule: \"@every 1s\"\n"
	tests := []struct {
		name  string
		yaml  string
		files map[string]string // extra files next to the configuration
		want  []string          // FILE stands for the configuration's path
	}{
		{
			name: "not yaml",
			yaml: "jobs: [1, 2\n",
			want: []string{"FILE:1:1: invalid YAML: did not find expected ',' or ']'"},
		},
		{
			name: "tab indentation",
			yaml: "jobs:\n\t- name: x\n",
			want: []string{"FILE:2:1: invalid YAML: found character that cannot start any token"},
		},
		{
			name: "empty file",
			yaml: "# nothing here\n",
			want: []string{"FILE:1:1: the configuration is empty; it needs at least a jobs: list"},
		},
		{
			name: "second document",
			yaml: job + "    log: hi\n---\njobs: []\n",
			want: []string{"FILE:5:1: a second YAML document; the configuration is one document"},
		},
		{
			name: "root not a mapping",
			yaml: "- name: x\n",
			want: []string{"FILE:1:1: the configuration must be a mapping with a jobs: list, got a list"},
		},
		{
			name: "http listen not loopback",
			yaml: "http: {listen: \"0.0.0.0:9090\"}\n" + job + "    log: hi\n",
			want: []string{`FILE:1:16: http.listen: "0.0.0.0:9090" is not a loopback address: the endpoints have no authentication; listen on 127.0.0.1 or [::1], or set http.public: true to serve them on purpose`},
		},
		{
			name: "http listen bad address",
			yaml: "http:\n  listen: \"9090\"\n  publc: true\n" + job + "    log: hi\n",
			want: []string{
				`FILE:2:11: http.listen: want host:port, such as 127.0.0.1:9090, got "9090"`,
				"FILE:3:3: http.publc: unknown key (did you mean public?)",
			},
		},
		{
			name: "http without listen, bad port",
			yaml: "http: {public: yes}\n" + job + "    log: hi\n",
			want: []string{`FILE:1:7: http.listen: missing (the address to serve /metrics, /healthz and /jobs on, such as 127.0.0.1:9090)`, "FILE:1:16: http.public: must be true or false, got a string"},
		},
		{
			name: "http port out of range",
			yaml: "http: {listen: \"localhost:70000\"}\n" + job + "    log: hi\n",
			want: []string{`FILE:1:16: http.listen: port "70000": want a number from 0 to 65535`},
		},
		{
			name: "unknown top-level key",
			yaml: "timezon: UTC\n" + job + "    log: hi\n",
			want: []string{"FILE:1:1: timezon: unknown key (did you mean timezone?)"},
		},
		{
			name: "telegram block without credentials",
			yaml: "telegram: {bot_token: x}\n" + job + "    log: hi\n",
			want: []string{
				"FILE:1:11: telegram.app_id: missing (the api_id from my.telegram.org)",
				"FILE:1:11: telegram.app_hash: missing (the api_hash from my.telegram.org)",
			},
		},
		{
			name: "telegram block with bad values",
			yaml: "telegram:\n  app_id: ${SECRET}\n  app_hash: h\n  server: 127.0.0.1:1\n  dc: 0\n  rate_limit: {overall: fast}\n  reconnect: soon\n" + job + "    log: hi\n",
			want: []string{
				"FILE:2:3: telegram.public_key_file: missing: a custom server needs its RSA public key (PEM)",
				"FILE:2:11: telegram.app_id: must be an integer, got (value from the environment or a file, not shown)",
				"FILE:5:7: telegram.dc: must be a data center number, 1 or more",
				"FILE:6:25: telegram.rate_limit.overall: " + rateErr("fast"),
				"FILE:7:14: telegram.reconnect: invalid duration \"soon\" (use Go syntax, e.g. 90s, 1h30m)",
			},
		},
		{
			name: "telegram actions with bad values",
			yaml: "telegram: {app_id: 1, app_hash: h, bot_token: t}\n" + job +
				"    parallel:\n" +
				"      - telegram: {send: {to: \"not a chat\", text: \"{{ .Nope }}\", parse_mode: rich}}\n" +
				"      - telegram: {send: {to: me}, file: {to: me, path: x}}\n" +
				"      - telegram: {messages: {chat: \"@news\", limit: 0}}\n" +
				"      - telegram: {profile_photo: {path: p/}}\n",
			want: []string{
				`FILE:6:31: job "j": parallel[0].telegram.send.to: ` + chatErr("not a chat"),
				`FILE:6:51: job "j": parallel[0].telegram.send.text: invalid template: line 1:3: executing "text" at <.Nope>: can't evaluate field Nope in type jobs.logData`,
				`FILE:6:78: job "j": parallel[0].telegram.send.parse_mode: must be none, markdown or html, got "rich"`,
				`FILE:7:19: job "j": parallel[1].telegram: give exactly one action: send, file, forward, messages or profile_photo`,
				`FILE:8:53: job "j": parallel[2].telegram.messages.limit: must be at least 1`,
				`FILE:9:35: job "j": parallel[3].telegram.profile_photo.chat: missing (me, @username, a numeric chat ID or a t.me link)`,
			},
		},
		{
			name: "missing jobs",
			yaml: "max_concurrent: 4\n",
			want: []string{"FILE:1:1: jobs: missing (the list of jobs to run)"},
		},
		{
			name: "jobs not a list",
			yaml: "jobs: {name: x}\n",
			want: []string{"FILE:1:7: jobs: must be a list of jobs, got a mapping"},
		},
		{
			name: "duplicate top-level key",
			yaml: "max_concurrent: 4\nmax_concurrent: 5\n" + job + "    log: hi\n",
			want: []string{"FILE:2:1: max_concurrent: duplicate key (first given at 1:1)"},
		},
		{
			name: "max_concurrent zero",
			yaml: "max_concurrent: 0\n" + job + "    log: hi\n",
			want: []string{"FILE:1:17: max_concurrent: must be at least 1"},
		},
		{
			name: "max_concurrent wrong type",
			yaml: "max_concurrent: lots\n" + job + "    log: hi\n",
			want: []string{"FILE:1:17: max_concurrent: must be an integer, got a string"},
		},
		{
			name: "negative shutdown_grace",
			yaml: "shutdown_grace: -1s\n" + job + "    log: hi\n",
			want: []string{"FILE:1:17: shutdown_grace: must not be negative"},
		},
		{
			name: "duration without unit",
			yaml: "shutdown_grace: 90\n" + job + "    log: hi\n",
			want: []string{`FILE:1:17: shutdown_grace: invalid duration "90" (use Go syntax, e.g. 90s, 1h30m)`},
		},
		{
			name: "bad time zone",
			yaml: "timezone: Mars/Olympus_Mons\n" + job + "    log: hi\n",
			want: []string{`FILE:1:11: timezone: unknown time zone "Mars/Olympus_Mons" (want an IANA name such as Europe/Berlin, or UTC or Local)`},
		},
		{
			name: "bad timing policies",
			yaml: job + "    misfire: sometimes\n    delivery: twice\n    jitter_seed: lucky\n    max_catchup: 0\n    grace: soon\n    log: hi\n",
			want: []string{
				`FILE:4:14: job "j": misfire: must be skip, run_once or run_all, got "sometimes"`,
				`FILE:5:15: job "j": delivery: must be at_most_once or at_least_once, got "twice"`,
				`FILE:6:18: job "j": jitter_seed: must be random or stable, got "lucky"`,
				`FILE:7:18: job "j": max_catchup: must be at least 1`,
				`FILE:8:12: job "j": grace: invalid duration "soon" (use Go syntax, e.g. 90s, 1h30m)`,
			},
		},
		{
			name: "bad overlap in defaults",
			yaml: "defaults:\n  overlap: sometimes\n" + job + "    log: hi\n",
			want: []string{`FILE:2:12: defaults.overlap: must be allow, forbid, replace or queue, got "sometimes"`},
		},
		{
			name: "retry attempts zero",
			yaml: "defaults:\n  retry: {attempts: 0}\n" + job + "    log: hi\n",
			want: []string{"FILE:2:21: defaults.retry.attempts: must be at least 1 (it counts tries, the first included)"},
		},
		{
			name: "max_backoff below backoff in defaults",
			yaml: "defaults:\n  retry: {backoff: 1m, max_backoff: 10s}\n" + job + "    log: hi\n",
			want: []string{"FILE:2:37: defaults.retry.max_backoff: max_backoff (10s) must not be less than backoff (1m0s)"},
		},
		{
			name: "job max_backoff below the default backoff",
			yaml: "defaults:\n  retry: {backoff: 1m}\n" + job + "    retry: {max_backoff: 10s}\n    log: hi\n",
			want: []string{`FILE:6:26: job "j": retry.max_backoff: max_backoff (10s) must not be less than backoff (1m0s)`},
		},
		{
			name: "retry wrong type",
			yaml: job + "    retry: 3\n    log: hi\n",
			want: []string{`FILE:4:12: job "j": retry: must be a mapping, got an integer`},
		},
		{
			name: "missing name",
			yaml: "jobs:\n  - schedule: \"@every 1s\"\n    log: hi\n",
			want: []string{"FILE:2:5: jobs[0].name: missing (every job needs a unique name)"},
		},
		{
			name: "invalid name",
			yaml: "jobs:\n  - name: back up\n    schedule: \"@every 1s\"\n    timeout: soon\n    log: hi\n",
			want: []string{
				`FILE:2:11: jobs[0].name: invalid name "back up": use letters, digits, '.', '_' and '-' only`,
				`FILE:4:14: jobs[0].timeout: invalid duration "soon" (use Go syntax, e.g. 90s, 1h30m)`,
			},
		},
		{
			name: "duplicate job names",
			yaml: job + "    log: hi\n" + "  - name: j\n    schedule: \"@hourly\"\n    log: again\n",
			want: []string{`FILE:5:11: job "j": name: duplicate job name (first used at 2:11)`},
		},
		{
			name: "missing schedule",
			yaml: "jobs:\n  - name: j\n    log: hi\n",
			want: []string{`FILE:2:5: job "j": schedule: missing (e.g. "*/5 * * * *" or "@every 1m")`},
		},
		{
			name: "bad schedule",
			yaml: "jobs:\n  - name: j\n    schedule: \"* * *\"\n    log: hi\n",
			want: []string{`FILE:3:15: job "j": schedule: invalid schedule "* * *": ` + specErr("* * *")},
		},
		{
			name: "bad job time zone",
			yaml: job + "    timezone: Nowhere/City\n    log: hi\n",
			want: []string{`FILE:4:15: job "j": timezone: unknown time zone "Nowhere/City" (want an IANA name such as Europe/Berlin, or UTC or Local)`},
		},
		{
			name: "CRON_TZ prefix and timezone",
			yaml: "jobs:\n  - name: j\n    schedule: \"CRON_TZ=UTC 0 * * * *\"\n    timezone: Europe/Berlin\n    log: hi\n",
			want: []string{`FILE:3:15: job "j": schedule: has a CRON_TZ= prefix while the job sets timezone:; use one`},
		},
		{
			name: "unknown job key",
			yaml: job + "    shedule: \"@daily\"\n    log: hi\n",
			want: []string{`FILE:4:5: job "j": shedule: unknown key (did you mean schedule?)`},
		},
		{
			name: "duplicate job key",
			yaml: job + "    log: hi\n    log: again\n",
			want: []string{`FILE:5:5: job "j": log: duplicate key (first given at 4:5)`},
		},
		{
			name: "no kind",
			yaml: job,
			want: []string{`FILE:2:5: job "j": no kind: a job needs exactly one of log, exec, http, telegram, parallel or sequence`},
		},
		{
			name: "two kinds",
			yaml: job + "    log: hi\n    exec: {command: [\"true\"]}\n",
			want: []string{`FILE:5:5: job "j": exec: a job has exactly one kind and this one already has log; combine steps with parallel or sequence`},
		},
		{
			name: "telegram kind without telegram block",
			yaml: job + "    telegram: {send: {to: me, text: hi}}\n",
			want: []string{`FILE:4:5: job "j": telegram: telegram jobs need a top-level telegram: block`},
		},
		{
			name: "bad template",
			yaml: job + "    log: \"{{ .Now.Format }\"\n",
			want: []string{`FILE:4:10: job "j": log: invalid template: line 1: unexpected "}" in operand`},
		},
		{
			name: "unknown template field",
			yaml: job + "    log: \"{{ .Nwo }}\"\n",
			want: []string{`FILE:4:10: job "j": log: invalid template: line 1:3: executing "j" at <.Nwo>: can't evaluate field Nwo in type jobs.logData`},
		},
		{
			name: "exec string without shell",
			yaml: job + "    exec: {command: \"backup --fast\"}\n",
			want: []string{`FILE:4:21: job "j": exec.command: a string command needs shell: true (it then runs as /bin/sh -c STRING); or give an argv list like [prog, arg] to run it without a shell`},
		},
		{
			name: "exec list with shell",
			yaml: job + "    exec: {command: [backup], shell: true}\n",
			want: []string{`FILE:4:21: job "j": exec.command: with shell: true the command is one string for /bin/sh -c, not a list`},
		},
		{
			name: "exec without command, bad kill_after, bad env",
			yaml: job + "    exec:\n      kill_after: -5s\n      env: {A: [1]}\n",
			want: []string{
				`FILE:5:7: job "j": exec.command: missing (an argv list like [/usr/local/bin/backup, --fast], or a string with shell: true)`,
				`FILE:5:19: job "j": exec.kill_after: must not be negative`,
				`FILE:6:16: job "j": exec.env.A: must be a string, got a list`,
			},
		},
		{
			name: "http problems",
			yaml: job + "    http:\n      url: ftp://example.com/x\n      method: \"GE T\"\n      expect_status: [200, 999, ok]\n      headers: {\"Bad Name\": x, X-Ok: \"a\\nb\"}\n",
			want: []string{
				`FILE:5:12: job "j": http.url: must be an http or https URL`,
				`FILE:6:15: job "j": http.method: invalid HTTP method "GE T"`,
				`FILE:7:28: job "j": http.expect_status[1]: 999 is not an HTTP status code (100-599)`,
				`FILE:7:33: job "j": http.expect_status[2]: must be an integer, got a string`,
				`FILE:8:17: job "j": http.headers.Bad Name: invalid header name`,
				`FILE:8:38: job "j": http.headers.X-Ok: the value must not contain CR, LF or NUL`,
			},
		},
		{
			name: "http without url",
			yaml: job + "    http: {method: POST}\n",
			want: []string{`FILE:4:11: job "j": http.url: missing (the http or https URL to request)`},
		},
		{
			name: "nested step errors name their path",
			yaml: job + "    parallel:\n      - log: ok\n      - http: {url: \"mailto:x\"}\n      - sequence: []\n      - {log: a, exec: {command: [x]}}\n      - name: step\n",
			want: []string{
				`FILE:6:21: job "j": parallel[1].http.url: must be an http or https URL`,
				`FILE:7:19: job "j": parallel[2].sequence: must list at least one step`,
				`FILE:8:18: job "j": parallel[3].exec: a step has exactly one kind and this one already has log`,
				`FILE:9:9: job "j": parallel[4].name: unknown key (want one of: exec, http, log, parallel, sequence, telegram)`,
			},
		},
		{
			name: "parallel not a list",
			yaml: job + "    parallel: {log: x}\n",
			want: []string{`FILE:4:15: job "j": parallel: must be a list of steps, got a mapping`},
		},
		{
			name: "unset variable",
			yaml: job + "    http: {url: \"https://example.com/?token=${TOKEN}\"}\n",
			want: []string{`FILE:4:17: job "j": http.url: environment variable TOKEN is not set (use ${TOKEN:-default} to give a default)`},
		},
		{
			name: "unterminated variable",
			yaml: job + "    log: \"cost ${PRICE\"\n",
			want: []string{`FILE:4:10: job "j": log: unterminated ${ (write $$ for a literal $)`},
		},
		{
			name: "bad value from the environment is not shown",
			yaml: job + "    timeout: ${BAD_DURATION}\n    overlap: ${SECRET}\n    log: hi\n",
			want: []string{
				`FILE:4:14: job "j": timeout: invalid duration (value from the environment or a file, not shown) (use Go syntax, e.g. 90s, 1h30m)`,
				`FILE:5:14: job "j": overlap: must be allow, forbid, replace or queue, got (value from the environment or a file, not shown)`,
			},
		},
		{
			name:  "secret schedule from a file",
			yaml:  "jobs:\n  - name: j\n    schedule_file: spec.txt\n    log: hi\n",
			files: map[string]string{"spec.txt": "s3cr3t not a spec\n"},
			want: []string{
				`FILE:3:20: job "j": schedule: invalid schedule (value from the environment or a file, not shown)`,
			},
		},
		{
			name:  "both x and x_file",
			yaml:  job + "    http:\n      url: https://example.com/\n      body: inline\n      body_file: body.txt\n",
			files: map[string]string{"body.txt": "s3cr3t"},
			want:  []string{`FILE:7:7: job "j": http.body_file: body and body_file are both given; use one`},
		},
		{
			name: "unreadable secret file",
			yaml: job + "    http: {url: \"https://example.com/\", body_file: missing/token}\n",
			want: []string{`FILE:4:52: job "j": http.body_file: cannot read DIR/missing/token: no such file or directory`},
		},
		{
			name: "unreadable secret file under a variable names the path as written",
			yaml: job + "    http: {url: \"https://example.com/\", body_file: \"${SECRET}/token\"}\n",
			want: []string{`FILE:4:52: job "j": http.body_file: cannot read ${SECRET}/token: no such file or directory`},
		},
		{
			name: "merge keys",
			yaml: "base: &b {overlap: forbid}\n" + job + "    <<: *b\n    log: hi\n",
			want: []string{
				"FILE:1:1: base: unknown key (want one of: defaults, history, http, jobs, max_concurrent, shutdown_grace, state_dir, telegram, timezone)",
				`FILE:5:5: job "j": <<: merge keys are not supported; use defaults: for shared settings`,
			},
		},
		{
			name: "unknown kind in on_failure",
			yaml: job + "    log: hi\n    on_failure:\n      - email: {to: admin}\n",
			want: []string{`FILE:6:9: job "j": on_failure[0].email: unknown key (want one of: exec, http, log, parallel, sequence, telegram)`},
		},
		{
			name: "bad template field in an alert",
			yaml: job + "    log: hi\n    on_failure:\n      - log: \"{{ .Eror }}\"\n",
			want: []string{`FILE:6:14: job "j": on_failure[0].log: invalid template: line 1:3: executing "j" at <.Eror>: can't evaluate field Eror in type jobs.alertData`},
		},
		{
			name: "alert field outside an alert",
			yaml: job + "    http: {url: \"https://example.com/\", body: \"{{ .Error }}\"}\n",
			want: []string{`FILE:4:47: job "j": http.body: invalid template: line 1:3: executing "body" at <.Error>: can't evaluate field Error in type jobs.logData` +
				` (.Error, .Output, .Attempts, .Outcome and .Duration exist only in the steps of on_failure and on_success)`},
		},
		{
			name: "alerts inside steps",
			yaml: job + "    sequence:\n      - log: a\n        on_failure: [{log: b}]\n" +
				"    on_success:\n      - log: ok\n        on_failure: [{log: c}]\n      - on_success: []\n",
			want: []string{
				`FILE:6:9: job "j": sequence[0].on_failure: alerts belong to a job or to defaults:, not to a step`,
				`FILE:9:9: job "j": on_success[0].on_failure: an alert's steps cannot have alerts of their own`,
				`FILE:10:9: job "j": on_success[1].on_success: an alert's steps cannot have alerts of their own`,
				`FILE:10:9: job "j": on_success[1]: empty step: give exactly one of log, exec, http, telegram, parallel or sequence`,
			},
		},
		{
			name: "alerts of the wrong type",
			yaml: job + "    log: hi\n    on_failure: {log: x}\n    on_success: send a mail\n" +
				"  - name: k\n    schedule: \"@daily\"\n    log: hi\n    on_failure: ~\n",
			want: []string{
				`FILE:5:17: job "j": on_failure: must be a list of steps, got a mapping (write each step as a list item: - telegram: ...)`,
				`FILE:6:17: job "j": on_success: must be a list of steps, got a string`,
				`FILE:10:17: job "k": on_failure: must be a list of steps, got nothing (null)`,
			},
		},
		{
			name: "alerts in defaults are checked once, where they are",
			yaml: "defaults:\n  on_failure:\n    - http: {url: \"ftp://example.com/\"}\n    - telegram: {send: {to: me, text: \"{{ .Error }}\"}}\n" +
				job + "    log: hi\n  - {name: k, schedule: \"@daily\", log: hi}\n",
			want: []string{
				`FILE:3:19: defaults.on_failure[0].http.url: must be an http or https URL`,
				`FILE:4:7: defaults.on_failure[1].telegram: telegram jobs need a top-level telegram: block`,
			},
		},
		{
			name: "many problems at once",
			yaml: `timezone: Atlantis
max_concurrent: -3
defaults:
  overlap: never
jobs:
  - name: ok
    schedule: "@every 1s"
    log: fine
  - name: bad
    schedule: "61 * * * *"
    timeout: 5 minutes
    retry: {attempts: 2, backoff: 1x}
    exec: {command: "rm -rf /tmp/x", dir: [a]}
  - schedule: "@daily"
    http: {url: "https://${HOST}/"}
  - name: ok
    schedule: "@hourly"
`,
			want: []string{
				`FILE:1:11: timezone: unknown time zone "Atlantis" (want an IANA name such as Europe/Berlin, or UTC or Local)`,
				`FILE:2:17: max_concurrent: must be at least 1`,
				`FILE:4:12: defaults.overlap: must be allow, forbid, replace or queue, got "never"`,
				`FILE:10:15: job "bad": schedule: invalid schedule "61 * * * *": ` + specErr("61 * * * *"),
				`FILE:11:14: job "bad": timeout: invalid duration "5 minutes" (use Go syntax, e.g. 90s, 1h30m)`,
				`FILE:12:35: job "bad": retry.backoff: invalid duration "1x" (use Go syntax, e.g. 90s, 1h30m)`,
				`FILE:13:21: job "bad": exec.command: a string command needs shell: true (it then runs as /bin/sh -c STRING); or give an argv list like [prog, arg] to run it without a shell`,
				`FILE:13:43: job "bad": exec.dir: must be a string, got a list`,
				`FILE:14:5: jobs[2].name: missing (every job needs a unique name)`,
				`FILE:15:17: jobs[2].http.url: environment variable HOST is not set (use ${HOST:-default} to give a default)`,
				`FILE:16:5: job "ok": no kind: a job needs exactly one of log, exec, http, telegram, parallel or sequence`,
				`FILE:16:11: job "ok": name: duplicate job name (first used at 6:11)`,
			},
		},
	}
	if len(tests) < 25 {
		t.Fatalf("only %d cases", len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tt.files {
				writeFile(t, dir, name, content)
			}
			path := writeFile(t, dir, "scheduler.yaml", tt.yaml)
			cfg, err := Load(path, envOf(env))
			if cfg != nil {
				t.Errorf("Load returned a Config along with errors")
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Load error = %v (%T), want Errors", err, err)
			}
			var got []string
			for _, e := range errs {
				if e.File != path {
					t.Errorf("Error.File = %q, want %q", e.File, path)
				}
				got = append(got, strings.ReplaceAll(strings.ReplaceAll(e.Error(), path, "FILE"), dir, "DIR"))
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if err.Error() != strings.Join(errLines(errs), "\n") {
				t.Errorf("Errors.Error() does not join the lines")
			}
			for _, secret := range []string{"s3cr3t"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("an error shows a secret: %v", err)
				}
			}
		})
	}
}

// specErr is schedule.Parse's message for a bad spec: package schedule
// owns its wording.
func specErr(spec string) string {
	_, err := schedule.Parse(spec, time.UTC)
	if err == nil {
		panic("spec " + spec + " is valid")
	}
	return err.Error()
}

func errLines(errs Errors) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

func TestLoadUnreadableFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.yaml")
	cfg, err := Load(path, os.LookupEnv)
	if cfg != nil {
		t.Fatal("Load returned a Config")
	}
	want := path + ": cannot read the configuration: no such file or directory"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
}

func TestErrorFormat(t *testing.T) {
	for _, tt := range []struct {
		e    Error
		want string
	}{
		{Error{File: "f.yaml", Line: 3, Col: 7, Job: "backup", Field: "retry.backoff", Msg: "bad"}, `f.yaml:3:7: job "backup": retry.backoff: bad`},
		{Error{File: "f.yaml", Line: 1, Col: 1, Field: "max_concurrent", Msg: "bad"}, `f.yaml:1:1: max_concurrent: bad`},
		{Error{File: "f.yaml", Line: 2, Col: 5, Job: "x", Msg: "no kind"}, `f.yaml:2:5: job "x": no kind`},
		{Error{File: "f.yaml", Msg: "cannot read"}, `f.yaml: cannot read`},
	} {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("got %s, want %s", got, tt.want)
		}
	}
}

// rateErr and chatErr are the telegram package's own messages, which the
// configuration errors carry.
func rateErr(s string) string {
	_, err := telegram.ParseRate(s)
	return err.Error()
}

func chatErr(s string) string {
	_, err := telegram.ParseChat(s)
	return err.Error()
}
