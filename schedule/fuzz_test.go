package schedule

import (
	"testing"
	"time"
)

// maxSteps bounds the loop iterations of one Next (zone periods visited
// plus months examined). A search that finds nothing spans 401 years: about
// 4,800 months plus up to three zone periods a year where daylight saving
// applies (Go adds a pseudo-period at each new year past its tables), so
// about 7,300 at most. BenchmarkNextNoMatch times such a search.
const maxSteps = 10000

// FuzzParse: no input may panic or hang; every accepted spec answers Next in
// a bounded number of steps with an instant strictly after its argument that
// matches the spec, or the zero time only when the spec cannot fire. The
// seed corpus is in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"0 0 * * *", "*/5 * * * *", "30 2 * * *", "0 0 30 2 *", "* 5 * * * 3", "@every 90s",
		"@start", "CRON_TZ=Australia/Lord_Howe 15 2 * * *", "0 0 L * 5L", "0 0 LW * MON#2",
		"0 0 15W 1-12/3 FRI-MON", "0 22-2/3 30-2 NOV-FEB 7", "0 0 ? 2 MON#5",
	} {
		f.Add(s)
	}
	berlin := mustZone(f, "Europe/Berlin")
	lordHowe := mustZone(f, "Australia/Lord_Howe")
	froms := []time.Time{
		mustTime(f, "2025-03-30T00:59:30Z"), // Berlin's spring change is at 01:00Z
		mustTime(f, "2025-10-26T00:30:00Z"), // Berlin's autumn change is at 01:00Z
		mustTime(f, "2025-10-04T15:29:59Z"), // Lord Howe's spring change is at 15:30Z
		mustTime(f, "2024-02-28T23:59:59.999Z"),
		mustTime(f, "2040-12-30T23:00:00Z"), // past the tzdata tables, in a leap year
		{},
	}
	f.Fuzz(func(t *testing.T, spec string) {
		for _, loc := range []*time.Location{time.UTC, berlin, lordHowe} {
			z, err := Parse(spec, loc)
			if err != nil {
				if z != nil || err.Error() == "" {
					t.Fatalf("Parse(%q): schedule %v with error %q", spec, z, err)
				}
				return
			}
			if z.String() != spec {
				t.Fatalf("String() = %q, want %q", z, spec)
			}
			for _, from := range froms {
				at := from
				for range 3 {
					next := z.Next(at)
					if z.cron != nil && !z.never {
						again, steps := z.cron.next(at, z.Location())
						if steps > maxSteps {
							t.Fatalf("Parse(%q).Next(%s) took %d steps", spec, at, steps)
						}
						if !again.Equal(next) {
							t.Fatalf("Next is not deterministic: %s then %s", next, again)
						}
					}
					if next.IsZero() {
						// Without daylight saving every calendar match is an
						// instant, so only Never and @start end a schedule.
						if z.Location() == time.UTC && !z.Never() && !z.AtStart() {
							t.Fatalf("Parse(%q).Next(%s) is zero but Never() is false", spec, at)
						}
						break
					}
					if !next.After(at) || next.Location() != z.Location() || next.Nanosecond() != 0 {
						t.Fatalf("Parse(%q).Next(%s) = %s", spec, at, next)
					}
					if z.cron != nil && z.Location() == time.UTC && !oracleMatch(z.cron, next) {
						t.Fatalf("Parse(%q).Next(%s) = %s, which the spec does not match", spec, at, next)
					}
					at = next
				}
			}
		}
	})
}
