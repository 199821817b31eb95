package schedule

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
)

// The oracle restates the package's rules as directly as possible and
// evaluates them by brute force, minute by minute, so that Next's shortcuts
// (bit tricks, zone-period walking) are checked against the definitions:
//
//   - a wall-clock time matches when every field matches, with the Vixie
//     day-of-month/day-of-week rule and L, LW, nW, nL, #k computed naively;
//   - wildcard hour: every instant whose wall-clock reading matches;
//   - fixed hour: every instant whose wall-clock reading matches and was not
//     already shown by the clock earlier (first occurrence only), plus, for
//     every forward jump, the first instant after it if any skipped
//     wall-clock time matches.

// oracleMatch reports whether the wall-clock time w (read as UTC) matches c.
func oracleMatch(c *cronSpec, w time.Time) bool {
	y, mo, d := w.Date()
	if c.second&(1<<w.Second()) == 0 || c.minute&(1<<w.Minute()) == 0 ||
		c.hour&(1<<w.Hour()) == 0 || c.month&(1<<int(mo)) == 0 {
		return false
	}
	n := time.Date(y, mo+1, 0, 0, 0, 0, 0, time.UTC).Day()
	wd := func(day int) time.Weekday { return time.Date(y, mo, day, 0, 0, 0, 0, time.UTC).Weekday() }
	isWeekday := func(day int) bool { return wd(day) != time.Saturday && wd(day) != time.Sunday }

	dom := c.dom&(1<<d) != 0 || (c.lastDay && d == n)
	if c.lastWeekday {
		last := n
		for !isWeekday(last) {
			last--
		}
		dom = dom || d == last
	}
	for k := 1; k <= n; k++ {
		if c.domNearest&(1<<k) == 0 {
			continue
		}
		best := -1 // the Monday-to-Friday day of this month nearest to k
		for day := 1; day <= n; day++ {
			if isWeekday(day) && (best < 0 || abs(day-k) < abs(best-k)) {
				best = day
			}
		}
		dom = dom || d == best
	}
	w0 := int(wd(d))
	dow := c.dow&(1<<w0) != 0 ||
		(c.dowLast&(1<<w0) != 0 && d+7 > n) ||
		c.dowNth&(1<<(w0*8+(d-1)/7+1)) != 0
	if c.domStar || c.dowStar {
		return dom && dow
	}
	return dom || dow
}

func abs(x int) int { return max(x, -x) }

// oracleFires returns every fire instant in (from, to], scanning minute by
// minute from a day before from so that "already shown" is known.
func oracleFires(c *cronSpec, loc *time.Location, from, to time.Time) []time.Time {
	wall := func(u time.Time) time.Time {
		_, off := u.Zone()
		return time.Unix(u.Unix()+int64(off), 0).UTC()
	}
	// The wall times already shown, as runs of consecutive minutes: the
	// clock shows one run between jumps.
	type run struct{ from, to int64 }
	var shown []run
	seen := func(w int64) bool {
		for _, r := range shown {
			if w >= r.from && w <= r.to {
				return true
			}
		}
		return false
	}
	show := func(w int64) {
		if n := len(shown); n > 0 && shown[n-1].to+60 == w {
			shown[n-1].to = w
			return
		}
		shown = append(shown, run{w, w})
	}
	var fires []time.Time
	add := func(u time.Time) {
		if u.After(from) && !u.After(to) && (len(fires) == 0 || !fires[len(fires)-1].Equal(u)) {
			fires = append(fires, u.In(loc))
		}
	}
	start := from.Add(-24 * time.Hour).Truncate(time.Minute)
	prev := start.Add(-time.Minute).In(loc)
	for u := start.In(loc); !u.After(to); u = u.Add(time.Minute) {
		w, pw := wall(u), wall(prev)
		if c.fixedHour && w.Sub(pw) > time.Minute {
			for g := pw.Add(time.Minute); g.Before(w); g = g.Add(time.Minute) {
				if oracleMatch(c, g) {
					add(u)
					break
				}
			}
		}
		if oracleMatch(c, w) && (!c.fixedHour || !seen(w.Unix())) {
			add(u)
		}
		show(w.Unix())
		prev = u
	}
	return fires
}

// transitions lists every offset change in [from, to) in loc.
func transitions(loc *time.Location, from, to time.Time) []time.Time {
	var ts []time.Time
	for t := from; t.Before(to); {
		_, end := t.In(loc).ZoneBounds()
		if end.IsZero() || !end.Before(to) {
			break
		}
		ts = append(ts, end)
		t = time.Unix(periodEnd(t.Unix(), end), 0)
	}
	return ts
}

var oracleZones = []string{
	"America/New_York", "America/Los_Angeles", "Europe/London", "Europe/Berlin", "Europe/Riga",
	"Australia/Sydney", "Australia/Lord_Howe", "America/Sao_Paulo", "Pacific/Chatham", "Pacific/Apia",
	"America/Havana", // changes at midnight (00:00 -> 01:00 and 01:00 -> 00:00)
}

// oracleSpecs exercise the rules at the usual transition hours.
var oracleSpecs = []string{
	"30 2 * * *", "0 2 * * *", "* 2 * * *", "*/5 * * * *", "0 * * * *", "15,45 * * * *",
	"0 */2 * * *", "30 1 * * *", "0 0 * * *", "59 23 * * *", "0 1-3 * * *", "*/7 1,2,3 * * *",
	"0 0 L * *", "0 2 LW * *", "30 2 * * 0", "0 3 * * SUN#1", "0 0 * * 0L", "0 2 1W * *",
	"*/20 0-4 * * *", "45 0-3/2 * * *", "0,30 22-4 * * *", "0 0 1-7 * */7", "30 3 * * SUN-MON",
	"@hourly", "@daily", "0 0 ? * 0#5", "30 */3 * * *", "* * * * *",
}

func TestOracleAtTransitions(t *testing.T) {
	years := map[string][2]int{"America/Sao_Paulo": {2017, 2019}, "Pacific/Apia": {2011, 2013}}
	for _, zone := range oracleZones {
		loc := mustZone(t, zone)
		yr, ok := years[zone]
		if !ok {
			yr = [2]int{2024, 2026}
		}
		ts := transitions(loc, time.Date(yr[0], 1, 1, 0, 0, 0, 0, time.UTC), time.Date(yr[1], 1, 1, 0, 0, 0, 0, time.UTC))
		if len(ts) < 2 {
			t.Fatalf("%s: only %d transitions in %d-%d", zone, len(ts), yr[0], yr[1])
		}
		for _, spec := range oracleSpecs {
			z, err := Parse(spec, loc)
			if err != nil {
				t.Fatalf("Parse(%q): %v", spec, err)
			}
			for _, tr := range ts {
				compareWithOracle(t, z, tr.Add(-30*time.Hour), tr.Add(30*time.Hour))
			}
		}
	}
}

// TestOracleBeyondTables: past 2037 Go derives offsets from each zone's TZ
// rule, and its ZoneBounds misreports the end of leap years there; compare
// across the end of 2040 and the changes of 2041.
func TestOracleBeyondTables(t *testing.T) {
	yearEnd := time.Date(2041, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, zone := range oracleZones {
		loc := mustZone(t, zone)
		windows := [][2]time.Time{{yearEnd.Add(-60 * time.Hour), yearEnd.Add(36 * time.Hour)}}
		for _, tr := range transitions(loc, yearEnd, yearEnd.AddDate(1, 0, 0)) {
			windows = append(windows, [2]time.Time{tr.Add(-30 * time.Hour), tr.Add(30 * time.Hour)})
		}
		for _, spec := range oracleSpecs {
			z, err := Parse(spec, loc)
			if err != nil {
				t.Fatalf("Parse(%q): %v", spec, err)
			}
			for _, w := range windows {
				compareWithOracle(t, z, w[0], w[1])
			}
		}
	}
}

// TestOracleFromManyStarts calls Next from many instants in the 16 days
// before each change, for rare schedules whose next run is days away, so
// that Next's skipping over zone periods is checked against the oracle.
func TestOracleFromManyStarts(t *testing.T) {
	specs := []string{
		"30 2 * * 0L", "0 3 * * 7L", "0 1 * * SUN", "15 2 LW * *", "0 2 1W * *", "0 0 ? * 0#1",
		"30 1 * 3,4,10,11 0L", "0 */6 * * 0", "*/15 2 * * 0", "0 0 L * *", "0 0,12 * * 6L",
	}
	for _, zone := range oracleZones {
		loc := mustZone(t, zone)
		from := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		switch zone {
		case "America/Sao_Paulo":
			from = time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)
		case "Pacific/Apia":
			from = time.Date(2011, 1, 1, 0, 0, 0, 0, time.UTC)
		}
		for _, tr := range transitions(loc, from, from.AddDate(1, 0, 0)) {
			lo, hi := tr.Add(-16*24*time.Hour), tr.Add(4*24*time.Hour)
			for _, spec := range specs {
				z, err := Parse(spec, loc)
				if err != nil {
					t.Fatalf("Parse(%q): %v", spec, err)
				}
				fires := oracleFires(z.cron, loc, lo, hi)
				for at := lo; at.Before(hi); at = at.Add(7*time.Hour + 13*time.Minute + 7*time.Second) {
					got := z.Next(at)
					i, _ := slices.BinarySearchFunc(fires, at, func(f, at time.Time) int {
						if f.After(at) {
							return 1
						}
						return -1
					})
					if i < len(fires) && !got.Equal(fires[i]) || i == len(fires) && !got.After(hi) {
						t.Fatalf("Parse(%q, %s).Next(%s) = %s; the oracle's fires: %s", spec, zone,
							at.In(loc).Format(time.RFC3339), got.Format(time.RFC3339), formatTimes(fires))
					}
				}
			}
		}
	}
}

// TestOracleRandomSpecs checks generated specs, including seconds and the
// day extensions, around one spring and one autumn change per zone.
func TestOracleRandomSpecs(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	specs := make([]string, 80)
	for i := range specs {
		specs[i] = randomSpec(rng, true)
	}
	for _, zone := range oracleZones {
		loc := mustZone(t, zone)
		from := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		if zone == "America/Sao_Paulo" {
			from = time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)
		}
		ts := transitions(loc, from, from.AddDate(1, 0, 0))
		for i, spec := range specs {
			z, err := Parse(spec, loc)
			if err != nil {
				t.Fatalf("Parse(%q): %v", spec, err)
			}
			if len(ts) == 0 {
				continue
			}
			tr := ts[i%len(ts)]
			compareWithOracle(t, z, tr.Add(-50*time.Hour), tr.Add(50*time.Hour))
		}
	}
}

func compareWithOracle(t *testing.T, z *Zoned, from, to time.Time) {
	t.Helper()
	want := oracleFires(z.cron, z.Location(), from, to)
	var got []time.Time
	for at := from; ; {
		at = z.Next(at)
		if at.IsZero() || at.After(to) {
			break
		}
		got = append(got, at)
		if len(got) > 10000 {
			t.Fatalf("%q: runaway", z)
		}
	}
	if !slices.EqualFunc(got, want, time.Time.Equal) {
		t.Errorf("Parse(%q, %s) in (%s, %s]:\n got %s\nwant %s", z, z.Location(),
			from.In(z.Location()).Format(time.RFC3339), to.In(z.Location()).Format(time.RFC3339),
			formatTimes(got), formatTimes(want))
	}
}

func formatTimes(ts []time.Time) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = t.Format(time.RFC3339)
	}
	return strings.Join(s, " ")
}

// randomSpec builds a five-field spec (seconds field zero, so the oracle can
// step by minutes) biased towards the small hours where transitions happen.
// Without extensions and with plain day fields it stays within robfig's
// dialect and semantics.
func randomSpec(rng *rand.Rand, extensions bool) string {
	list := func(lo, hi, maxN int) string {
		n := 1 + rng.IntN(maxN)
		parts := make([]string, n)
		for i := range parts {
			a := lo + rng.IntN(hi-lo+1)
			switch rng.IntN(4) {
			case 0:
				b := a + rng.IntN(hi-a+1)
				parts[i] = fmt.Sprintf("%d-%d", a, b)
			case 1:
				parts[i] = fmt.Sprintf("%d/%d", a, 1+rng.IntN(hi-lo+1))
			default:
				parts[i] = fmt.Sprint(a)
			}
		}
		return strings.Join(parts, ",")
	}
	star := func(f string, p int) string {
		if rng.IntN(p) == 0 {
			return "*"
		}
		return f
	}
	minute := star(list(0, 59, 3), 4)
	if rng.IntN(4) == 0 {
		minute = fmt.Sprintf("*/%d", 1+rng.IntN(30))
	}
	hour := star(list(0, 4, 3), 3)
	if rng.IntN(5) == 0 {
		hour = fmt.Sprintf("*/%d", 1+rng.IntN(6))
	}
	dom := star(list(1, 31, 2), 2)
	dow := star(list(0, 6, 2), 2)
	if extensions {
		switch rng.IntN(8) {
		case 0:
			dom = "L"
		case 1:
			dom = fmt.Sprintf("%dW", 1+rng.IntN(31))
		case 2:
			dow = fmt.Sprintf("%dL", rng.IntN(8))
		case 3:
			dow = fmt.Sprintf("%d#%d", rng.IntN(8), 1+rng.IntN(5))
		case 4:
			dom = "*/" + fmt.Sprint(1+rng.IntN(10))
		case 5:
			dom = "LW"
		}
	}
	return strings.Join([]string{minute, hour, dom, star(list(1, 12, 3), 2), dow}, " ")
}

// TestAgreesWithRobfig compares Next with robfig's SpecSchedule in UTC,
// where no daylight-saving rule applies, on specs in robfig's dialect whose
// day fields are exactly "*" or do not begin with "*" (robfig treats "*/2"
// as a restriction when combining the day fields; Vixie cron does not).
func TestAgreesWithRobfig(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	parser := cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)
	compared := 0
	for range 2000 {
		spec := randomSpec(rng, false)
		theirs, err := parser.Parse(spec)
		if err != nil {
			continue // e.g. robfig rejects a descending range that we wrap around
		}
		ours, err := Parse(spec, time.UTC)
		if err != nil {
			t.Fatalf("Parse(%q): %v (robfig accepts it)", spec, err)
		}
		at := time.Date(2020+rng.IntN(10), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), rng.IntN(24), rng.IntN(60), rng.IntN(60), 0, time.UTC)
		for range 5 {
			want := theirs.Next(at)
			if want.IsZero() {
				break // robfig gives up after five years
			}
			got := ours.Next(at)
			if !got.Equal(want) {
				t.Fatalf("%q after %s: got %s, robfig %s", spec, at, got, want)
			}
			compared++
			at = got
		}
	}
	if compared < 5000 {
		t.Errorf("only %d comparisons", compared)
	}
}

// TestCalendarCycle checks the fact neverFires and the search bound rest
// on: within any 400 years every month starts on every weekday, with every
// length it can have.
func TestCalendarCycle(t *testing.T) {
	type key struct{ m, n, wd1 int }
	seen := map[key]bool{}
	for y := int64(2000); y < 2400; y++ {
		for m := 1; m <= 12; m++ {
			seen[key{m, daysIn(y, m), weekday(daysFromCivil(y, m, 1))}] = true
		}
	}
	if len(seen) != 12*7+7 { // February has two lengths
		t.Errorf("%d (month, length, weekday) combinations in 400 years, want %d", len(seen), 12*7+7)
	}
	// The integer calendar agrees with package time.
	for days := int64(-800000); days < 800000; days += 37 {
		y, m, d := civil(days)
		want := time.Unix(days*secondsPerDay, 0).UTC()
		if int(y) != want.Year() || m != int(want.Month()) || d != want.Day() || weekday(days) != int(want.Weekday()) {
			t.Fatalf("day %d: civil %d-%d-%d weekday %d, want %s", days, y, m, d, weekday(days), want)
		}
		if back := daysFromCivil(y, m, d); back != days {
			t.Fatalf("daysFromCivil(civil(%d)) = %d", days, back)
		}
	}
}
