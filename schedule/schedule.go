package schedule

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedule reports the first instant strictly after t at which a job fires,
// or the zero time if it never fires again. It is robfig/cron's Schedule
// interface, so schedules move freely between the two packages.
type Schedule interface {
	Next(t time.Time) time.Time
}

var (
	_ Schedule      = (*Zoned)(nil)
	_ cron.Schedule = (*Zoned)(nil)
)

// Zoned is a parsed spec: its text, the zone its wall-clock fields are read
// in, and the schedule itself. It is immutable, so one Zoned may serve any
// number of jobs and goroutines.
type Zoned struct {
	spec     string
	location *time.Location
	cron     *cronSpec                  // five or six fields, or a descriptor
	every    cron.ConstantDelaySchedule // @every; Delay is 0 otherwise
	atStart  bool                       // @start
	never    bool
}

// Parse parses spec (see the package documentation for the syntax), reading
// its wall-clock fields in loc (nil means time.Local) unless the spec starts
// with its own CRON_TZ= (or TZ=) zone. A spec that can never fire, such as
// "0 0 30 2 *", parses without error: Never reports it and Next returns the
// zero time.
func Parse(spec string, loc *time.Location) (z *Zoned, err error) {
	if loc == nil {
		loc = time.Local
	}
	// Nothing below should panic, but a malformed spec must never take the
	// process down: report it instead.
	defer func() {
		if r := recover(); r != nil {
			z, err = nil, fmt.Errorf("malformed spec %q", spec)
		}
	}()
	z = &Zoned{spec: spec, location: loc}
	fields := strings.Fields(spec)
	if len(fields) > 0 {
		if prefix, name, ok := zonePrefix(fields[0]); ok {
			if name == "" {
				return nil, fmt.Errorf("%s: missing zone name", prefix)
			}
			if z.location, err = time.LoadLocation(name); err != nil {
				return nil, fmt.Errorf("%s%s: %w", prefix, name, err)
			}
			fields = fields[1:]
			if len(fields) == 0 {
				return nil, fmt.Errorf("%s%s: missing schedule after the zone", prefix, name)
			}
			if _, _, again := zonePrefix(fields[0]); again {
				return nil, errors.New("more than one CRON_TZ= zone")
			}
		}
	}
	switch {
	case len(fields) == 0:
		return nil, errors.New("empty spec")
	case strings.HasPrefix(fields[0], "@"):
		err = z.parseDescriptor(fields)
	default:
		z.cron, err = parseFields(fields)
	}
	if err != nil {
		return nil, err
	}
	z.never = z.cron != nil && z.cron.neverFires()
	return z, nil
}

// zonePrefix splits a leading CRON_TZ=NAME (or robfig's TZ=NAME) token.
func zonePrefix(token string) (prefix, name string, ok bool) {
	for _, p := range [...]string{"CRON_TZ=", "TZ="} {
		if name, found := strings.CutPrefix(token, p); found {
			return p, name, true
		}
	}
	return "", "", false
}

// descriptor returns the six fields an @-name with a calendar meaning
// stands for.
func descriptor(name string) (string, bool) {
	switch name {
	case "@yearly", "@annually":
		return "0 0 0 1 1 *", true
	case "@monthly":
		return "0 0 0 1 * *", true
	case "@weekly":
		return "0 0 0 * * 0", true
	case "@daily", "@midnight":
		return "0 0 0 * * *", true
	case "@hourly":
		// A wildcard hour: it runs every real hour through DST changes.
		return "0 0 * * * *", true
	}
	return "", false
}

func (z *Zoned) parseDescriptor(fields []string) error {
	name := fields[0]
	switch {
	case name == "@every":
		if len(fields) != 2 {
			return errors.New("@every takes one duration, e.g. @every 90s or @every 1h30m")
		}
		d, err := time.ParseDuration(fields[1])
		switch {
		case err != nil:
			return fmt.Errorf("@every: %w", err)
		case d < time.Second:
			// robfig would silently round this up to 1s.
			return fmt.Errorf("@every %s: the interval must be at least 1s", fields[1])
		case d%time.Second != 0:
			// robfig would silently truncate this to whole seconds.
			return fmt.Errorf("@every %s: the interval must be a whole number of seconds", fields[1])
		}
		z.every = cron.Every(d)
		return nil
	case len(fields) > 1:
		return fmt.Errorf("%s takes no fields, found %q", name, strings.Join(fields[1:], " "))
	case name == "@start":
		z.atStart = true
		return nil
	case name == "@reboot":
		return errors.New(`@reboot: use "@start" (runs once when the scheduler starts)`)
	}
	six, ok := descriptor(name)
	if !ok {
		return fmt.Errorf("unknown descriptor %q: use @yearly, @annually, @monthly, @weekly, "+
			"@daily, @midnight, @hourly, @every DURATION or @start", name)
	}
	c, err := parseFields(strings.Fields(six))
	z.cron = c
	return err
}

// Next returns the first instant strictly after t at which the schedule
// fires, in the schedule's zone, or the zero time if it never fires again.
// Instants are whole seconds. Next does not allocate.
func (z *Zoned) Next(t time.Time) time.Time {
	switch {
	case z.cron != nil:
		if z.never {
			return time.Time{}
		}
		next, _ := z.cron.next(t, z.location)
		return next
	case z.every.Delay > 0:
		return z.every.Next(t).In(z.location)
	}
	return time.Time{} // @start: it fires only when the loop starts
}

// AtStart reports whether the spec is @start: the job runs once when the
// loop starts and Next always returns the zero time.
func (z *Zoned) AtStart() bool { return z.atStart }

// Never reports whether the spec names no instant at all, like "0 0 30 2 *"
// (February 30th) or "0 0 31 APR,JUN *": Next always returns the zero time.
// It is false for @start.
func (z *Zoned) Never() bool { return z.never }

// Location is the zone the schedule's wall-clock fields are read in.
func (z *Zoned) Location() *time.Location { return z.location }

// String returns the spec as written.
func (z *Zoned) String() string { return z.spec }
