package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/scheduler-dev/scheduler/schedule"
)

// nextJob is one element of `next --json`: the contract's
// {"job":"NAME","next":["2026-03-29T04:00:00+03:00",...]}.
type nextJob struct {
	Job  string   `json:"job"`
	Next []string `json:"next"` // never nil: a job that never fires gets []

	atStart bool // @start: no instants, it runs once when `run` starts
}

func (c *cli) nextCommand(args []string) int {
	f := c.newFlags("next", "next [--config FILE] [--job NAME] [--count K] [--from RFC3339] [--json]",
		`Print the next K fire instants of each job strictly after --from, in the
job's time zone, as RFC 3339 with the zone's offset.

Text output is one line per instant, the job name and the instant separated
by a tab:
  NAME<TAB>2026-03-29T04:00:00+03:00
--json prints one JSON array instead:
  [{"job":"NAME","next":["2026-03-29T04:00:00+03:00",...]}]
A job that can never fire (say "0 0 30 2 *") gets no lines (a note on
stderr) and "next":[] in JSON.
`)
	config := f.configFlag()
	only := f.String("job", "", "print only the job named `NAME`")
	count := f.Int("count", 5, "print the next `K` instants of each job")
	from := f.String("from", "", "start strictly after `TIME` (RFC 3339, fractional seconds allowed; default now)")
	asJSON := f.Bool("json", false, "print JSON instead of text")
	if code, ok := f.parse(args); !ok {
		return code
	}
	if *count < 1 {
		return f.usageError("--count %d: want 1 or more", *count)
	}
	start := c.now()
	if *from != "" {
		t, err := time.Parse(time.RFC3339Nano, *from)
		if err != nil {
			return f.usageError("--from %q: want an RFC 3339 time such as 2026-03-29T04:00:00+03:00", *from)
		}
		start = t
	}
	cfg, code, ok := f.loadConfig(*config)
	if !ok {
		return code
	}

	var out []nextJob
	for _, j := range cfg.Jobs {
		if *only != "" && j.Name != *only {
			continue
		}
		loc := j.Location
		if loc == nil {
			loc = cfg.Timezone
		}
		s, err := schedule.Parse(j.Spec, loc)
		if err != nil {
			// jobs.Load has checked every spec; this is a disagreement
			// between the two packages, still the config's to fix.
			fmt.Fprintf(c.stderr, "%s: job %q: schedule: %v\n", cfg.File, j.Name, err)
			return exitUsage
		}
		out = append(out, nextJob{Job: j.Name, Next: nextInstants(s, start, *count), atStart: s.AtStart()})
	}
	if *only != "" && len(out) == 0 {
		return f.usageError("no job named %q in %s", *only, *config)
	}

	if *asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetEscapeHTML(false)
		if out == nil {
			out = []nextJob{}
		}
		if err := enc.Encode(out); err != nil {
			fmt.Fprintf(c.stderr, "scheduler next: %v\n", err)
			return exitFailure
		}
		return exitOK
	}
	var b strings.Builder
	for _, nj := range out {
		switch {
		case nj.atStart:
			fmt.Fprintf(c.stderr, "scheduler next: job %q runs once when the scheduler starts (@start), at no fixed instant\n", nj.Job)
		case len(nj.Next) == 0:
			fmt.Fprintf(c.stderr, "scheduler next: job %q never fires after %s\n", nj.Job, start.Format(time.RFC3339Nano))
		}
		for _, t := range nj.Next {
			fmt.Fprintf(&b, "%s\t%s\n", nj.Job, t)
		}
	}
	if _, err := fmt.Fprint(c.stdout, b.String()); err != nil {
		return exitFailure
	}
	return exitOK
}

// nextInstants returns up to n instants at which s fires strictly after t,
// formatted as RFC 3339 in the schedule's zone; fewer if s stops firing.
func nextInstants(s *schedule.Zoned, t time.Time, n int) []string {
	out := make([]string, 0, n)
	for range n {
		t = s.Next(t)
		if t.IsZero() {
			break
		}
		out = append(out, t.Format(time.RFC3339Nano))
	}
	return out
}
