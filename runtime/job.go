package runtime

import (
	"context"
	"fmt"
	"strings"
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
	// Misfire says what happens to instants the loop could not fire on
	// time: it was not running (with a Store, which remembers), the machine
	// slept, the clock stepped, or the loop fell more than a second behind.
	Misfire Misfire
	// Grace drops missed instants older than this instead of catching them
	// up; 0 means no limit.
	Grace time.Duration
	// MaxCatchup bounds the runs MisfireRunAll catches up (the latest ones,
	// run oldest first); 0 means DefaultMaxCatchup.
	MaxCatchup int
	// Delivery says when an occurrence is claimed in the loop's Store.
	Delivery Delivery
	// Jitter delays each run by a random duration in [0, Jitter), so that
	// fleets of identical schedules do not all start in the same second.
	// The run's Scheduled instant is unchanged.
	Jitter time.Duration
	// StableJitter derives the delay from a hash of the job's name instead,
	// the same at every run and across restarts (systemd's FixedRandomDelay).
	StableJitter bool
	// OnEnd, if set, is called once each run has ended, after its last
	// attempt: for alerts. It runs in the run's goroutine, still holding the
	// run's concurrency slot, before Entry.Next and Entry.Trigger see the
	// end. Its ctx is the loop's, which outlives the run's own context (so
	// an alert about a timeout can still be sent) and ends when the
	// shutdown grace period does.
	OnEnd func(ctx context.Context, r Report)
}

// DefaultMaxCatchup is the most runs MisfireRunAll catches up when
// Policy.MaxCatchup is 0.
const DefaultMaxCatchup = 100

// Misfire is what happens to the instants of a job that the loop could not
// fire on time.
type Misfire uint8

const (
	// MisfireAuto is MisfireSkip for @every schedules and schedules that fire
	// more than once a minute, and MisfireRunOnce for the rest.
	MisfireAuto Misfire = iota
	// MisfireSkip drops missed instants; the job waits for its next one.
	MisfireSkip
	// MisfireRunOnce runs once for the latest missed instant, like systemd's
	// Persistent=true.
	MisfireRunOnce
	// MisfireRunAll runs every missed instant (up to Policy.MaxCatchup, the
	// latest ones), oldest first, one after another.
	MisfireRunAll
)

var misfireNames = [...]string{"auto", "skip", "run_once", "run_all"}

// String returns the name used in configuration.
func (m Misfire) String() string { return enumName(misfireNames[:], m) }

// ParseMisfire parses skip, run_once or run_all (or auto).
func ParseMisfire(s string) (Misfire, error) {
	return parseEnum[Misfire]("misfire policy", misfireNames[:], s)
}

// Delivery says when the loop claims an occurrence in its Store, and so
// what a crash (kill -9) in the middle of a run means.
type Delivery uint8

const (
	// AtMostOnce claims the occurrence before the run starts. A crash mid-run
	// loses that run: after a restart it is not run again.
	AtMostOnce Delivery = iota
	// AtLeastOnce claims it only once the run has succeeded. A crash mid-run
	// (or a run that failed all its attempts) leaves it unclaimed, so after a
	// restart it counts as missed and the misfire policy runs it again.
	AtLeastOnce
)

var deliveryNames = [...]string{"at_most_once", "at_least_once"}

// String returns the name used in configuration.
func (d Delivery) String() string { return enumName(deliveryNames[:], d) }

// ParseDelivery parses at_most_once or at_least_once.
func ParseDelivery(s string) (Delivery, error) {
	return parseEnum[Delivery]("delivery", deliveryNames[:], s)
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
func (o Overlap) String() string { return enumName(overlapNames[:], o) }

// ParseOverlap parses allow, forbid, replace or queue.
func ParseOverlap(s string) (Overlap, error) {
	return parseEnum[Overlap]("overlap policy", overlapNames[:], s)
}

func enumName[E ~uint8](names []string, v E) string {
	if int(v) < len(names) {
		return names[v]
	}
	return fmt.Sprintf("%d", v)
}

func parseEnum[E ~uint8](what string, names []string, s string) (E, error) {
	for i, name := range names {
		if s == name {
			return E(i), nil
		}
	}
	return 0, fmt.Errorf("unknown %s %q (want %s)", what, s, strings.Join(names, ", "))
}

// TimeoutError is the cancellation cause of an attempt that ran past its
// Policy.Timeout; context.Cause on the attempt's context returns it.
type TimeoutError struct {
	Timeout time.Duration
}

func (e *TimeoutError) Error() string { return fmt.Sprintf("timed out after %s", e.Timeout) }
