// Package jobs turns a YAML configuration file into runtime jobs.
//
// Load (or Parse) decodes the file through yaml.v3 nodes so that every
// problem can name its place: a configuration that is not usable yields an
// Errors value listing all of them, each formatted as
//
//	FILE:LINE:COL: job "NAME": field: message
//
// and no Config, so nothing can start on a half-valid file.
//
// A job is a name, a schedule (see package schedule), optional time zone
// and policies (overlap, timeout, retry; defaults: supplies them for every
// job, and a job overrides them field by field) and exactly one kind:
//
//	log       a text/template rendered with .Now, .Scheduled, .Job and
//	          .Attempt, logged as one record
//	exec      a command, as an argv list or (with shell: true) a /bin/sh
//	          string, run in its own process group that is killed when the
//	          run ends or is cancelled; each output line is logged
//	http      a request whose status must match expect_status (default 2xx)
//	parallel  steps run at once; the first failure cancels the others
//	sequence  steps run in order; the first failure stops it
//
// Templates (log:, a telegram text or caption, an http body) are
// text/template, checked at load, with the function json, which writes a
// value as JSON: {"text": {{ .Error | json }}}.
//
// on_failure: and on_success: (in defaults: or a job, whose own replaces
// the default one; [] turns it off) are alerts: lists of steps, written as
// in a sequence, run one after another once a run has ended, after its
// last attempt: on_failure when it failed, timed out or panicked,
// on_success when it succeeded, neither when it was cancelled or skipped.
// Their templates also see .Error, .Output (the tail of a failed command's
// output), .Attempts, .Outcome and .Duration, and their exec steps get the
// same as SCHEDULER_* environment variables. An alert runs under the job's
// timeout (one minute without one), is never retried, and a failure of it
// is logged, never changing the run's outcome. Job.OnEnd runs them.
//
// String values may use ${VAR} and ${VAR:-default} (used when VAR is unset
// or empty), expanded from the lookupEnv given to Load; $$ is a literal $,
// and a $ before anything else is kept, so shell commands keep their $1.
// Keys of env: and headers: are taken as written. A string field x may be
// given as x_file: PATH instead, to read a secret such as a systemd
// credential: the file's contents (one trailing newline removed, no
// expansion) become the value; a relative PATH is read from the
// configuration file's directory. Values that come from the environment or
// from a file never appear in errors or logs.
//
// Job.Func compiles a job into a runtime.Func, and Job.OnEnd its alerts
// into a runtime.Policy.OnEnd, given the Deps (logger, clock, HTTP client,
// Telegram client) of the process that runs it; Config.RuntimeJobs does so
// for every job.
package jobs
