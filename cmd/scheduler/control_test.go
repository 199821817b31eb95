package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestControlCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := `state_dir: state
jobs:
  - {name: tick, schedule: "@every 1s", log: "tick ran"}
  - name: backup
    schedule: "0 3 * * *"
    retry: {attempts: 2}
    exec: {command: [sh, -c, "echo disk full >&2; exit 3"]}
`
	config := writeFile(t, dir, "config.yaml", good)
	ctl := func(args ...string) (string, string, int) {
		t.Helper()
		return runOnce(t, dir, append(args, "--config", config)...)
	}

	// No daemon yet: a clear error, exit 1.
	_, stderr, code := ctl("jobs")
	if code != exitFailure || !strings.Contains(stderr, "no scheduler is running") || !strings.Contains(stderr, filepath.Join("state", "scheduler.sock")) {
		t.Errorf("jobs without a daemon: exit %d, %q", code, stderr)
	}

	p := start(t, dir, "run", "--config", config, "--log-format", "json")
	p.waitRecord("tick ran")

	stdout, stderr, code := ctl("jobs")
	if code != exitOK || !regexp.MustCompile(`(?m)^NAME +SCHEDULE +ZONE +STATE +LAST +LAST RUN +NEXT RUN$`).MatchString(stdout) ||
		!regexp.MustCompile(`(?m)^backup +0 3 \* \* \* +Local +scheduled +- +- +\d{4}-\d\d-\d\dT03:00:00`).MatchString(stdout) ||
		!regexp.MustCompile(`(?m)^tick +@every 1s +Local +(scheduled|running) +ok +\d{4}-`).MatchString(stdout) {
		t.Errorf("jobs: exit %d\n%s%s", code, stdout, stderr)
	}

	// trigger --wait runs the job now, retries included, and fails with it.
	stdout, stderr, code = ctl("trigger", "backup", "--wait")
	if code != exitFailure || !strings.Contains(stdout, "backup: failed after 2 attempt(s): job backup: exec: command failed: exit status 3") {
		t.Errorf("trigger --wait: exit %d\n%s%s", code, stdout, stderr)
	}
	stdout, _, code = ctl("history", "backup", "--json")
	var runs []struct {
		Outcome  string
		Attempts int
		Error    string
	}
	if err := json.Unmarshal([]byte(stdout), &runs); err != nil || code != exitOK || len(runs) != 1 ||
		runs[0].Outcome != "failed" || runs[0].Attempts != 2 || !strings.Contains(runs[0].Error, "exit status 3") {
		t.Errorf("history --json: exit %d, %v\n%s", code, err, stdout)
	}
	if stdout, _, code = ctl("history", "backup"); code != exitOK || !strings.Contains(stdout, "OUTCOME") || !strings.Contains(stdout, "failed") {
		t.Errorf("history: exit %d\n%s", code, stdout)
	}

	// Pause holds across a restart; resume lets the job fire again.
	if stdout, stderr, code = ctl("pause", "tick"); code != exitOK || stdout != "tick: paused\n" {
		t.Errorf("pause: exit %d %q %q", code, stdout, stderr)
	}
	p.signal(syscall.SIGTERM)
	if code := p.wait(waitLimit); code != exitOK {
		t.Fatalf("exit status %d", code)
	}
	p = start(t, dir, "run", "--config", config, "--log-format", "json")
	p.waitRecord("scheduler started")
	stdout, _, _ = ctl("jobs", "--json")
	var jobs []struct{ Name, State string }
	if err := json.Unmarshal([]byte(stdout), &jobs); err != nil || len(jobs) != 2 || jobs[1].Name != "tick" || jobs[1].State != "paused" {
		t.Errorf("after a restart: %v\n%s", err, stdout)
	}
	if _, _, code = ctl("resume", "tick"); code != exitOK {
		t.Errorf("resume: exit %d", code)
	}
	p.waitRecord("tick ran")

	// Unknown jobs and bad usage are the user's errors: exit 2.
	if _, stderr, code = ctl("trigger", "nope"); code != exitUsage || !strings.Contains(stderr, `job "nope": no such job`) {
		t.Errorf("trigger of an unknown job: exit %d %q", code, stderr)
	}
	if _, stderr, code = ctl("pause"); code != exitUsage || !strings.Contains(stderr, "want a job name") {
		t.Errorf("pause without a name: exit %d %q", code, stderr)
	}

	// reload: a broken file is rejected with its problems, exit 2.
	writeFile(t, dir, "config.yaml", strings.Replace(good, `"0 3 * * *"`, `"61 3 * * *"`, 1))
	_, stderr, code = ctl("reload", "--socket", filepath.Join(dir, "state", "scheduler.sock"))
	if code != exitUsage || !regexp.MustCompile(`config.yaml:5:15: job "backup": schedule: .*61`).MatchString(stderr) {
		t.Errorf("reload of a broken file: exit %d\n%s", code, stderr)
	}
	writeFile(t, dir, "config.yaml", good+`  - {name: added, schedule: "@hourly", log: "added"}
`)
	stdout, stderr, code = ctl("reload")
	if code != exitOK || stdout != "reloaded: added added; updated tick, backup; rescheduled none; removed none\n" {
		t.Errorf("reload: exit %d %q %q", code, stdout, stderr)
	}

	p.signal(syscall.SIGTERM)
	if code := p.wait(waitLimit); code != exitOK {
		t.Errorf("exit status %d", code)
	}
}

// httpBlock serves the HTTP endpoints on a free loopback port.
const httpBlock = "http: {listen: \"127.0.0.1:0\"}\n"

// httpAddr waits for the start record and returns the address the HTTP
// endpoints listen on.
func httpAddr(p *proc) string {
	p.t.Helper()
	addr, _ := p.waitRecord("scheduler started")["http"].(string)
	if addr == "" {
		p.t.Fatal("the start record names no HTTP address")
	}
	return addr
}

// get fetches path from the HTTP endpoints at addr.
func get(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, string(body)
}

// waitMetric polls /metrics until it has the line want, and returns it all.
func waitMetric(t *testing.T, addr, want string) string {
	t.Helper()
	return poll(t, "/metrics with "+want, func() (string, bool) {
		_, body := get(t, addr, "/metrics")
		return body, slices.Contains(strings.Split(body, "\n"), want)
	})
}

// waitHealth polls /healthz until it answers status with a body holding want.
func waitHealth(t *testing.T, addr string, status int, want string) {
	t.Helper()
	poll(t, fmt.Sprintf("/healthz %d %s", status, want), func() (string, bool) {
		code, body := get(t, addr, "/healthz")
		return body, code == status && strings.Contains(body, want)
	})
}

// poll calls f until it reports true, for up to waitLimit.
func poll(t *testing.T, what string, f func() (string, bool)) string {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		last, ok := f()
		if ok {
			return last
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s after %s; last:\n%s", what, waitLimit, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestHTTPEndpoints(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	config := writeFile(t, dir, "config.yaml", "state_dir: state\n"+httpBlock+`jobs:
  - {name: tick, schedule: "@every 1s", log: "tick ran"}
  - {name: nightly, schedule: "0 3 * * *", timezone: Asia/Tokyo, log: "nightly"}
`)
	p := start(t, dir, "run", "--config", config, "--log-format", "json")
	addr := httpAddr(p)
	metrics := waitMetric(t, addr, `scheduler_jobs 2`)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^scheduler_next_fire_timestamp_seconds\{job="nightly"\} \d\.\d+e\+09$`),
		regexp.MustCompile(`(?m)^scheduler_job_paused\{job="tick"\} 0$`),
		regexp.MustCompile(`(?m)^scheduler_running_runs \d+$`),
		regexp.MustCompile(`(?m)^scheduler_build_info\{version=".+"\} 1$`),
		regexp.MustCompile(`(?m)^process_resident_memory_bytes `),
	} {
		if !want.MatchString(metrics) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	waitMetric(t, addr, `scheduler_fire_lag_seconds_bucket{le="+Inf"} 2`)
	metrics = waitMetric(t, addr, `scheduler_run_duration_seconds_count{job="tick"} 2`)
	if !strings.Contains(metrics, `scheduler_runs_total{job="tick",outcome="ok"}`) {
		t.Errorf("/metrics lacks the runs of tick")
	}
	if status, body := get(t, addr, "/healthz"); status != 200 || !strings.Contains(body, `"status": "ok"`) {
		t.Errorf("/healthz: %d %s", status, body)
	}
	status, body := get(t, addr, "/jobs")
	var jobs []struct{ Name, Timezone, State string }
	if err := json.Unmarshal([]byte(body), &jobs); err != nil || status != 200 || len(jobs) != 2 ||
		jobs[0].Name != "nightly" || jobs[0].Timezone != "Asia/Tokyo" {
		t.Errorf("/jobs: %d %v\n%s", status, err, body)
	}
	// Nothing that steers the scheduler is reachable over HTTP.
	resp, err := http.Post("http://"+addr+"/v1/jobs/tick/pause", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("POST pause over HTTP: %s, want 404", resp.Status)
	}
	p.signal(syscall.SIGTERM)
	if code := p.wait(waitLimit); code != exitOK {
		t.Errorf("exit status %d", code)
	}
}
