package runtime

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/scheduler-dev/scheduler/schedule"
)

// Group is a set of entries on a loop, one per job name, that a new list
// of jobs replaces in one step: what a configuration reload does. Its
// methods are safe for concurrent use.
type Group struct {
	loop    *Loop
	mu      sync.Mutex
	entries map[string]*Entry
}

// NewGroup returns an empty group of entries on l.
func NewGroup(l *Loop) *Group {
	return &Group{loop: l, entries: make(map[string]*Entry)}
}

// Changes says what Group.Apply did, by job name.
type Changes struct {
	// Added jobs are new. Updated ones kept their schedule, so their entry
	// and next fire instant stay as they were and only the function and
	// policy were replaced. Rescheduled ones changed schedule or zone and
	// start over from their new schedule. Removed ones are gone; a run of
	// theirs already going finishes.
	Added, Updated, Rescheduled, Removed []string
}

// Apply makes the group hold exactly jobs. Every spec is checked first, so
// that a bad list changes nothing; names must be unique.
func (g *Group) Apply(jobs []Job) (Changes, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	seen := make(map[string]bool, len(jobs))
	var errs []error
	for _, j := range jobs {
		if seen[j.Name] {
			errs = append(errs, fmt.Errorf("job %q: duplicate name", j.Name))
		}
		seen[j.Name] = true
		if _, err := schedule.Parse(j.Spec, g.location(j)); err != nil {
			errs = append(errs, fmt.Errorf("job %q: %w", j.Name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Changes{}, err
	}

	var ch Changes
	for _, name := range slices.Sorted(maps.Keys(g.entries)) {
		if !seen[name] {
			g.entries[name].Remove()
			delete(g.entries, name)
			ch.Removed = append(ch.Removed, name)
		}
	}
	for _, j := range jobs {
		old, ok := g.entries[j.Name]
		if ok && g.loop.sameSchedule(old, j) {
			old.Update(j.Func, j.Policy)
			ch.Updated = append(ch.Updated, j.Name)
			continue
		}
		if ok {
			old.Remove()
		}
		e, err := g.loop.Add(j)
		if err != nil {
			// Only a loop shutting down gets here: the specs were checked.
			return ch, err
		}
		g.entries[j.Name] = e
		if ok {
			ch.Rescheduled = append(ch.Rescheduled, j.Name)
		} else {
			ch.Added = append(ch.Added, j.Name)
		}
	}
	return ch, nil
}

// location is the zone j's spec is read in, unless it has a CRON_TZ.
func (g *Group) location(j Job) *time.Location {
	if j.Location != nil {
		return j.Location
	}
	return g.loop.location
}

// Entries returns the group's entries, ordered by name.
func (g *Group) Entries() []*Entry {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := slices.Collect(maps.Values(g.entries))
	slices.SortFunc(out, func(a, b *Entry) int { return cmp.Compare(a.name, b.name) })
	return out
}

// Entry returns the entry of the named job, if the group holds one.
func (g *Group) Entry(name string) (*Entry, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	e, ok := g.entries[name]
	return e, ok
}
