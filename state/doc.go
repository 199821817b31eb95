// Package state is the scheduler's embedded state store: which occurrences
// of each job were claimed, the bounded history of their outcomes, and the
// paused flags, kept in one bbolt file so that a restart neither loses nor
// repeats runs.
//
// The API is shaped around occurrences (job, scheduled instant) rather than
// around "the last run", because replicas will later share state through
// etcd, where an occurrence becomes a key created only if absent, so that at
// most one replica ever starts it. [DB.Claim] is that create-if-absent.
//
// # Claims and what survives kill -9
//
// Claims are durable before [DB.Claim] returns: every write is part of a
// bbolt commit, which fsyncs the data and then the meta page. bbolt's NoSync
// is not used: a claim lost to a power cut would be started again after the
// restart, the very double run this package exists to prevent. Instead,
// writes from concurrent goroutines share commits, so a burst of jobs firing
// together pays for a few fsyncs, not one each. The runtime uses Claim in one
// of two ways, and the store means the same thing in both ("this occurrence
// is taken care of"):
//
//   - At most once (the default): the loop claims an occurrence before it
//     starts it and starts it only if Claim returned true. After kill -9 or a
//     power loss, every occurrence whose Claim returned true counts as run,
//     even if the run was cut short (its outcome is then missing from the
//     history), and is never started again; an occurrence whose Claim had not
//     returned true was not started, and the loop's catch-up policy decides
//     whether it runs after the restart.
//   - At least once: the loop calls Claim after the run succeeded. After
//     kill -9, a run that finished but whose Claim had not committed runs
//     again (the "at least"); a claimed one never runs again.
//
// Each job remembers its newest claimed instants (a window of 128), exactly,
// plus a floor: the newest instant that fell out of the window. Claim refuses
// an instant that is in the window or not after the floor, and accepts any
// other. Within the window that is exact create-if-absent, so claims made out
// of order (runs of one job overlapping and finishing out of order in the
// at-least-once mode, catch-up with run_all claiming old instants oldest
// first) are each accepted once. Below the window the store cannot tell
// whether an instant was claimed, so it refuses it: refusing a run that never
// happened is a skipped run, but accepting one that did would run it twice.
// A wall clock stepped back therefore never repeats occurrences already
// claimed.
//
// # Corruption
//
// [Open] never starts from empty over a file it cannot read: a file that is
// not a bbolt database, is truncated, fails the structural check, has no
// scheduler metadata, or was written by a newer format version is an error
// naming the path, and the file is left untouched. A new file is built under
// a temporary name and hard-linked into place only when complete, so a file
// at the path is always a whole store, even after a crash during the very
// first start. bbolt can panic, or fault on its memory map, when it meets a
// damaged page; the store turns that into an error wrapping [ErrCorrupt] and
// refuses further use of the file rather than crashing the scheduler.
//
// # Layout (format version 1)
//
//	meta/version            uvarint format version
//	jobs/<name>/claims/<t>  claimed instants, empty values
//	jobs/<name>/floor       <t>: the newest instant dropped from claims
//	jobs/<name>/runs/<t><n> encoded RunRecord; n is the bucket's sequence
//	jobs/<name>/paused      present (value 1) while the job is paused
//
// <t> is the instant's Unix time in nanoseconds, big-endian, with the sign
// bit flipped, so that bbolt's byte order is time order, also before 1970.
// Instants are zone-independent; times come back in UTC.
package state
