package schedule

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// field describes one position of a spec. The values below are read-only
// tables.
type field struct {
	id       fieldID
	name     string
	min, max int
	names    []string // full names, value = index + min; also matched by their first three letters, in any case
}

type fieldID uint8

const (
	fSecond fieldID = iota
	fMinute
	fHour
	fDom
	fMonth
	fDow
)

var fieldDefs = [...]field{
	fSecond: {id: fSecond, name: "second", max: 59},
	fMinute: {id: fMinute, name: "minute", max: 59},
	fHour:   {id: fHour, name: "hour", max: 23},
	fDom:    {id: fDom, name: "day-of-month", min: 1, max: 31},
	fMonth: {id: fMonth, name: "month", min: 1, max: 12, names: []string{"january", "february",
		"march", "april", "may", "june", "july", "august", "september", "october", "november", "december"}},
	// 0 and 7 are both Sunday.
	fDow: {id: fDow, name: "day-of-week", max: 7, names: []string{"sunday", "monday",
		"tuesday", "wednesday", "thursday", "friday", "saturday"}},
}

// span is the number of distinct values of f: day-of-week has 7, not 8.
func (f *field) span() int {
	if f.id == fDow {
		return 7
	}
	return f.max - f.min + 1
}

// top is the highest value "*" and "A/STEP" reach: 6 for day-of-week, so
// that Sunday is not counted twice.
func (f *field) top() int { return f.min + f.span() - 1 }

// parseFields parses the five or six whitespace-separated fields of a spec.
func parseFields(text []string) (*cronSpec, error) {
	switch len(text) {
	case 5:
		text = append([]string{"0"}, text...)
	case 6:
		if text[0] == "*" && isDigits(text[5]) {
			return nil, ambiguous(text)
		}
	default:
		return nil, fmt.Errorf("expected 5 fields (minute hour day-of-month month day-of-week), "+
			"or 6 with seconds first, found %d", len(text))
	}
	c := &cronSpec{}
	var sets [len(fieldDefs)]uint64
	for i := range fieldDefs {
		if err := c.parseField(&fieldDefs[i], text[i], &sets[i]); err != nil {
			return nil, err
		}
	}
	c.second, c.minute, c.hour = sets[fSecond], sets[fMinute], sets[fHour]
	c.dom = uint32(sets[fDom])
	c.month = uint16(sets[fMonth])
	c.setDow(sets[fDow])
	c.domStar = startsWithStar(text[fDom])
	c.dowStar = startsWithStar(text[fDow])
	c.fixedHour = !startsWithStar(text[fHour])
	c.finish()
	return c, nil
}

// finish derives the fields that speed up Next.
func (c *cronSpec) finish() {
	c.sec0 = bits.TrailingZeros64(c.second)
	c.min0 = bits.TrailingZeros64(c.minute)
	c.special = c.lastDay || c.lastWeekday || c.domNearest != 0 || c.dowLast != 0 || c.dowNth != 0
}

// setDow stores the plain day-of-week set (bits 0-6) as per-month patterns.
func (c *cronSpec) setDow(dow uint64) {
	c.dow = uint8(dow)
	for wd1 := range 7 {
		var m uint32
		for d := 1; d <= 31; d++ {
			if dow&(1<<((wd1+d-1)%7)) != 0 {
				m |= 1 << d
			}
		}
		c.dowFirst[wd1] = m
	}
}

// ambiguous explains why "* ... N" cannot be read safely: aiocron and
// croniter put the optional seconds field last, we (like robfig and Quartz)
// put it first, and this spec means something different each way.
func ambiguous(f []string) error {
	return fmt.Errorf("ambiguous 6-field spec %q: with seconds first (our reading, as in Quartz "+
		"and robfig/cron) it is second=%s minute=%s hour=%s day-of-month=%s month=%s day-of-week=%s; "+
		"with seconds last (aiocron, croniter) it would be minute=%s hour=%s day-of-month=%s month=%s "+
		"day-of-week=%s second=%s; write the seconds-last reading as %q, or spell the day of week "+
		"by name for the seconds-first one",
		strings.Join(f, " "), f[0], f[1], f[2], f[3], f[4], f[5], f[0], f[1], f[2], f[3], f[4], f[5],
		strings.Join([]string{f[5], f[0], f[1], f[2], f[3], f[4]}, " "))
}

// parseField parses a comma-separated list into out (bit v = value v). The
// day fields may also set c's L, W and # extensions.
func (c *cronSpec) parseField(f *field, text string, out *uint64) error {
	if text == "?" {
		if f.id != fDom && f.id != fDow {
			return fmt.Errorf("%s: %q is only allowed in day-of-month and day-of-week", f.name, text)
		}
		*out = rangeBits(f, f.min, f.top(), 1)
		return nil
	}
	for elem := range strings.SplitSeq(text, ",") {
		if elem == "" {
			return fmt.Errorf("%s: empty list element in %q", f.name, text)
		}
		if err := c.parseElem(f, elem, out); err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
	}
	return nil
}

// parseElem parses one list element: "*", "?", "V", "A-B" (wrapping around
// when A > B), any of these with "/STEP", or one of the day extensions.
func (c *cronSpec) parseElem(f *field, elem string, out *uint64) error {
	up := strings.ToUpper(elem)
	switch f.id {
	case fDom:
		switch {
		case up == "L":
			c.lastDay = true
			return nil
		case up == "LW":
			c.lastWeekday = true
			return nil
		case strings.HasPrefix(up, "L"):
			return fmt.Errorf("%q: after L only W is allowed (LW: the last weekday of the month)", elem)
		case strings.HasSuffix(up, "W"):
			if !isDigits(elem[:len(elem)-1]) {
				return fmt.Errorf("%q: W follows a single day, e.g. 15W for the weekday nearest the 15th", elem)
			}
			d, err := f.value(elem[:len(elem)-1], elem)
			if err != nil {
				return err
			}
			c.domNearest |= 1 << d
			return nil
		}
	case fDow:
		if i := strings.IndexByte(elem, '#'); i >= 0 {
			d, err := f.value(elem[:i], elem)
			if err != nil {
				return err
			}
			k, err := strconv.Atoi(elem[i+1:])
			if err != nil || !isDigits(elem[i+1:]) || k < 1 || k > 5 {
				return fmt.Errorf("%q: the occurrence after # must be 1-5", elem)
			}
			c.dowNth |= 1 << (d%7*8 + k)
			return nil
		}
		if strings.HasSuffix(up, "L") {
			if len(elem) == 1 {
				return fmt.Errorf("%q: L needs a day before it, e.g. 5L or FRIL for the last Friday of the month", elem)
			}
			d, err := f.value(elem[:len(elem)-1], elem)
			if err != nil {
				return err
			}
			c.dowLast |= 1 << (d % 7)
			return nil
		}
	}

	base, stepText, hasStep := strings.Cut(elem, "/")
	step := 1
	if hasStep {
		n, err := strconv.Atoi(stepText)
		if err != nil || !isDigits(stepText) || n < 1 || n > f.span() {
			return fmt.Errorf("%q: the step after / must be a number from 1 to %d", elem, f.span())
		}
		step = n
	}
	var lo, hi int
	switch {
	case base == "*":
		lo, hi = f.min, f.top()
	case base == "?":
		return fmt.Errorf("%q: ? stands alone for the whole field", elem)
	default:
		a, b, isRange := strings.Cut(base, "-")
		var err error
		if lo, err = f.value(a, elem); err != nil {
			return err
		}
		switch {
		case isRange:
			if hi, err = f.value(b, elem); err != nil {
				return err
			}
		case hasStep: // "A/STEP" means "A-MAX/STEP", as in robfig and Quartz
			hi = max(lo, f.top())
		default:
			hi = lo
		}
	}
	*out |= rangeBits(f, lo, hi, step)
	return nil
}

// rangeBits returns every step-th value from lo to hi. A range with lo > hi
// wraps around the end of the field (22-2 is 22,23,0,1,2; FRI-MON is Friday
// to Monday); the step counts across the wrap. Day-of-week 7 is Sunday.
func rangeBits(f *field, lo, hi, step int) uint64 {
	var b uint64
	if f.id == fDow {
		if hi == 7 {
			// 5-7 is Friday to Sunday and 0-7 the whole week: count up to 7,
			// which is Sunday again.
			for v := lo; v <= 7; v += step {
				b |= 1 << (v % 7)
			}
			return b
		}
		if lo == 7 {
			lo = 0 // 7-2 is Sunday to Tuesday
		}
	}
	n := hi - lo + 1
	if lo > hi {
		n += f.span()
	}
	for i := 0; i < n; i += step {
		v := lo + i
		if v > f.top() {
			v -= f.span()
		}
		b |= 1 << v
	}
	return b
}

// value parses a number or, for month and day-of-week, a name (full or its
// first three letters, any case) and checks it against the field's range.
func (f *field) value(s, elem string) (int, error) {
	where := fmt.Sprintf("%q", elem)
	if s != elem {
		where = fmt.Sprintf("%q in %q", s, elem)
	}
	if isDigits(s) {
		v, err := strconv.Atoi(s)
		if err != nil || v < f.min || v > f.max {
			return 0, fmt.Errorf("%s is out of range %d-%d", where, f.min, f.max)
		}
		return v, nil
	}
	if f.names != nil && len(s) >= 3 {
		ls := strings.ToLower(s)
		for i, name := range f.names {
			if ls == name || ls == name[:3] {
				return i + f.min, nil
			}
		}
	}
	switch f.id {
	case fMonth:
		return 0, fmt.Errorf("%s is not a month: use 1-12, JAN-DEC or JANUARY-DECEMBER", where)
	case fDow:
		return 0, fmt.Errorf("%s is not a day of the week: use 0-7 (0 and 7 are Sunday), SUN-SAT or SUNDAY-SATURDAY", where)
	}
	return 0, fmt.Errorf("%s is not a number in %d-%d", where, f.min, f.max)
}

func startsWithStar(s string) bool { return s != "" && (s[0] == '*' || s[0] == '?') }

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
