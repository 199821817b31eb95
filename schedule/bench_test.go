package schedule

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
)

var sink time.Time

// benchInstants are 1024 instants spread over 2025, so that each benchmark
// sees a realistic mix of positions (including the DST changes) rather than
// one warm path.
func benchInstants() []time.Time {
	rng := rand.New(rand.NewPCG(7, 8))
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	ts := make([]time.Time, 1024)
	for i := range ts {
		ts[i] = time.Unix(start+rng.Int64N(365*secondsPerDay), rng.Int64N(1e9))
	}
	return ts
}

// BenchmarkNext compares our Next with robfig's SpecSchedule.Next on the
// specs both understand, in the same zones.
func BenchmarkNext(b *testing.B) {
	robfig := cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
	instants := benchInstants()
	for _, bc := range []struct{ name, spec, zone string }{
		{"every-second/UTC", "* * * * * *", "UTC"},
		{"every-5-minutes/UTC", "*/5 * * * *", "UTC"},
		{"every-5-minutes/Berlin", "*/5 * * * *", "Europe/Berlin"},
		{"hourly/New_York", "@hourly", "America/New_York"},
		{"weekdays-9am/New_York", "0 9 * * MON-FRI", "America/New_York"},
		{"daily-0230/Berlin", "30 2 * * *", "Europe/Berlin"},
		{"monthly/Sydney", "0 0 1 * *", "Australia/Sydney"},
		{"leap-day/Berlin", "0 0 29 2 *", "Europe/Berlin"},
	} {
		loc := mustZone(b, bc.zone)
		ours, err := Parse(bc.spec, loc)
		if err != nil {
			b.Fatal(err)
		}
		theirs, err := robfig.Parse("CRON_TZ=" + bc.zone + " " + bc.spec)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name+"/ours", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				sink = ours.Next(instants[i&1023])
				i++
			}
		})
		b.Run(bc.name+"/robfig", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				sink = theirs.Next(instants[i&1023])
				i++
			}
		})
	}
}

// BenchmarkNextExtensions covers syntax robfig does not have.
func BenchmarkNextExtensions(b *testing.B) {
	instants := benchInstants()
	for _, bc := range []struct{ name, spec, zone string }{
		{"last-friday/Berlin", "0 17 * * 5L", "Europe/Berlin"},
		{"last-weekday/New_York", "0 9 LW * *", "America/New_York"},
		{"second-monday/Lord_Howe", "0 2 * * MON#2", "Australia/Lord_Howe"},
		{"fifth-monday-of-february/UTC", "0 0 ? 2 MON#5", "UTC"}, // every 28 years or so
	} {
		z, err := Parse(bc.spec, mustZone(b, bc.zone))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				sink = z.Next(instants[i&1023])
				i++
			}
		})
	}
}

// BenchmarkNextNoMatch is the worst case: a spec whose calendar matches only
// wall-clock times that never exist (00:00 on the day Havana's clocks go
// forward at midnight), searched for 401 years.
func BenchmarkNextNoMatch(b *testing.B) {
	z, err := Parse("0 */24 * 3 0#2", mustZone(b, "America/Havana"))
	if err != nil {
		b.Fatal(err)
	}
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		sink = z.Next(at)
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("0 9-17/2 1-7,L * MON-FRI", time.UTC); err != nil {
			b.Fatal(err)
		}
	}
}
