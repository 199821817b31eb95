package schedule_test

import (
	"fmt"
	"time"
	_ "time/tzdata" // the examples must not depend on the host's zone database

	"github.com/scheduler-dev/scheduler/schedule"
)

func ExampleParse() {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	s, err := schedule.Parse("0 9 * * MON-FRI", berlin)
	if err != nil {
		panic(err)
	}
	t := time.Date(2025, 3, 28, 12, 0, 0, 0, berlin) // a Friday
	for range 3 {
		t = s.Next(t)
		fmt.Println(t.Format(time.RFC3339))
	}
	// Output:
	// 2025-03-31T09:00:00+02:00
	// 2025-04-01T09:00:00+02:00
	// 2025-04-02T09:00:00+02:00
}

// A job at a wall-clock time that the spring change skips runs once, at the
// first instant after the gap.
func ExampleZoned_Next_springForward() {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	s, _ := schedule.Parse("30 2 * * *", berlin)
	t := time.Date(2025, 3, 29, 12, 0, 0, 0, berlin)
	for range 3 {
		t = s.Next(t)
		fmt.Println(t.Format(time.RFC3339))
	}
	// Output:
	// 2025-03-30T03:00:00+02:00
	// 2025-03-31T02:30:00+02:00
	// 2025-04-01T02:30:00+02:00
}

// In the hour the autumn change repeats, a job with a fixed hour runs once,
// in the first occurrence; a job with a wildcard hour runs through both.
func ExampleZoned_Next_fallBack() {
	ny, _ := time.LoadLocation("America/New_York")
	from := time.Date(2025, 11, 2, 0, 50, 0, 0, ny)
	for _, spec := range []string{"30 1 * * *", "*/30 * * * *"} {
		s, _ := schedule.Parse(spec, ny)
		fmt.Print(spec, ":")
		t := from
		for range 4 {
			t = s.Next(t)
			fmt.Print(" ", t.Format("15:04 MST"))
		}
		fmt.Println()
	}
	// Output:
	// 30 1 * * *: 01:30 EDT 01:30 EST 01:30 EST 01:30 EST
	// */30 * * * *: 01:00 EDT 01:30 EDT 01:00 EST 01:30 EST
}

// CRON_TZ= inside the spec overrides the job's zone.
func ExampleParse_cronTZ() {
	s, _ := schedule.Parse("CRON_TZ=Australia/Lord_Howe 15 2 * * *", time.UTC)
	t := s.Next(time.Date(2025, 10, 4, 12, 0, 0, 0, time.UTC))
	fmt.Println(s.Location(), t.Format(time.RFC3339))
	// Output:
	// Australia/Lord_Howe 2025-10-05T02:30:00+11:00
}

func ExampleZoned_Never() {
	s, _ := schedule.Parse("0 0 30 2 *", time.UTC) // February 30th
	fmt.Println(s.Never(), s.Next(time.Now()).IsZero())
	// Output:
	// true true
}

func ExampleZoned_AtStart() {
	s, _ := schedule.Parse("@start", time.UTC)
	fmt.Println(s.AtStart(), s.Next(time.Now()).IsZero())
	// Output:
	// true true
}

// The last Friday of each month, and the first Sunday (Vixie cron: with a
// day-of-week field beginning with "*" a day must match both fields).
func ExampleParse_days() {
	from := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, spec := range []string{"0 17 * * 5L", "0 0 1-7 * */7", "0 9 * * MON#2", "0 9 LW * *"} {
		s, _ := schedule.Parse(spec, time.UTC)
		fmt.Printf("%-14s", spec)
		t := from
		for range 3 {
			t = s.Next(t)
			fmt.Print(" ", t.Format("Mon Jan 2"))
		}
		fmt.Println()
	}
	// Output:
	// 0 17 * * 5L    Fri Jan 31 Fri Feb 28 Fri Mar 28
	// 0 0 1-7 * */7  Sun Jan 5 Sun Feb 2 Sun Mar 2
	// 0 9 * * MON#2  Mon Jan 13 Mon Feb 10 Mon Mar 10
	// 0 9 LW * *     Fri Jan 31 Fri Feb 28 Mon Mar 31
}
