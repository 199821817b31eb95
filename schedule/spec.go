package schedule

import (
	"math/bits"
	"time"
)

// cronSpec is a parsed five- or six-field spec: one bitset per field plus the
// day-of-month and day-of-week extensions robfig's SpecSchedule cannot
// express. It is immutable after parsing, so one value serves any number of
// jobs and goroutines.
//
// We keep our own Next instead of robfig's SpecSchedule.Next because robfig's
// walks wall-clock fields with time.Date/AddDate and so (1) skips a job whose
// time falls in a spring-forward gap, (2) runs a fixed-time job twice in a
// fall-back hour, (3) treats "*/7" in a day field as a restriction (Vixie
// cron treats any field starting with "*" as a wildcard when combining
// day-of-month with day-of-week), (4) has no L, W or # and (5) gives up after
// five years, which is too short for e.g. "0 0 29 2 MON#5" and needlessly long
// for a spec that can never fire. Ours works in "wall seconds" (the wall
// clock read as if it were UTC) with integer calendar arithmetic and walks
// the zone's offset periods (time.Time.ZoneBounds) so that gaps and repeats
// are explicit; it does not allocate.
type cronSpec struct {
	second, minute, hour uint64 // bit v set: value v matches
	month                uint16 // bits 1-12
	dom                  uint32 // bits 1-31: plain days of the month
	domNearest           uint32 // bits 1-31: "nW", the weekday nearest to day n
	dowFirst             [7]uint32
	// dowFirst[w] has bit d set when day d of a month whose 1st is weekday w
	// is in the day-of-week set; precomputed so that a month's weekday
	// matches are one load.
	dow     uint8  // bits 0-6: the plain day-of-week set (0 = Sunday)
	dowLast uint8  // bits 0-6: "nL", the last weekday n of the month
	dowNth  uint64 // bit w*8+k: "w#k", the k-th weekday w of the month (k 1-5)

	lastDay, lastWeekday bool // "L" and "LW" in day-of-month
	domStar, dowStar     bool // the field begins with "*" or "?" (Vixie's DOM_STAR, DOW_STAR)
	// fixedHour says the hour field does not begin with "*": such jobs get the
	// ISC/Debian daylight-saving treatment (see the package doc).
	fixedHour bool
	special   bool // any of L, LW, nW, nL, #
	sec0      int  // the first second in the set, for the start of a minute
	min0      int  // the first minute in the set, for the start of an hour
}

const (
	secondsPerDay = 86400
	// searchSpan bounds Next's search. The Gregorian calendar repeats every
	// 400 years (146097 days, a whole number of weeks), so a spec that
	// matches no wall-clock time in 401 years never matches; Parse already
	// reports those (Zoned.Never), so in practice the bound is only reached
	// by a spec whose every match falls into a daylight-saving gap.
	searchSpan = 401 * 366 * secondsPerDay
	// maxUnix keeps the integer calendar arithmetic far from overflow: no
	// instant after about the year 71 million fires, and searches start no
	// earlier than about 71 million BC.
	maxUnix = 1 << 51
	minUnix = -maxUnix
	// offsetSlack exceeds any UTC offset and any difference between two
	// offsets (tzdata's are within ±26 hours).
	offsetSlack = 3 * secondsPerDay
)

// next returns the first instant strictly after t at which c fires, read in
// loc, or the zero time; steps counts the loop iterations spent, which the
// fuzz test bounds.
func (c *cronSpec) next(t time.Time, loc *time.Location) (_ time.Time, steps int) {
	u := t.Unix() + 1 // whole seconds only: the first candidate after t
	if u > maxUnix {
		return time.Time{}, 0
	}
	u = max(u, minUnix)
	stop := u + searchSpan
	// Walk the zone's offset periods. Within one period the wall clock is
	// monotonic (wall = unix + offset), so the first matching wall time in
	// the period's range is the answer; the daylight-saving policy only
	// concerns the boundaries between periods.
	for u < stop {
		steps++
		lt := time.Unix(u, 0).In(loc)
		_, off := lt.Zone()
		start, end := lt.ZoneBounds()
		o := int64(off)
		from := u + o
		if c.fixedHour && !start.IsZero() {
			// Fixed-hour jobs: a wall time in the gap before this period runs
			// at the period's first instant; a wall time repeated after a
			// fall-back runs only in its first occurrence (the previous
			// period), so this period's search starts after the repeat. Only
			// the first two days of a period can be affected.
			s := start.Unix()
			if d := u - s; d >= 0 && d < 2*secondsPerDay {
				_, prev := time.Unix(s-1, 0).In(loc).Zone()
				p := int64(prev)
				switch {
				case p < o && u == s:
					if _, ok := c.nextWall(s+p, s+o, &steps); ok {
						return time.Unix(s, 0).In(loc), steps
					}
				case p > o:
					from = max(from, s+p)
				}
			}
		}
		w, ok := c.nextWall(from, stop+o, &steps)
		if end.IsZero() {
			if ok {
				return time.Unix(w-o, 0).In(loc), steps
			}
			break
		}
		e := periodEnd(u, end)
		if !ok {
			w = stop + o
		} else if w < e+o {
			return time.Unix(w-o, 0).In(loc), steps
		}
		// No wall time in [from, w) matches. If this search began at least
		// offsetSlack before the period's end, every instant in
		// [e, w-offsetSlack) reads a wall time in that range, and so does
		// every gap there, so none of them fires: skip the periods between
		// (this makes Next fast for rare schedules, which would otherwise
		// visit every zone period until they fire). Otherwise the next
		// period may repeat wall times before from: visit it.
		if u <= e-offsetSlack {
			u = max(e, w-offsetSlack)
		} else {
			u = e
		}
	}
	return time.Time{}, steps
}

// periodEnd returns where the zone period containing u ends, given end as
// reported by ZoneBounds. Beyond its transition table Go computes offsets
// from the zone's POSIX TZ rule, and there (as of Go 1.26) it reports the
// end of the stretch after the year's last change as the year's start plus
// 365 days: in a leap year that is December 31st, where ZoneBounds then
// reports the same instant again. The offset really holds until the UTC
// year ends, so continue from there.
func periodEnd(u int64, end time.Time) int64 {
	if e := end.Unix(); e > u {
		return e
	}
	y := time.Unix(u, 0).UTC().Year()
	return max(u+1, time.Date(y+1, time.January, 1, 0, 0, 0, 0, time.UTC).Unix())
}

// nextWall returns the first wall second in [w, limit) that matches c.
func (c *cronSpec) nextWall(w, limit int64, steps *int) (int64, bool) {
	if w >= limit {
		return 0, false
	}
	days := floorDiv(w, secondsPerDay)
	sod := int(w - days*secondsPerDay)
	y, m, d := civil(days)
	first := days - int64(d-1) // the 1st of the month
	for {
		*steps++
		if c.month&(1<<m) != 0 {
			n := daysIn(y, m)
			mask := c.dayMask(n, weekday(first)) >> d << d
			for mask != 0 {
				dd := bits.TrailingZeros32(mask)
				if dd != d {
					sod = 0
				}
				if tod, ok := c.timeOfDay(sod); ok {
					r := (first+int64(dd-1))*secondsPerDay + int64(tod)
					return r, r < limit
				}
				mask &= mask - 1
			}
		}
		nm := nextBit(uint64(c.month), m+1)
		if nm < 0 {
			y++
			nm = bits.TrailingZeros16(c.month)
		}
		m, d, sod = nm, 1, 0
		first = daysFromCivil(y, m, 1)
		if first*secondsPerDay >= limit {
			return 0, false
		}
	}
}

// timeOfDay returns the first matching second of the day at or after sod.
func (c *cronSpec) timeOfDay(sod int) (int, bool) {
	h, m, s := sod/3600, sod/60%60, sod%60
	if c.hour&(1<<h) != 0 {
		if c.minute&(1<<m) != 0 {
			if ns := nextBit(c.second, s); ns >= 0 {
				return h*3600 + m*60 + ns, true
			}
		}
		if nm := nextBit(c.minute, m+1); nm >= 0 {
			return h*3600 + nm*60 + c.sec0, true
		}
	}
	if nh := nextBit(c.hour, h+1); nh >= 0 {
		return nh*3600 + c.min0*60 + c.sec0, true
	}
	return 0, false
}

// dayMask returns the matching days (bits 1-n) of a month of n days whose
// 1st is weekday wd1 (0 = Sunday).
func (c *cronSpec) dayMask(n, wd1 int) uint32 {
	valid := uint32(1)<<(n+1) - 2
	dom, dow := c.dom, c.dowFirst[wd1]
	if c.special {
		if c.lastDay {
			dom |= 1 << n
		}
		if c.lastWeekday {
			dom |= 1 << lastWeekday(n, wd1)
		}
		for b := c.domNearest & valid; b != 0; b &= b - 1 {
			dom |= 1 << nearestWeekday(bits.TrailingZeros32(b), n, wd1)
		}
		for b := c.dowLast; b != 0; b &= b - 1 {
			f := firstOf(bits.TrailingZeros8(b), wd1)
			dow |= 1 << (f + (n-f)/7*7)
		}
		for b := c.dowNth; b != 0; b &= b - 1 {
			i := bits.TrailingZeros64(b)
			if d := firstOf(i>>3, wd1) + 7*(i&7-1); d <= n {
				dow |= 1 << d
			}
		}
	}
	if c.domStar || c.dowStar {
		return dom & dow & valid
	}
	return (dom | dow) & valid
}

// neverFires reports whether no month allowed by c has a matching day. It
// is exact: every month length and weekday of the 1st that a month can have
// occurs within each 400-year Gregorian cycle.
func (c *cronSpec) neverFires() bool {
	for m := 1; m <= 12; m++ {
		if c.month&(1<<m) == 0 {
			continue
		}
		for n := daysIn(1, m); n <= daysIn(4, m); n++ { // 4 is a leap year
			for wd1 := range 7 {
				if c.dayMask(n, wd1) != 0 {
					return false
				}
			}
		}
	}
	return true
}

// firstOf returns the day of the month (1-7) of the first weekday w in a
// month whose 1st is weekday wd1.
func firstOf(w, wd1 int) int { return 1 + (w-wd1+7)%7 }

// lastWeekday returns the last Monday-to-Friday day of a month of n days.
func lastWeekday(n, wd1 int) int {
	switch (wd1 + n - 1) % 7 {
	case 6: // Saturday
		return n - 1
	case 0: // Sunday
		return n - 2
	}
	return n
}

// nearestWeekday implements Quartz's "dW": the Monday-to-Friday day nearest
// to day d that stays inside the month.
func nearestWeekday(d, n, wd1 int) int {
	switch (wd1 + d - 1) % 7 {
	case 6: // Saturday: the Friday before, or the Monday after the 1st
		if d == 1 {
			return 3
		}
		return d - 1
	case 0: // Sunday: the Monday after, or the Friday before the last day
		if d == n {
			return d - 2
		}
		return d + 1
	}
	return d
}

// nextBit returns the lowest set bit of set at or above from, or -1.
func nextBit(set uint64, from int) int {
	if from > 63 {
		return -1
	}
	x := set & (^uint64(0) << uint(from))
	if x == 0 {
		return -1
	}
	return bits.TrailingZeros64(x)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// weekday returns the weekday (0 = Sunday) of a day counted from 1970-01-01,
// a Thursday.
func weekday(days int64) int {
	w := (days + 4) % 7
	if w < 0 {
		w += 7
	}
	return int(w)
}

func isLeap(y int64) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysIn(y int64, m int) int {
	switch m {
	case 2:
		if isLeap(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the days from 1970-01-01 to y-m-d in the proleptic
// Gregorian calendar (Howard Hinnant's algorithm).
func daysFromCivil(y int64, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400
	doy := int64((153*((m+9)%12)+2)/5 + d - 1)
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// civil is the inverse of daysFromCivil.
func civil(days int64) (y int64, m, d int) {
	days += 719468
	era := floorDiv(days, 146097)
	doe := days - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	m = int(mp) + 3
	if m > 12 {
		m -= 12
	}
	y = yoe + era*400
	if m <= 2 {
		y++
	}
	return y, m, d
}
