package schedule

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the tests must not depend on the host's zone database
)

// dstCase is one row of the daylight-saving table: the next instants of spec,
// read in zone, strictly after from.
type dstCase struct {
	zone, spec, from string
	want             []string
}

// Transitions used below (from Go's embedded tzdata, which the test checks):
//
//	America/New_York     2025-03-09 02:00 EST -> 03:00 EDT    2025-11-02 02:00 EDT -> 01:00 EST
//	America/Los_Angeles  2025-03-09 02:00 PST -> 03:00 PDT    2025-11-02 02:00 PDT -> 01:00 PST
//	Europe/London        2025-03-30 01:00 GMT -> 02:00 BST    2025-10-26 02:00 BST -> 01:00 GMT
//	Europe/Berlin        2025-03-30 02:00 CET -> 03:00 CEST   2025-10-26 03:00 CEST -> 02:00 CET
//	Europe/Riga          2025-03-30 03:00 EET -> 04:00 EEST   2025-10-26 04:00 EEST -> 03:00 EET
//	Australia/Sydney     2025-10-05 02:00 AEST -> 03:00 AEDT  2025-04-06 03:00 AEDT -> 02:00 AEST
//	Australia/Lord_Howe  2025-10-05 02:00 +1030 -> 02:30 +11  2025-04-06 02:00 +11 -> 01:30 +1030
//	America/Sao_Paulo    2018-11-04 00:00 -03 -> 01:00 -02    2019-02-17 00:00 -02 -> 2019-02-16 23:00 -03
//	Pacific/Chatham      2025-09-28 02:45 +1245 -> 03:45 +1345  2025-04-06 03:45 +1345 -> 02:45 +1245
//	Pacific/Apia         2011-12-29 24:00 -10 -> 2011-12-31 00:00 +14 (Samoa skipped December 30th)
var dstCases = []dstCase{
	// New York. Fixed hour in the spring gap: once, at 03:00 EDT.
	{"America/New_York", "30 2 * * *", "2025-03-08T12:00:00-05:00", []string{"2025-03-09T03:00:00-04:00", "2025-03-10T02:30:00-04:00"}},
	{"America/New_York", "0 2 * * *", "2025-03-08T12:00:00-05:00", []string{"2025-03-09T03:00:00-04:00", "2025-03-10T02:00:00-04:00"}},
	{"America/New_York", "59 2 * * *", "2025-03-08T12:00:00-05:00", []string{"2025-03-09T03:00:00-04:00", "2025-03-10T02:59:00-04:00"}},
	{"America/New_York", "0 3 * * *", "2025-03-09T00:00:00-05:00", []string{"2025-03-09T03:00:00-04:00", "2025-03-10T03:00:00-04:00"}},
	// A gap time and 03:00 itself land on the same instant: one run.
	{"America/New_York", "0,30 2,3 * * *", "2025-03-09T00:00:00-05:00", []string{"2025-03-09T03:00:00-04:00", "2025-03-09T03:30:00-04:00", "2025-03-10T02:00:00-04:00"}},
	// Fixed hour, every minute of it: the whole missing hour is one run.
	{"America/New_York", "* 2 * * *", "2025-03-09T01:59:00-05:00", []string{"2025-03-09T03:00:00-04:00", "2025-03-10T02:00:00-04:00"}},
	// Wildcard and step hours keep the real interval through the gap.
	{"America/New_York", "*/30 * * * *", "2025-03-09T01:00:00-05:00", []string{"2025-03-09T01:30:00-05:00", "2025-03-09T03:00:00-04:00", "2025-03-09T03:30:00-04:00"}},
	{"America/New_York", "0 * * * *", "2025-03-09T00:30:00-05:00", []string{"2025-03-09T01:00:00-05:00", "2025-03-09T03:00:00-04:00", "2025-03-09T04:00:00-04:00"}},
	// Fixed hour in the repeated hour: first occurrence (EDT) only.
	{"America/New_York", "30 1 * * *", "2025-11-01T12:00:00-04:00", []string{"2025-11-02T01:30:00-04:00", "2025-11-03T01:30:00-05:00"}},
	{"America/New_York", "* 1 * * *", "2025-11-02T01:58:30-04:00", []string{"2025-11-02T01:59:00-04:00", "2025-11-03T01:00:00-05:00"}},
	{"America/New_York", "0 2 * * *", "2025-11-01T12:00:00-04:00", []string{"2025-11-02T02:00:00-05:00", "2025-11-03T02:00:00-05:00"}},
	// Wildcard hours run through both copies of the hour.
	{"America/New_York", "*/20 * * * *", "2025-11-02T00:50:00-04:00", []string{"2025-11-02T01:00:00-04:00", "2025-11-02T01:20:00-04:00", "2025-11-02T01:40:00-04:00", "2025-11-02T01:00:00-05:00", "2025-11-02T01:20:00-05:00", "2025-11-02T01:40:00-05:00", "2025-11-02T02:00:00-05:00"}},
	{"America/New_York", "0 * * * *", "2025-11-02T00:30:00-04:00", []string{"2025-11-02T01:00:00-04:00", "2025-11-02T01:00:00-05:00", "2025-11-02T02:00:00-05:00"}},
	{"America/New_York", "@hourly", "2025-11-02T00:30:00-04:00", []string{"2025-11-02T01:00:00-04:00", "2025-11-02T01:00:00-05:00", "2025-11-02T02:00:00-05:00"}},
	{"America/New_York", "0 0 * * *", "2025-03-08T12:00:00-05:00", []string{"2025-03-09T00:00:00-05:00", "2025-03-10T00:00:00-04:00"}},
	// argo-workflows#8137: robfig skipped "0 2 * * 0-5" on 2022-03-13.
	{"America/New_York", "0 2 * * 0-5", "2022-03-13T01:50:00-05:00", []string{"2022-03-13T03:00:00-04:00", "2022-03-14T02:00:00-04:00"}},
	// rundeck#6879: a 02:xx Eastern job skipped on 2021-03-14.
	{"America/New_York", "30 2 * * *", "2021-03-13T12:00:00-05:00", []string{"2021-03-14T03:00:00-04:00"}},

	// Los Angeles. robfig/cron#541 (Monzo): a 02:00 US/Pacific job skipped on 2025-03-09.
	{"America/Los_Angeles", "0 2 * * *", "2025-03-08T12:00:00-08:00", []string{"2025-03-09T03:00:00-07:00", "2025-03-10T02:00:00-07:00"}},
	{"America/Los_Angeles", "15 2 * * *", "2025-03-08T12:00:00-08:00", []string{"2025-03-09T03:00:00-07:00", "2025-03-10T02:15:00-07:00"}},
	{"America/Los_Angeles", "45 1 * * *", "2025-11-01T12:00:00-07:00", []string{"2025-11-02T01:45:00-07:00", "2025-11-03T01:45:00-08:00"}},
	{"America/Los_Angeles", "*/15 * * * *", "2025-11-02T01:40:00-07:00", []string{"2025-11-02T01:45:00-07:00", "2025-11-02T01:00:00-08:00", "2025-11-02T01:15:00-08:00"}},
	{"America/Los_Angeles", "0 9 * * MON-FRI", "2025-03-07T10:00:00-08:00", []string{"2025-03-10T09:00:00-07:00"}},
	{"America/Los_Angeles", "0 30 2 * * *", "2025-03-09T01:59:59-08:00", []string{"2025-03-09T03:00:00-07:00"}},

	// London: the change is at 01:00 GMT.
	{"Europe/London", "30 1 * * *", "2025-03-29T12:00:00Z", []string{"2025-03-30T02:00:00+01:00", "2025-03-31T01:30:00+01:00"}},
	{"Europe/London", "30 1 * * *", "2025-10-25T12:00:00+01:00", []string{"2025-10-26T01:30:00+01:00", "2025-10-27T01:30:00Z"}},
	{"Europe/London", "0,30 * * * *", "2025-03-30T00:15:00Z", []string{"2025-03-30T00:30:00Z", "2025-03-30T02:00:00+01:00", "2025-03-30T02:30:00+01:00"}},
	{"Europe/London", "0,30 * * * *", "2025-10-26T00:45:00+01:00", []string{"2025-10-26T01:00:00+01:00", "2025-10-26T01:30:00+01:00", "2025-10-26T01:00:00Z", "2025-10-26T01:30:00Z", "2025-10-26T02:00:00Z"}},
	{"Europe/London", "0 1 * * SUN", "2025-03-23T02:00:00Z", []string{"2025-03-30T02:00:00+01:00", "2025-04-06T01:00:00+01:00"}},
	{"Europe/London", "0 0 * * *", "2025-10-25T12:00:00+01:00", []string{"2025-10-26T00:00:00+01:00", "2025-10-27T00:00:00Z"}},

	// Berlin: the example, and its mirror in October.
	{"Europe/Berlin", "30 2 * * *", "2025-03-29T12:00:00+01:00", []string{"2025-03-30T03:00:00+02:00", "2025-03-31T02:30:00+02:00"}},
	{"Europe/Berlin", "*/10 2 * * *", "2025-03-29T12:00:00+01:00", []string{"2025-03-30T03:00:00+02:00", "2025-03-31T02:00:00+02:00"}},
	{"Europe/Berlin", "*/30 * * * *", "2025-03-30T01:00:00+01:00", []string{"2025-03-30T01:30:00+01:00", "2025-03-30T03:00:00+02:00", "2025-03-30T03:30:00+02:00"}},
	{"Europe/Berlin", "30 2 * * *", "2025-10-25T12:00:00+02:00", []string{"2025-10-26T02:30:00+02:00", "2025-10-27T02:30:00+01:00"}},
	{"Europe/Berlin", "0 2 * * *", "2025-10-25T12:00:00+02:00", []string{"2025-10-26T02:00:00+02:00", "2025-10-27T02:00:00+01:00"}},
	{"Europe/Berlin", "*/30 * * * *", "2025-10-26T01:45:00+02:00", []string{"2025-10-26T02:00:00+02:00", "2025-10-26T02:30:00+02:00", "2025-10-26T02:00:00+01:00", "2025-10-26T02:30:00+01:00", "2025-10-26T03:00:00+01:00"}},
	{"Europe/Berlin", "0 */2 * * *", "2025-03-30T00:30:00+01:00", []string{"2025-03-30T04:00:00+02:00", "2025-03-30T06:00:00+02:00"}},
	{"Europe/Berlin", "0 2-4 * * *", "2025-03-30T00:00:00+01:00", []string{"2025-03-30T03:00:00+02:00", "2025-03-30T04:00:00+02:00", "2025-03-31T02:00:00+02:00"}},
	{"Europe/Berlin", "0 0 1-7 * */7", "2025-03-01T00:00:00+01:00", []string{"2025-03-02T00:00:00+01:00", "2025-04-06T00:00:00+02:00", "2025-05-04T00:00:00+02:00"}},
	{"Europe/Berlin", "0 0 0 * * *", "2025-10-25T12:00:00+02:00", []string{"2025-10-26T00:00:00+02:00", "2025-10-27T00:00:00+01:00"}},
	{"Europe/Berlin", "30 2 * * SUN", "2025-10-19T03:00:00+02:00", []string{"2025-10-26T02:30:00+02:00", "2025-11-02T02:30:00+01:00"}},
	{"UTC", "CRON_TZ=Europe/Berlin 30 2 * * *", "2025-03-29T12:00:00Z", []string{"2025-03-30T03:00:00+02:00"}},

	// Riga: the change is at 03:00 EET / 04:00 EEST.
	{"Europe/Riga", "30 3 * * *", "2025-03-29T12:00:00+02:00", []string{"2025-03-30T04:00:00+03:00", "2025-03-31T03:30:00+03:00"}},
	{"Europe/Riga", "30 3 * * *", "2025-10-25T12:00:00+03:00", []string{"2025-10-26T03:30:00+03:00", "2025-10-27T03:30:00+02:00"}},
	{"Europe/Riga", "0 * * * *", "2025-03-30T02:30:00+02:00", []string{"2025-03-30T04:00:00+03:00", "2025-03-30T05:00:00+03:00"}},
	{"Europe/Riga", "*/10 3 * * *", "2025-10-26T03:45:00+03:00", []string{"2025-10-26T03:50:00+03:00", "2025-10-27T03:00:00+02:00"}},
	{"Europe/Riga", "*/10 3 * * *", "2025-03-30T00:00:00+02:00", []string{"2025-03-30T04:00:00+03:00", "2025-03-31T03:00:00+03:00"}},
	{"Europe/Riga", "0 4 * * *", "2025-03-30T00:00:00+02:00", []string{"2025-03-30T04:00:00+03:00", "2025-03-31T04:00:00+03:00"}},

	// Sydney: southern hemisphere, spring in October.
	{"Australia/Sydney", "30 2 * * *", "2025-10-04T12:00:00+10:00", []string{"2025-10-05T03:00:00+11:00", "2025-10-06T02:30:00+11:00"}},
	{"Australia/Sydney", "30 2 * * *", "2025-04-05T12:00:00+11:00", []string{"2025-04-06T02:30:00+11:00", "2025-04-07T02:30:00+10:00"}},
	{"Australia/Sydney", "0 * * * *", "2025-04-06T01:30:00+11:00", []string{"2025-04-06T02:00:00+11:00", "2025-04-06T02:00:00+10:00", "2025-04-06T03:00:00+10:00"}},
	{"Australia/Sydney", "*/30 * * * *", "2025-10-05T01:15:00+10:00", []string{"2025-10-05T01:30:00+10:00", "2025-10-05T03:00:00+11:00", "2025-10-05T03:30:00+11:00"}},
	{"Australia/Sydney", "0 9 * * 1-5", "2025-10-03T10:00:00+10:00", []string{"2025-10-06T09:00:00+11:00"}},
	{"Australia/Sydney", "0 2 * * 7", "2025-09-29T00:00:00+10:00", []string{"2025-10-05T03:00:00+11:00", "2025-10-12T02:00:00+11:00"}},

	// Lord Howe: the clock moves by 30 minutes.
	{"Australia/Lord_Howe", "15 2 * * *", "2025-10-04T12:00:00+10:30", []string{"2025-10-05T02:30:00+11:00", "2025-10-06T02:15:00+11:00"}},
	{"Australia/Lord_Howe", "45 2 * * *", "2025-10-04T12:00:00+10:30", []string{"2025-10-05T02:45:00+11:00", "2025-10-06T02:45:00+11:00"}},
	{"Australia/Lord_Howe", "0 2 * * *", "2025-10-04T12:00:00+10:30", []string{"2025-10-05T02:30:00+11:00", "2025-10-06T02:00:00+11:00"}},
	{"Australia/Lord_Howe", "45 1 * * *", "2025-04-05T12:00:00+11:00", []string{"2025-04-06T01:45:00+11:00", "2025-04-07T01:45:00+10:30"}},
	{"Australia/Lord_Howe", "10 1 * * *", "2025-04-05T12:00:00+11:00", []string{"2025-04-06T01:10:00+11:00", "2025-04-07T01:10:00+10:30"}},
	{"Australia/Lord_Howe", "0,30 * * * *", "2025-04-06T01:15:00+11:00", []string{"2025-04-06T01:30:00+11:00", "2025-04-06T01:30:00+10:30", "2025-04-06T02:00:00+10:30"}},
	{"Australia/Lord_Howe", "*/15 * * * *", "2025-10-05T01:40:00+10:30", []string{"2025-10-05T01:45:00+10:30", "2025-10-05T02:30:00+11:00", "2025-10-05T02:45:00+11:00"}},

	// São Paulo (DST until 2019): the change was at midnight, so days
	// without a 00:00 and days with two 23:00 hours.
	{"America/Sao_Paulo", "0 0 * * *", "2018-11-03T12:00:00-03:00", []string{"2018-11-04T01:00:00-02:00", "2018-11-05T00:00:00-02:00"}},
	{"America/Sao_Paulo", "@daily", "2018-11-03T00:00:00-03:00", []string{"2018-11-04T01:00:00-02:00"}},
	{"America/Sao_Paulo", "30 0 * * *", "2018-11-03T12:00:00-03:00", []string{"2018-11-04T01:00:00-02:00", "2018-11-05T00:30:00-02:00"}},
	{"America/Sao_Paulo", "0 0 4 11 *", "2018-01-01T00:00:00-02:00", []string{"2018-11-04T01:00:00-02:00", "2019-11-04T00:00:00-03:00"}},
	{"America/Sao_Paulo", "0 0 * * 0", "2018-10-29T00:00:00-03:00", []string{"2018-11-04T01:00:00-02:00", "2018-11-11T00:00:00-02:00"}},
	{"America/Sao_Paulo", "0 * * * *", "2018-11-03T23:30:00-03:00", []string{"2018-11-04T01:00:00-02:00", "2018-11-04T02:00:00-02:00"}},
	{"America/Sao_Paulo", "30 23 * * *", "2019-02-16T12:00:00-02:00", []string{"2019-02-16T23:30:00-02:00", "2019-02-17T23:30:00-03:00"}},
	{"America/Sao_Paulo", "*/30 * * * *", "2019-02-16T23:15:00-02:00", []string{"2019-02-16T23:30:00-02:00", "2019-02-16T23:00:00-03:00", "2019-02-16T23:30:00-03:00", "2019-02-17T00:00:00-03:00"}},
	{"America/Sao_Paulo", "59 23 * * 6", "2019-02-16T12:00:00-02:00", []string{"2019-02-16T23:59:00-02:00", "2019-02-23T23:59:00-03:00"}},

	// Chatham: a 45-minute zone; the change is at 02:45 / 03:45.
	{"Pacific/Chatham", "0 3 * * *", "2025-09-27T12:00:00+12:45", []string{"2025-09-28T03:45:00+13:45", "2025-09-29T03:00:00+13:45"}},
	{"Pacific/Chatham", "0 3 * * *", "2025-04-05T12:00:00+13:45", []string{"2025-04-06T03:00:00+13:45", "2025-04-07T03:00:00+12:45"}},
	{"Pacific/Chatham", "0 * * * *", "2025-09-28T01:30:00+12:45", []string{"2025-09-28T02:00:00+12:45", "2025-09-28T04:00:00+13:45"}},

	// Samoa skipped a whole day: a fixed time on it runs when the day ends
	// being skipped, at 00:00 on the 31st.
	{"Pacific/Apia", "0 12 30 12 *", "2011-12-29T12:00:00-10:00", []string{"2011-12-31T00:00:00+14:00", "2012-12-30T12:00:00+14:00"}},
	{"Pacific/Apia", "0 12 * * *", "2011-12-29T12:00:00-10:00", []string{"2011-12-31T00:00:00+14:00", "2011-12-31T12:00:00+14:00"}},
	{"Pacific/Apia", "0 */12 * * *", "2011-12-29T12:00:00-10:00", []string{"2011-12-31T00:00:00+14:00", "2011-12-31T12:00:00+14:00"}},

	// Past Go's transition tables (2037) offsets come from the zone's TZ
	// rule, where ZoneBounds misreports the end of a leap year: Next must
	// walk through it.
	{"Europe/Berlin", "0 0 1 1 *", "2040-12-30T00:00:00+01:00", []string{"2041-01-01T00:00:00+01:00", "2042-01-01T00:00:00+01:00"}},
	{"Australia/Lord_Howe", "0 0 ? 2 MON#5", "2025-01-01T00:00:00+11:00", []string{"2044-02-29T00:00:00+11:00", "2072-02-29T00:00:00+11:00"}},
	{"America/New_York", "30 2 * * *", "2052-03-09T12:00:00-05:00", []string{"2052-03-10T03:00:00-04:00", "2052-03-11T02:30:00-04:00"}},

	// No daylight saving at all.
	{"Asia/Kolkata", "30 2 * * *", "2025-03-29T12:00:00+05:30", []string{"2025-03-30T02:30:00+05:30", "2025-03-31T02:30:00+05:30"}},
	{"UTC", "0 0 * * *", "2025-03-29T12:00:00Z", []string{"2025-03-30T00:00:00Z"}},
}

func TestDSTTable(t *testing.T) {
	zones := map[string]bool{}
	for _, tc := range dstCases {
		zones[tc.zone] = true
		t.Run(tc.zone+"/"+tc.spec+"/"+tc.from, func(t *testing.T) {
			got := nextN(t, tc.spec, tc.zone, tc.from, len(tc.want))
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("Parse(%q, %s) from %s:\n got %v\nwant %v", tc.spec, tc.zone, tc.from, got, tc.want)
			}
		})
	}
	if len(dstCases) < 60 || len(zones) < 8 {
		t.Errorf("the table has %d cases in %d zones; the issue asks for at least 60 in 8", len(dstCases), len(zones))
	}
}

// TestZoneFacts pins the transitions the table relies on, so that a tzdata
// update that moves them fails here and not as a puzzling table row.
func TestZoneFacts(t *testing.T) {
	for _, tc := range []struct{ zone, before, after string }{
		{"America/New_York", "2025-03-09T01:59:59-05:00", "2025-03-09T03:00:00-04:00"},
		{"America/New_York", "2025-11-02T01:59:59-04:00", "2025-11-02T01:00:00-05:00"},
		{"Europe/Berlin", "2025-03-30T01:59:59+01:00", "2025-03-30T03:00:00+02:00"},
		{"Australia/Lord_Howe", "2025-10-05T01:59:59+10:30", "2025-10-05T02:30:00+11:00"},
		{"Australia/Lord_Howe", "2025-04-06T01:59:59+11:00", "2025-04-06T01:30:00+10:30"},
		{"America/Sao_Paulo", "2018-11-03T23:59:59-03:00", "2018-11-04T01:00:00-02:00"},
		{"America/Sao_Paulo", "2019-02-16T23:59:59-02:00", "2019-02-16T23:00:00-03:00"},
		{"Pacific/Chatham", "2025-09-28T02:44:59+12:45", "2025-09-28T03:45:00+13:45"},
		{"Pacific/Apia", "2011-12-29T23:59:59-10:00", "2011-12-31T00:00:00+14:00"},
	} {
		loc := mustZone(t, tc.zone)
		before := mustTime(t, tc.before)
		if got := before.Add(time.Second).In(loc).Format(time.RFC3339); got != tc.after {
			t.Errorf("%s: one second after %s is %s, want %s", tc.zone, tc.before, got, tc.after)
		}
	}
}

// nextN returns the next n instants as RFC 3339, stopping at the zero time.
func nextN(t *testing.T, spec, zone, from string, n int) []string {
	t.Helper()
	z, err := Parse(spec, mustZone(t, zone))
	if err != nil {
		t.Fatalf("Parse(%q): %v", spec, err)
	}
	at := mustTime(t, from)
	var got []string
	for range n {
		next := z.Next(at)
		if next.IsZero() {
			break
		}
		if !next.After(at) {
			t.Fatalf("Next(%s) = %s, not after it", at.Format(time.RFC3339Nano), next.Format(time.RFC3339))
		}
		if next.Location() != z.Location() {
			t.Fatalf("Next returned an instant in %s, not in the schedule's zone %s", next.Location(), z.Location())
		}
		got = append(got, next.Format(time.RFC3339))
		at = next
	}
	return got
}

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
