package runtime

import (
	"context"
	"fmt"
	"time"
)

// Func is the body of a job: what runs at each fire. It should return when
// ctx is done; the error, if any, marks the run as failed.
type Func func(ctx context.Context, r Run) error

// Run describes one execution of a job, passed to its Func.
type Run struct {
	// Job is the name of the job.
	Job string
	// Scheduled is the instant the run was due, in the job's time zone.
	Scheduled time.Time
	// Attempt counts tries of this run, from 1; it grows on retries.
	Attempt int
}

// Job is what Loop.Add schedules.
type Job struct {
	// Name identifies the job in logs and in Run.
	Name string
	// Spec is a cron spec (see package schedule). Entries with the same spec
	// and location share one parsed schedule.
	Spec string
	// Location is the zone Spec's wall-clock fields are read in; nil means
	// the loop's Config.Location.
	Location *time.Location
	// Func runs at each fire. It may be nil for an entry that is only waited
	// on with Entry.Next.
	Func Func
	// Policy governs overlap, timeouts and retries. Entries may share one
	// Policy; nil means the zero Policy (overlap allowed, no timeout, one
	// attempt).
	Policy *Policy
}

// Policy says how the runs of one job behave.
type Policy struct {
	// Overlap says what a fire does while an earlier run is still going.
	Overlap Overlap
	// Timeout bounds each attempt; 0 means no limit. When it passes, the
	// attempt's context is cancelled with a *TimeoutError as its cause.
	Timeout time.Duration
	// Retry says how failed attempts are tried again.
	Retry Retry
}

// Retry configures exponential, jittered retries of a failed run.
type Retry struct {
	// Attempts is the most tries a run gets, the first included; 0 and 1
	// both mean no retry.
	Attempts int
	// Backoff is the base delay before the second attempt; it doubles for
	// each further attempt, up to MaxBackoff. Each delay is jittered down by
	// up to half so that many failing jobs do not retry in lockstep.
	Backoff time.Duration
	// MaxBackoff caps the delay; 0 means no cap.
	MaxBackoff time.Duration
}

// Overlap is what a fire does while an earlier run of the same entry is
// still going (or waiting for a slot under Config.MaxConcurrent).
type Overlap uint8

const (
	// OverlapAllow starts the new run beside the old one.
	OverlapAllow Overlap = iota
	// OverlapForbid skips the new run and logs the skip.
	OverlapForbid
	// OverlapReplace cancels the running run's context, then starts the new run.
	OverlapReplace
	// OverlapQueue keeps at most one pending run, started when the running one
	// ends; fires beyond that are skipped and logged.
	OverlapQueue
)

var overlapNames = [...]string{"allow", "forbid", "replace", "queue"}

// String returns the name used in configuration: allow, forbid, replace or queue.
func (o Overlap) String() string {
	if int(o) < len(overlapNames) {
		return overlapNames[o]
	}
	return fmt.Sprintf("Overlap(%d)", o)
}

// ParseOverlap parses allow, forbid, replace or queue.
func ParseOverlap(s string) (Overlap, error) {
	for i, name := range overlapNames {
		if s == name {
			return Overlap(i), nil
		}
	}
	return 0, fmt.Errorf("unknown overlap policy %q (want allow, forbid, replace or queue)", s)
}

// TimeoutError is the cancellation cause of an attempt that ran past its
// Policy.Timeout; context.Cause on the attempt's context returns it.
type TimeoutError struct {
	Timeout time.Duration
}

func (e *TimeoutError) Error() string { return fmt.Sprintf("timed out after %s", e.Timeout) }
