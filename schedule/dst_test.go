package schedule

import (
	"slices"

	"github.com/robfig/cron/v3"
	"testing"
	"time"
	_ "time/tzdata" // tests must not depend on the host's zoneinfo
)

const layout = "2006-01-02 15:04 MST"

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// runs returns the next n runs after `after` (RFC 3339) as local readings.
func runs(t *testing.T, s Schedule, zone, after string, n int) []string {
	t.Helper()
	loc := mustLoc(t, zone)
	a, err := time.Parse(time.RFC3339, after)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.NextN(a, loc, n)
	if err != nil {
		t.Fatalf("NextN: %v", err)
	}
	out := make([]string, len(got))
	for i, g := range got {
		if g.Location() != time.UTC {
			t.Errorf("run %d not in UTC: %v", i, g)
		}
		out[i] = g.In(loc).Format(layout)
	}
	return out
}

type nextCase struct {
	name  string
	s     Schedule
	zone  string
	after string
	want  []string
}

func checkNext(t *testing.T, cases []nextCase) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := runs(t, c.s, c.zone, c.after, len(c.want)); !slices.Equal(got, c.want) {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}

const (
	ber = "Europe/Berlin"
	nyc = "America/New_York"
)

// Transitions: US 2026-03-08 02:00→03:00 and 2026-11-01 02:00→01:00;
// EU 2026-03-29 02:00→03:00 and 2026-10-25 03:00→02:00 (Berlin local).
func TestNextDST(t *testing.T) {
	daily := func(hm string) Schedule { return Schedule{Kind: KindDaily, Time: hm} }
	cronS := func(e string) Schedule { return Schedule{Kind: KindCron, Expr: e} }
	checkNext(t, []nextCase{
		// Clock schedules: a slot in the gap runs when the gap ends, a repeated slot runs once.
		{"daily spring EU", daily("02:30"), ber, "2026-03-27T12:00:00+01:00",
			[]string{"2026-03-28 02:30 CET", "2026-03-29 03:00 CEST", "2026-03-30 02:30 CEST"}},
		{"daily fall EU", daily("02:30"), ber, "2026-10-24T12:00:00+02:00",
			[]string{"2026-10-25 02:30 CEST", "2026-10-26 02:30 CET"}},
		{"daily fall EU from between the passes", daily("02:30"), ber, "2026-10-25T02:15:00+01:00",
			[]string{"2026-10-26 02:30 CET"}},
		{"daily spring US", daily("02:30"), nyc, "2026-03-07T12:00:00-05:00",
			[]string{"2026-03-08 03:00 EDT", "2026-03-09 02:30 EDT"}},
		{"daily fall US", daily("01:30"), nyc, "2026-10-31T12:00:00-04:00",
			[]string{"2026-11-01 01:30 EDT", "2026-11-02 01:30 EST"}},
		{"daily at 03:00 on spring day EU", daily("03:00"), ber, "2026-03-28T12:00:00+01:00",
			[]string{"2026-03-29 03:00 CEST", "2026-03-30 03:00 CEST"}},
		{"weekly spring EU", Schedule{Kind: KindWeekly, Days: []string{"sun"}, Time: "02:30"}, ber, "2026-03-22T12:00:00+01:00",
			[]string{"2026-03-29 03:00 CEST", "2026-04-05 02:30 CEST"}},
		{"weekly fall US", Schedule{Kind: KindWeekly, Days: []string{"sun"}, Time: "01:30"}, nyc, "2026-10-31T12:00:00-04:00",
			[]string{"2026-11-01 01:30 EDT", "2026-11-08 01:30 EST"}},
		{"monthly spring EU", Schedule{Kind: KindMonthly, Day: 29, Time: "02:15"}, ber, "2026-03-01T00:00:00+01:00",
			[]string{"2026-03-29 03:00 CEST", "2026-04-29 02:15 CEST"}},
		{"monthly fall EU", Schedule{Kind: KindMonthly, Day: 25, Time: "02:15"}, ber, "2026-10-01T00:00:00+02:00",
			[]string{"2026-10-25 02:15 CEST", "2026-11-25 02:15 CET"}},
		{"monthly spring US", Schedule{Kind: KindMonthly, Day: 8, Time: "02:00"}, nyc, "2026-03-01T00:00:00-05:00",
			[]string{"2026-03-08 03:00 EDT", "2026-04-08 02:00 EDT"}},
		{"monthly fall US", Schedule{Kind: KindMonthly, Day: 1, Time: "01:59"}, nyc, "2026-10-02T00:00:00-04:00",
			[]string{"2026-11-01 01:59 EDT", "2026-12-01 01:59 EST"}},
		{"interval 120 spring EU", Schedule{Kind: KindInterval, EveryMinutes: 120}, ber, "2026-03-28T23:00:00+01:00",
			[]string{"2026-03-29 00:00 CET", "2026-03-29 03:00 CEST", "2026-03-29 04:00 CEST"}},
		{"interval 120 fall EU", Schedule{Kind: KindInterval, EveryMinutes: 120}, ber, "2026-10-24T23:00:00+02:00",
			[]string{"2026-10-25 00:00 CEST", "2026-10-25 02:00 CEST", "2026-10-25 04:00 CET"}},

		// Real-time schedules: exact spacing, the repeated hour runs again, nothing is made up in the gap.
		{"hourly spring EU", Schedule{Kind: KindHourly, Minute: 30}, ber, "2026-03-29T00:00:00+01:00",
			[]string{"2026-03-29 00:30 CET", "2026-03-29 01:30 CET", "2026-03-29 03:30 CEST", "2026-03-29 04:30 CEST"}},
		{"hourly fall EU", Schedule{Kind: KindHourly, Minute: 30}, ber, "2026-10-25T01:00:00+02:00",
			[]string{"2026-10-25 01:30 CEST", "2026-10-25 02:30 CEST", "2026-10-25 02:30 CET", "2026-10-25 03:30 CET"}},
		{"hourly spring US", Schedule{Kind: KindHourly}, nyc, "2026-03-08T00:30:00-05:00",
			[]string{"2026-03-08 01:00 EST", "2026-03-08 03:00 EDT", "2026-03-08 04:00 EDT"}},
		{"hourly fall US", Schedule{Kind: KindHourly, Minute: 5}, nyc, "2026-11-01T00:30:00-04:00",
			[]string{"2026-11-01 01:05 EDT", "2026-11-01 01:05 EST", "2026-11-01 02:05 EST"}},
		{"interval 15 spring EU", Schedule{Kind: KindInterval, EveryMinutes: 15}, ber, "2026-03-29T01:30:00+01:00",
			[]string{"2026-03-29 01:45 CET", "2026-03-29 03:00 CEST", "2026-03-29 03:15 CEST"}},
		{"interval 15 fall EU", Schedule{Kind: KindInterval, EveryMinutes: 15}, ber, "2026-10-25T02:30:00+02:00",
			[]string{"2026-10-25 02:45 CEST", "2026-10-25 02:00 CET", "2026-10-25 02:15 CET"}},
		{"interval 30 fall US", Schedule{Kind: KindInterval, EveryMinutes: 30}, nyc, "2026-11-01T01:00:00-04:00",
			[]string{"2026-11-01 01:30 EDT", "2026-11-01 01:00 EST", "2026-11-01 01:30 EST", "2026-11-01 02:00 EST"}},
		{"interval 30 spring US", Schedule{Kind: KindInterval, EveryMinutes: 30}, nyc, "2026-03-08T01:00:00-05:00",
			[]string{"2026-03-08 01:30 EST", "2026-03-08 03:00 EDT"}},

		// Cron: every-hour expressions keep robfig's real-time behaviour, fixed hours follow the clock rule.
		{"cron fixed spring EU", cronS("30 2 * * *"), ber, "2026-03-28T12:00:00+01:00",
			[]string{"2026-03-29 03:00 CEST", "2026-03-30 02:30 CEST"}},
		{"cron fixed fall EU", cronS("30 2 * * *"), ber, "2026-10-24T12:00:00+02:00",
			[]string{"2026-10-25 02:30 CEST", "2026-10-26 02:30 CET"}},
		{"cron fixed spring US", cronS("30 2 * * *"), nyc, "2026-03-07T12:00:00-05:00",
			[]string{"2026-03-08 03:00 EDT", "2026-03-09 02:30 EDT"}},
		{"cron fixed fall US", cronS("30 1 * * *"), nyc, "2026-10-31T12:00:00-04:00",
			[]string{"2026-11-01 01:30 EDT", "2026-11-02 01:30 EST"}},
		{"cron gap slots collapse", cronS("*/20 2 * * *"), ber, "2026-03-29T00:00:00+01:00",
			[]string{"2026-03-29 03:00 CEST", "2026-03-30 02:00 CEST"}},
		{"cron gap end is also a slot", cronS("0 2,3 * * *"), ber, "2026-03-29T00:00:00+01:00",
			[]string{"2026-03-29 03:00 CEST", "2026-03-30 02:00 CEST"}},
		{"cron hourly spring EU", cronS("0 * * * *"), ber, "2026-03-29T00:30:00+01:00",
			[]string{"2026-03-29 01:00 CET", "2026-03-29 03:00 CEST", "2026-03-29 04:00 CEST"}},
		{"cron hourly fall US", cronS("30 * * * *"), nyc, "2026-11-01T01:00:00-04:00",
			[]string{"2026-11-01 01:30 EDT", "2026-11-01 01:30 EST", "2026-11-01 02:30 EST"}},
		{"cron weekdays across spring US", cronS("0 9 * * 1-5"), nyc, "2026-03-06T10:00:00-05:00",
			[]string{"2026-03-09 09:00 EDT", "2026-03-10 09:00 EDT"}},

		// Zones whose transitions sit at midnight.
		{"daily in a midnight gap", daily("00:30"), "America/Sao_Paulo", "2018-11-03T12:00:00-03:00",
			[]string{"2018-11-04 01:00 -02", "2018-11-05 00:30 -02"}},
		{"cron in a midnight gap", cronS("30 0 * * *"), "America/Sao_Paulo", "2018-11-03T12:00:00-03:00",
			[]string{"2018-11-04 01:00 -02", "2018-11-05 00:30 -02"}},
		{"cron where robfig loops", cronS("30 0 * * 0"), "America/Goose_Bay", "1995-10-22T00:30:00-03:00",
			[]string{"1995-10-29 00:30 AST", "1995-11-05 00:30 AST"}},
	})
}

// Epoch-aligned intervals ignore the zone: exact spacing through both changes.
func TestIntervalEpochAcrossDST(t *testing.T) {
	loc := mustLoc(t, ber)
	for _, after := range []time.Time{
		time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC), time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC),
	} {
		got, err := Schedule{Kind: KindInterval, EveryMinutes: 7}.NextN(after, loc, 30)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range got {
			if r.Unix()%(7*60) != 0 || (i > 0 && r.Sub(got[i-1]) != 7*time.Minute) {
				t.Fatalf("run %d = %v, not on the 7-minute epoch grid", i, r)
			}
		}
	}
}

func TestMonthlyDay31ThroughAYear(t *testing.T) {
	got := runs(t, Schedule{Kind: KindMonthly, Day: 31, Time: "09:00"}, ber, "2027-01-01T00:00:00+01:00", 15)
	want := []string{
		"2027-01-31 09:00 CET", "2027-02-28 09:00 CET", "2027-03-31 09:00 CEST", "2027-04-30 09:00 CEST",
		"2027-05-31 09:00 CEST", "2027-06-30 09:00 CEST", "2027-07-31 09:00 CEST", "2027-08-31 09:00 CEST",
		"2027-09-30 09:00 CEST", "2027-10-31 09:00 CET", "2027-11-30 09:00 CET", "2027-12-31 09:00 CET",
		"2028-01-31 09:00 CET", "2028-02-29 09:00 CET", "2028-03-31 09:00 CEST",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// robfig's raw behaviour across DST, which is why nextCron steps the bit
// sets itself. If an upgrade changes this, revisit nextCron.
func TestRobfigRawDSTBehaviour(t *testing.T) {
	loc := mustLoc(t, ber)
	raw := func(expr string, after time.Time, n int) (out []string) {
		p, err := cron.ParseStandard(expr)
		if err != nil {
			t.Fatal(err)
		}
		spec := p.(*cron.SpecSchedule)
		spec.Location = loc
		for i := 0; i < n; i++ {
			after = spec.Next(after)
			out = append(out, after.In(loc).Format(layout))
		}
		return out
	}
	if got, want := raw("30 2 * * *", time.Date(2026, 3, 28, 12, 0, 0, 0, loc), 1), []string{"2026-03-30 02:30 CEST"}; !slices.Equal(got, want) {
		t.Errorf("spring: robfig %q, expected it to skip the gap day %q", got, want)
	}
	if got, want := raw("30 2 * * *", time.Date(2026, 10, 24, 12, 0, 0, 0, loc), 2), []string{"2026-10-25 02:30 CEST", "2026-10-25 02:30 CET"}; !slices.Equal(got, want) {
		t.Errorf("fall: robfig %q, expected a double run %q", got, want)
	}
}

// Away from DST changes our stepping must agree with robfig exactly.
func TestCronAgreesWithRobfig(t *testing.T) {
	exprs := []string{"0 9 * * 1-5", "*/5 * * * *", "15 */3 * * *", "0 0 1,15 * *", "30 8 * 2 1", "0 0 29 2 *", "45 23 * * 0", "0 12 13 * 5"}
	from := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	until := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC) // no transition in Berlin in between
	for _, zone := range []string{"UTC", "Asia/Tokyo", ber} {
		loc := mustLoc(t, zone)
		for _, expr := range exprs {
			p, _ := cron.ParseStandard(expr)
			spec := p.(*cron.SpecSchedule)
			spec.Location = loc
			s := Schedule{Kind: KindCron, Expr: expr}
			for a, i := from, 0; a.Before(until) && i < 300; i++ {
				want := spec.Next(a)
				got, err := s.Next(a, loc)
				if err != nil || !got.Equal(want) {
					t.Fatalf("%s %q after %v: got %v (%v), robfig %v", zone, expr, a, got, err, want)
				}
				a = want
			}
		}
	}
}
