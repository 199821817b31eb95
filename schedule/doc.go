// Package schedule turns cron specs into schedules: the instants at which a
// job fires, computed in the job's time zone. This documentation is the
// reference for the schedule syntax and for what happens when clocks change.
//
// # Fields
//
// A spec has five fields, or six with the seconds first (as in Quartz and
// robfig/cron; without it the second is 0):
//
//	[second] minute hour day-of-month month day-of-week
//
//	second        0-59
//	minute        0-59
//	hour          0-23
//	day-of-month  1-31, and L, LW, nW, ?
//	month         1-12, JAN-DEC, JANUARY-DECEMBER
//	day-of-week   0-7 (0 and 7 are Sunday), SUN-SAT, SUNDAY-SATURDAY, and nL, n#k, ?
//
// Each field is a comma-separated list of these forms:
//
//	form   meaning
//	*      every value
//	V      one value
//	A-B    a range; when A > B it wraps around the end of the field
//	*/S    every S-th value, from the first
//	A-B/S  every S-th value of the range, counting across a wrap
//	A/S    every S-th value from A to the end of the field
//
// Names are case-insensitive, in full or by their first three letters.
// Examples:
//
//	*/15 * * * *          every 15 minutes
//	0 9 * * MON-FRI       09:00 on weekdays
//	0 9 * * mon-fri       the same
//	0 0 * * 5-7           midnight on Friday, Saturday and Sunday
//	0 22-2 * * *          every hour from 22:00 to 02:00
//	0 0 * * FRI-MON       midnight from Friday to Monday
//	0 0 1 NOV-FEB *       the 1st of November, December, January and February
//	*/10 * * * * *        every 10 seconds
//
// # Day of month and day of week
//
// The two day fields combine as in Vixie cron: when both are restricted, a
// day matches if either matches; when either field begins with "*" or "?"
// (steps such as "*/7" included), a day must match both.
//
//	0 0 1,15 * MON        the 1st, the 15th and every Monday
//	0 0 1-7 * */7         the first Sunday of the month (days 1-7 that are Sundays)
//	0 0 */10 * MON        Mondays that fall on the 1st, 11th, 21st or 31st
//	0 0 ? * MON           every Monday ("?" is "*", as in Quartz)
//
// # Special days
//
//	L      day-of-month: the last day of the month             0 0 L * *       (Jan 31, Feb 28 or 29, ...)
//	LW     day-of-month: the last weekday (Mon-Fri) of it       0 18 LW * *
//	nW     day-of-month: the weekday nearest to day n, within   0 9 15W * *     (Fri 14th if the 15th is a Saturday,
//	       the month (1W on a Saturday is Monday the 3rd)                        Mon 16th if it is a Sunday)
//	nL     day-of-week: the last weekday n of the month         0 17 * * 5L     (or FRIL: the last Friday)
//	n#k    day-of-week: the k-th (1-5) weekday n of the month   0 9 * * MON#2   (the second Monday)
//
// They may appear in lists ("0 0 1,L * *") and follow the day-field rule
// above ("0 0 * * 5L" is the last Friday; "0 0 L * 5L" is the last day and
// the last Friday).
//
// # Descriptors
//
//	@yearly, @annually   0 0 1 1 *
//	@monthly             0 0 1 * *
//	@weekly              0 0 * * 0
//	@daily, @midnight    0 0 * * *
//	@hourly              0 * * * *
//	@every DURATION      every DURATION of real time (Go syntax: 90s, 1h30m)
//	@start               once, when the scheduler starts
//
// @every counts elapsed time, not the wall clock, so daylight saving time
// does not affect it; the interval must be at least 1s and a whole number of
// seconds (robfig/cron would silently round 500ms up and 1500ms down: we
// reject both). @start is crontab's @reboot: Zoned.AtStart reports it, and
// Next returns the zero time.
//
// # Time zones
//
// Every spec is read in a zone: the job's timezone (the loc given to Parse),
// or the zone of a CRON_TZ= prefix, which overrides it:
//
//	CRON_TZ=Europe/Berlin 30 2 * * *
//
// (robfig's TZ= prefix is accepted too.) Zones are IANA names. Next returns
// instants in the schedule's zone, so formatted as RFC 3339 they carry the
// offset in force: 2025-03-30T03:00:00+02:00. The scheduler command embeds
// the zone database (time/tzdata), so it also works on hosts without one.
//
// # Daylight saving time
//
// When clocks change, a job follows the ISC/Debian cron policy. What happens
// depends on the job's hour field: a fixed hour (a number, list or range
// such as "2", "1,13" or "9-17") or a wildcard hour (beginning with "*",
// such as "*" or "*/2", and @hourly).
//
// Skipped times (spring forward). A job with a fixed hour whose wall-clock
// time does not exist that day runs once, at the first instant after the
// gap. A wildcard-hour job simply has no runs in the gap, so it keeps its
// real interval.
//
//	30 2 * * *     Europe/Berlin, 2025-03-30 (02:00 -> 03:00): runs at 03:00+02:00
//	*/10 2 * * *   the same day: the six missing runs become one, at 03:00+02:00
//	*/30 * * * *   the same day: 01:30+01:00, then 03:00+02:00 (30 minutes later)
//	0 2 * * 0-5    America/New_York, 2022-03-13: 03:00-04:00 (robfig/cron skips this day)
//
// Repeated times (fall back). A job with a fixed hour runs once, in the first
// occurrence of the repeated time. A wildcard-hour job runs through both
// copies of the hour, at its real interval.
//
//	30 1 * * *     America/New_York, 2025-11-02 (02:00 -> 01:00): 01:30-04:00 only
//	0 * * * *      the same day: 01:00-04:00, 01:00-05:00, 02:00-05:00 (every real hour)
//	*/20 * * * *   the same day: runs every 20 minutes through both 01:xx hours
//
// The same rules apply to any shift the zone database records: Lord Howe
// Island's 30-minute change ("15 2 * * *" on 2025-10-05 runs at
// 02:30+11:00), São Paulo's changes at midnight ("@daily" on 2018-11-04, a
// day without 00:00, runs at 01:00-02:00) and Samoa skipping 30 December 2011
// ("0 12 * * *" ran at 2011-12-31T00:00:00+14:00).
//
// This is the ISC/Debian rule with two deliberate differences. ISC cron
// treats a job as a wildcard job if its hour or its minute begins with "*";
// we look at the hour alone, so "*/10 2 * * *" is one 02:xx job that runs
// once on a day without 02:xx, not a string of runs that vanish. And ISC
// cron watches the clock, treating jumps over 3 hours as corrections; we read
// the changes from the zone database, so the size of the shift does not
// matter.
//
// # Specs that never fire
//
// A spec whose days never occur, such as "0 0 30 2 *" or "0 0 31 APR *",
// parses without error: Zoned.Never reports it, and Next returns the zero
// time. Rare days are searched as far as needed ("0 0 ? 2 MON#5", a Monday
// on February 29th, fires in 2044, 2072 and 2112); Next gives up, returning
// the zero time, only after 401 years, when the Gregorian calendar has
// repeated, which in practice happens only to a wildcard-hour spec that
// matches nothing but times the clock skips.
//
// # Six fields: seconds first
//
// aiocron and croniter accept an optional seconds field last; we take it
// first. A six-field spec whose first field is "*" and whose last is a plain
// number, such as "* 5 * * * 3", means something sensible both ways, so
// Parse rejects it and shows both readings.
//
// # Relation to robfig/cron
//
// Zoned satisfies robfig/cron's Schedule interface, and @every is robfig's
// ConstantDelaySchedule. The parser and Next are our own, because robfig's
// Next skips jobs in a spring-forward gap, runs fixed-time jobs twice in a
// fall-back hour, treats "*/7" in a day field as a restriction, has no L, W
// or #, and searches only five years ahead.
package schedule
