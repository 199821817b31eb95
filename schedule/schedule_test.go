package schedule

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSyntax pins what each piece of syntax means, in UTC (the daylight-saving
// rules have their own table).
func TestSyntax(t *testing.T) {
	for _, tc := range []struct {
		spec, from string
		want       []string
	}{
		// Day-of-week: 0 and 7 are Sunday, in ranges too; names in any case.
		{"0 0 * * 7", "2025-01-01T00:00:00Z", []string{"2025-01-05T00:00:00Z", "2025-01-12T00:00:00Z"}},
		{"0 0 * * 5-7", "2025-01-01T00:00:00Z", []string{"2025-01-03T00:00:00Z", "2025-01-04T00:00:00Z", "2025-01-05T00:00:00Z", "2025-01-10T00:00:00Z"}},
		{"0 0 * * 0-7", "2025-01-01T00:00:00Z", []string{"2025-01-02T00:00:00Z", "2025-01-03T00:00:00Z"}},
		{"0 0 * * 1-7/2", "2025-01-01T00:00:00Z", []string{"2025-01-03T00:00:00Z", "2025-01-05T00:00:00Z", "2025-01-06T00:00:00Z", "2025-01-08T00:00:00Z"}},
		{"0 0 * * MONDAY", "2025-01-01T00:00:00Z", []string{"2025-01-06T00:00:00Z"}},
		{"0 0 * * mon", "2025-01-01T00:00:00Z", []string{"2025-01-06T00:00:00Z"}},
		{"0 0 * * Tue-thu", "2025-01-01T00:00:00Z", []string{"2025-01-02T00:00:00Z", "2025-01-07T00:00:00Z"}},
		{"0 0 * * Saturday,sun", "2025-01-01T00:00:00Z", []string{"2025-01-04T00:00:00Z", "2025-01-05T00:00:00Z", "2025-01-11T00:00:00Z"}},
		// Months by name, full or short.
		{"0 0 1 JANUARY *", "2025-01-01T00:00:00Z", []string{"2026-01-01T00:00:00Z"}},
		{"0 0 1 jan,Jul *", "2025-01-01T00:00:00Z", []string{"2025-07-01T00:00:00Z", "2026-01-01T00:00:00Z"}},
		{"0 0 1 september *", "2025-01-01T00:00:00Z", []string{"2025-09-01T00:00:00Z"}},
		// Wrap-around ranges, with the step counting across the wrap.
		{"0 0 * * FRI-MON", "2025-01-01T00:00:00Z", []string{"2025-01-03T00:00:00Z", "2025-01-04T00:00:00Z", "2025-01-05T00:00:00Z", "2025-01-06T00:00:00Z", "2025-01-10T00:00:00Z"}},
		{"0 0 * * 7-1", "2025-01-01T00:00:00Z", []string{"2025-01-05T00:00:00Z", "2025-01-06T00:00:00Z", "2025-01-12T00:00:00Z"}},
		{"0 22-2 * * *", "2025-01-01T00:00:00Z", []string{"2025-01-01T01:00:00Z", "2025-01-01T02:00:00Z", "2025-01-01T22:00:00Z", "2025-01-01T23:00:00Z", "2025-01-02T00:00:00Z"}},
		{"0 22-2/2 * * *", "2025-01-01T00:00:00Z", []string{"2025-01-01T02:00:00Z", "2025-01-01T22:00:00Z", "2025-01-02T00:00:00Z", "2025-01-02T02:00:00Z"}},
		{"0 0 30-2 * *", "2025-01-01T00:00:00Z", []string{"2025-01-02T00:00:00Z", "2025-01-30T00:00:00Z", "2025-01-31T00:00:00Z", "2025-02-01T00:00:00Z", "2025-02-02T00:00:00Z", "2025-03-01T00:00:00Z"}},
		{"0 0 1 NOV-FEB *", "2025-01-01T00:00:00Z", []string{"2025-02-01T00:00:00Z", "2025-11-01T00:00:00Z", "2025-12-01T00:00:00Z", "2026-01-01T00:00:00Z"}},
		{"50-10/10 * * * *", "2025-01-01T00:00:00Z", []string{"2025-01-01T00:10:00Z", "2025-01-01T00:50:00Z", "2025-01-01T01:00:00Z"}},
		// L, LW, nW in day-of-month.
		{"0 0 L * *", "2025-01-01T00:00:00Z", []string{"2025-01-31T00:00:00Z", "2025-02-28T00:00:00Z", "2025-03-31T00:00:00Z", "2025-04-30T00:00:00Z"}},
		{"0 0 L 2 *", "2027-03-01T00:00:00Z", []string{"2028-02-29T00:00:00Z", "2029-02-28T00:00:00Z"}},
		{"0 0 LW * *", "2025-05-01T00:00:00Z", []string{"2025-05-30T00:00:00Z", "2025-06-30T00:00:00Z", "2025-07-31T00:00:00Z", "2025-08-29T00:00:00Z"}},
		{"0 0 15W * *", "2025-03-01T00:00:00Z", []string{"2025-03-14T00:00:00Z", "2025-04-15T00:00:00Z", "2025-05-15T00:00:00Z", "2025-06-16T00:00:00Z"}},
		{"0 0 1W * *", "2025-01-01T00:00:00Z", []string{"2025-02-03T00:00:00Z", "2025-03-03T00:00:00Z", "2025-04-01T00:00:00Z"}},
		{"0 0 31W * *", "2025-07-01T00:00:00Z", []string{"2025-07-31T00:00:00Z", "2025-08-29T00:00:00Z", "2025-10-31T00:00:00Z"}},
		{"0 0 1,L * *", "2025-01-01T00:00:00Z", []string{"2025-01-31T00:00:00Z", "2025-02-01T00:00:00Z", "2025-02-28T00:00:00Z"}},
		{"0 0 lw * *", "2025-05-01T00:00:00Z", []string{"2025-05-30T00:00:00Z"}},
		// nL and #k in day-of-week.
		{"0 0 * * 5L", "2025-01-01T00:00:00Z", []string{"2025-01-31T00:00:00Z", "2025-02-28T00:00:00Z", "2025-03-28T00:00:00Z"}},
		{"0 0 * * FRIL", "2025-01-01T00:00:00Z", []string{"2025-01-31T00:00:00Z"}},
		{"0 1 * 3,10 7L", "2025-01-01T00:00:00Z", []string{"2025-03-30T01:00:00Z", "2025-10-26T01:00:00Z"}}, // the EU change days
		{"0 0 * * MON#2", "2025-01-01T00:00:00Z", []string{"2025-01-13T00:00:00Z", "2025-02-10T00:00:00Z", "2025-03-10T00:00:00Z"}},
		{"0 0 * * 1#5", "2025-01-01T00:00:00Z", []string{"2025-03-31T00:00:00Z", "2025-06-30T00:00:00Z", "2025-09-29T00:00:00Z"}},
		{"0 0 * * 7#1,sat#3", "2025-01-01T00:00:00Z", []string{"2025-01-05T00:00:00Z", "2025-01-18T00:00:00Z", "2025-02-02T00:00:00Z"}},
		// Vixie cron: both day fields restricted means either; a field
		// beginning with * (or ?) means both must match.
		{"0 0 1,15 * MON", "2025-01-01T00:00:00Z", []string{"2025-01-06T00:00:00Z", "2025-01-13T00:00:00Z", "2025-01-15T00:00:00Z", "2025-01-20T00:00:00Z"}},
		{"0 0 1-7 * */7", "2025-01-01T00:00:00Z", []string{"2025-01-05T00:00:00Z", "2025-02-02T00:00:00Z", "2025-03-02T00:00:00Z"}},
		{"0 0 */10 * MON", "2025-01-01T00:00:00Z", []string{"2025-03-31T00:00:00Z", "2025-04-21T00:00:00Z", "2025-07-21T00:00:00Z"}},
		{"0 0 ? * MON", "2025-01-01T00:00:00Z", []string{"2025-01-06T00:00:00Z"}},
		{"0 0 13 * ?", "2025-01-01T00:00:00Z", []string{"2025-01-13T00:00:00Z"}},
		{"0 0 13 * FRI", "2025-01-01T00:00:00Z", []string{"2025-01-03T00:00:00Z", "2025-01-10T00:00:00Z", "2025-01-13T00:00:00Z"}},
		{"0 0 L * 5L", "2025-01-01T00:00:00Z", []string{"2025-01-31T00:00:00Z", "2025-02-28T00:00:00Z", "2025-03-28T00:00:00Z", "2025-03-31T00:00:00Z"}},
		{"0 0 29 2 MON#5", "2025-01-01T00:00:00Z", []string{"2028-02-29T00:00:00Z"}},
		{"0 0 ? 2 MON#5", "2025-01-01T00:00:00Z", []string{"2044-02-29T00:00:00Z", "2072-02-29T00:00:00Z", "2112-02-29T00:00:00Z"}},
		// Seconds come first.
		{"*/20 * * * * *", "2025-01-01T00:00:00Z", []string{"2025-01-01T00:00:20Z", "2025-01-01T00:00:40Z", "2025-01-01T00:01:00Z"}},
		{"30 0 12 * * *", "2025-01-01T00:00:00Z", []string{"2025-01-01T12:00:30Z"}},
		{"0 0 12 * * 3", "2025-01-01T00:00:00Z", []string{"2025-01-01T12:00:00Z"}},
		// Descriptors.
		{"@yearly", "2025-06-01T00:00:00Z", []string{"2026-01-01T00:00:00Z"}},
		{"@annually", "2025-06-01T00:00:00Z", []string{"2026-01-01T00:00:00Z"}},
		{"@monthly", "2025-06-15T00:00:00Z", []string{"2025-07-01T00:00:00Z"}},
		{"@weekly", "2025-01-01T00:00:00Z", []string{"2025-01-05T00:00:00Z"}},
		{"@daily", "2025-01-01T10:00:00Z", []string{"2025-01-02T00:00:00Z"}},
		{"@midnight", "2025-01-01T10:00:00Z", []string{"2025-01-02T00:00:00Z"}},
		{"@hourly", "2025-01-01T10:20:00Z", []string{"2025-01-01T11:00:00Z"}},
		{"@every 90s", "2025-01-01T00:00:00.5Z", []string{"2025-01-01T00:01:30Z", "2025-01-01T00:03:00Z"}},
		{"@every 1h30m", "2025-01-01T00:10:00Z", []string{"2025-01-01T01:40:00Z"}},
		// Rare and far.
		{"0 0 29 2 *", "2025-01-01T00:00:00Z", []string{"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"}},
		{"0 0 29 2 *", "2096-03-01T00:00:00Z", []string{"2104-02-29T00:00:00Z"}},
		{"0 0 31 * *", "2025-01-31T00:00:00Z", []string{"2025-03-31T00:00:00Z", "2025-05-31T00:00:00Z"}},
		// Whitespace is free.
		{"  0\t0  1 1 *  ", "2025-01-01T00:00:00Z", []string{"2026-01-01T00:00:00Z"}},
		{"CRON_TZ=UTC\t0 0 1 1 *", "2025-01-01T00:00:00Z", []string{"2026-01-01T00:00:00Z"}},
	} {
		if got := nextN(t, tc.spec, "UTC", tc.from, len(tc.want)); strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("Parse(%q) from %s:\n got %v\nwant %v", tc.spec, tc.from, got, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ spec, want string }{
		{"", "empty spec"},
		{"  \t ", "empty spec"},
		{"0 0 * * 8", `day-of-week: "8" is out of range 0-7`},
		{"60 * * * *", `minute: "60" is out of range 0-59`},
		{"0 24 * * *", `hour: "24" is out of range 0-23`},
		{"0 0 0 * *", `day-of-month: "0" is out of range 1-31`},
		{"0 0 32 * *", `day-of-month: "32" is out of range 1-31`},
		{"0 0 1 13 *", `month: "13" is out of range 1-12`},
		{"60 0 0 1 1 *", `second: "60" is out of range 0-59`},
		{"0 0 * * 1-8", `day-of-week: "8" in "1-8" is out of range 0-7`},
		{"0 0 * * 99999999999999999999999", `day-of-week: "99999999999999999999999" is out of range 0-7`},
		{"0 0 * FOO *", `month: "FOO" is not a month: use 1-12, JAN-DEC or JANUARY-DECEMBER`},
		{"0 0 * * FUNDAY", `day-of-week: "FUNDAY" is not a day of the week`},
		{"0 0 * * MO", `day-of-week: "MO" is not a day of the week`},
		{"0 MON * * *", `hour: "MON" is not a number in 0-23`},
		{"0 0 * *", "expected 5 fields (minute hour day-of-month month day-of-week), or 6 with seconds first, found 4"},
		{"0 0 0 * * * 2025", "found 7"},
		{"* 5 * * * 3", `ambiguous 6-field spec "* 5 * * * 3": with seconds first (our reading, as in Quartz and robfig/cron) it is second=* minute=5 hour=* day-of-month=* month=* day-of-week=3; with seconds last (aiocron, croniter) it would be minute=* hour=5 day-of-month=* month=* day-of-week=* second=3; write the seconds-last reading as "3 * 5 * * *"`},
		{"* * * * * 0", "ambiguous 6-field spec"},
		{"*/0 * * * *", `minute: "*/0": the step after / must be a number from 1 to 60`},
		{"*/61 * * * *", `minute: "*/61": the step after / must be a number from 1 to 60`},
		{"0 0 * * */8", `day-of-week: "*/8": the step after / must be a number from 1 to 7`},
		{"1/2/3 * * * *", `minute: "1/2/3": the step after / must be a number`},
		{"*-5 * * * *", `minute: "*" in "*-5" is not a number in 0-59`},
		{"0 0 L-3 * *", `day-of-month: "L-3": after L only W is allowed`},
		{"0 0 W * *", `day-of-month: "W": W follows a single day`},
		{"0 0 1-5W * *", `day-of-month: "1-5W": W follows a single day`},
		{"0 0 32W * *", `day-of-month: "32" in "32W" is out of range 1-31`},
		{"0 0 * * L", `day-of-week: "L": L needs a day before it`},
		{"0 0 * * 8L", `day-of-week: "8" in "8L" is out of range 0-7`},
		{"0 0 * * MON#6", `day-of-week: "MON#6": the occurrence after # must be 1-5`},
		{"0 0 * * MON#", `day-of-week: "MON#": the occurrence after # must be 1-5`},
		{"0 0 * * MON#+1", `day-of-week: "MON#+1": the occurrence after # must be 1-5`},
		{"0 0 * * FUN#1", `day-of-week: "FUN" in "FUN#1" is not a day of the week`},
		{"0 ? * * *", `hour: "?" is only allowed in day-of-month and day-of-week`},
		{"0 0 ?/2 * *", `day-of-month: "?/2": ? stands alone for the whole field`},
		{"1,,2 * * * *", `minute: empty list element in "1,,2"`},
		{"1,2, * * * *", `minute: empty list element in "1,2,"`},
		{"@every 500ms", "@every 500ms: the interval must be at least 1s"},
		{"@every 0s", "at least 1s"},
		{"@every -1h", "at least 1s"},
		{"@every 1500ms", "@every 1500ms: the interval must be a whole number of seconds"},
		{"@every", "@every takes one duration"},
		{"@every 1h 2h", "@every takes one duration"},
		{"@every banana", `@every: time: invalid duration "banana"`},
		{"@reboot", `@reboot: use "@start"`},
		{"@fortnightly", `unknown descriptor "@fortnightly"`},
		{"@DAILY", `unknown descriptor "@DAILY"`},
		{"@daily 0", `@daily takes no fields, found "0"`},
		{"CRON_TZ=Mars/Olympus_Mons 0 * * * *", "CRON_TZ=Mars/Olympus_Mons: unknown time zone Mars/Olympus_Mons"},
		{"CRON_TZ= 0 * * * *", "CRON_TZ=: missing zone name"},
		{"CRON_TZ=UTC", "CRON_TZ=UTC: missing schedule after the zone"},
		{"CRON_TZ=UTC CRON_TZ=UTC 0 * * * *", "more than one CRON_TZ= zone"},
		{"TZ=../../etc/passwd 0 * * * *", "TZ=../../etc/passwd:"},
	} {
		z, err := Parse(tc.spec, time.UTC)
		if err == nil {
			t.Errorf("Parse(%q) = %v, want an error containing %q", tc.spec, z, tc.want)
			continue
		}
		if z != nil {
			t.Errorf("Parse(%q) returned a schedule with its error", tc.spec)
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) error:\n%s\nwant it to contain\n%s", tc.spec, err, tc.want)
		}
	}
}

func TestNever(t *testing.T) {
	for _, tc := range []struct {
		spec  string
		never bool
	}{
		{"0 0 30 2 *", true},
		{"0 0 31 4,6,9,11 *", true},
		{"0 0 31 APR *", true},
		{"0 0 30,31 2 ?", true},
		{"0 0 30W 2 *", true},
		{"0 0 1-7 2 */7", false},
		{"0 0 29 2 *", false},
		{"0 0 L 2 *", false},
		{"0 0 30 2 MON", false}, // either day field: every Monday in February
		{"0 0 */30 2 *", false}, // a field beginning with *: days 1 and 31, so the 1st
		{"0 0 ? 2 MON#5", false},
		{"0 0 31 * *", false},
		{"@every 1s", false},
		{"@start", false},
	} {
		z, err := Parse(tc.spec, time.UTC)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.spec, err)
		}
		if z.Never() != tc.never {
			t.Errorf("Parse(%q).Never() = %v, want %v", tc.spec, z.Never(), tc.never)
		}
		if tc.never && !z.Next(time.Now()).IsZero() {
			t.Errorf("Parse(%q).Next is not zero", tc.spec)
		}
	}
}

func TestAtStart(t *testing.T) {
	berlin := mustZone(t, "Europe/Berlin")
	for _, spec := range []string{"@start", "CRON_TZ=UTC @start"} {
		z, err := Parse(spec, berlin)
		if err != nil {
			t.Fatal(err)
		}
		if !z.AtStart() || z.Never() {
			t.Errorf("Parse(%q): AtStart %v Never %v, want true false", spec, z.AtStart(), z.Never())
		}
		if next := z.Next(time.Now()); !next.IsZero() {
			t.Errorf("Parse(%q).Next = %s, want the zero time", spec, next)
		}
	}
	z, _ := Parse("@daily", berlin)
	if z.AtStart() {
		t.Error("@daily reports AtStart")
	}
}

func TestZoneAndString(t *testing.T) {
	berlin := mustZone(t, "Europe/Berlin")
	z, err := Parse("0 9 * * *", nil)
	if err != nil {
		t.Fatal(err)
	}
	if z.Location() != time.Local {
		t.Errorf("nil location: got %s, want Local", z.Location())
	}
	z, _ = Parse("0 9 * * *", berlin)
	if z.Location() != berlin || z.String() != "0 9 * * *" {
		t.Errorf("got %s %q", z.Location(), z)
	}
	const spec = "CRON_TZ=America/New_York 0 9 * * *"
	z, _ = Parse(spec, berlin)
	if z.Location().String() != "America/New_York" || z.String() != spec {
		t.Errorf("got %s %q", z.Location(), z)
	}
	// Next answers in the schedule's zone whatever zone t is in.
	next := z.Next(time.Date(2025, 6, 1, 12, 0, 0, 0, berlin))
	if got := next.Format(time.RFC3339); got != "2025-06-01T09:00:00-04:00" || next.Location() != z.Location() {
		t.Errorf("Next = %s in %s", got, next.Location())
	}
	// So does @every, which is not wall-clock based.
	z, _ = Parse("@every 1h", berlin)
	if next := z.Next(time.Now().UTC()); next.Location() != berlin {
		t.Errorf("@every: Next in %s", next.Location())
	}
}

func TestStrictlyAfter(t *testing.T) {
	z, _ := Parse("0 * * * *", time.UTC)
	at := mustTime(t, "2025-01-01T10:00:00Z")
	if got := z.Next(at); !got.Equal(at.Add(time.Hour)) {
		t.Errorf("Next(a fire instant) = %s, want the following one", got)
	}
	if got := z.Next(at.Add(-time.Nanosecond)); !got.Equal(at) {
		t.Errorf("Next(just before) = %s, want %s", got, at)
	}
	if got := z.Next(at.Add(time.Nanosecond)); !got.Equal(at.Add(time.Hour)) {
		t.Errorf("Next(just after) = %s", got)
	}
	// Before 1970 too (negative Unix times).
	at = mustTime(t, "1969-12-31T23:59:59.5Z")
	if got := z.Next(at); got.Format(time.RFC3339) != "1970-01-01T00:00:00Z" {
		t.Errorf("Next(%s) = %s", at, got)
	}
}

// TestEveryIgnoresDST: @every counts real time, so it runs through the
// repeated hour at the same interval.
func TestEveryIgnoresDST(t *testing.T) {
	got := nextN(t, "@every 1h", "America/New_York", "2025-11-02T00:30:00-04:00", 3)
	want := []string{"2025-11-02T01:30:00-04:00", "2025-11-02T01:30:00-05:00", "2025-11-02T02:30:00-05:00"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestExtremeInstants(t *testing.T) {
	berlin := mustZone(t, "Europe/Berlin")
	z, _ := Parse("30 2 * * *", berlin)
	if got := z.Next(time.Time{}); got.IsZero() || got.Year() != 1 {
		t.Errorf("Next(zero time) = %s", got)
	}
	if got := z.Next(time.Date(9999, 12, 31, 12, 0, 0, 0, time.UTC)); got.Year() != 10000 || got.YearDay() != 1 || got.Hour() != 2 || got.Minute() != 30 {
		t.Errorf("Next(9999-12-31) = %s", got)
	}
	if got := z.Next(time.Unix(1<<62, 0)); !got.IsZero() {
		t.Errorf("Next(far future) = %s, want the zero time", got)
	}
	if got := z.Next(time.Unix(-1<<62, 0)); got.IsZero() || got.Hour() != 2 || got.Minute() != 30 {
		t.Errorf("Next(far past) = %s", got)
	}
}

// TestNextDoesNotAllocate: the loop calls Next once per fire for up to a
// million jobs.
func TestNextDoesNotAllocate(t *testing.T) {
	for _, tc := range []struct{ spec, zone, at string }{
		{"*/5 * * * *", "UTC", "2025-01-01T00:00:00Z"},
		{"30 2 * * *", "Europe/Berlin", "2025-03-29T12:00:00Z"},
		{"30 1 * * *", "America/New_York", "2025-11-02T05:45:00Z"},
		{"0 0 ? 2 MON#5", "Australia/Lord_Howe", "2025-01-01T00:00:00Z"},
		{"0 0 L * 5L", "America/Sao_Paulo", "2018-11-01T00:00:00Z"},
		{"@every 1m", "Europe/Riga", "2025-01-01T00:00:00Z"},
	} {
		z, err := Parse(tc.spec, mustZone(t, tc.zone))
		if err != nil {
			t.Fatal(err)
		}
		at := mustTime(t, tc.at)
		if n := testing.AllocsPerRun(100, func() { z.Next(at) }); n != 0 {
			t.Errorf("%q in %s: %.1f allocations per Next", tc.spec, tc.zone, n)
		}
	}
}

// TestConcurrentNext: one Zoned serves many jobs at once.
func TestConcurrentNext(t *testing.T) {
	z, _ := Parse("*/7 * * * * *", mustZone(t, "Europe/Berlin"))
	at := mustTime(t, "2025-10-26T00:00:00Z")
	want := z.Next(at)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				if got := z.Next(at); !got.Equal(want) {
					t.Errorf("got %s, want %s", got, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestNextIsBounded: Next answers in a bounded number of steps even when
// nothing matches for 400 years. In Havana daylight saving time starts at
// 00:00 on the second Sunday of March, so that wall-clock time never exists
// and a wildcard-hour job at exactly that time never runs.
func TestNextIsBounded(t *testing.T) {
	z, err := Parse("0 */24 * 3 0#2", mustZone(t, "America/Havana"))
	if err != nil {
		t.Fatal(err)
	}
	if z.Never() {
		t.Fatal("Never is true, but the calendar does match")
	}
	next, steps := z.cron.next(mustTime(t, "2025-01-01T00:00:00Z"), z.Location())
	if !next.IsZero() {
		t.Errorf("Next = %s, want the zero time", next)
	}
	if steps > maxSteps {
		t.Errorf("%d steps, want at most %d", steps, maxSteps)
	}
	t.Logf("%d steps for a fruitless 401-year search", steps)
}
