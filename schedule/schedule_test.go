package schedule

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
)

func TestNextOrdinary(t *testing.T) {
	checkNext(t, []nextCase{
		{"interval 15", Schedule{Kind: KindInterval, EveryMinutes: 15}, ber, "2026-06-10T09:07:30+02:00",
			[]string{"2026-06-10 09:15 CEST", "2026-06-10 09:30 CEST", "2026-06-10 09:45 CEST"}},
		{"interval on a slot is strictly after", Schedule{Kind: KindInterval, EveryMinutes: 15}, ber, "2026-06-10T09:15:00+02:00",
			[]string{"2026-06-10 09:30 CEST"}},
		{"interval 90 from local midnight", Schedule{Kind: KindInterval, EveryMinutes: 90}, nyc, "2026-06-10T22:00:00-04:00",
			[]string{"2026-06-10 22:30 EDT", "2026-06-11 00:00 EDT", "2026-06-11 01:30 EDT"}},
		{"interval whole week from epoch", Schedule{Kind: KindInterval, EveryMinutes: 10080}, "UTC", "2026-06-10T00:00:00Z",
			[]string{"2026-06-11 00:00 UTC", "2026-06-18 00:00 UTC"}}, // the epoch was a Thursday
		{"hourly", Schedule{Kind: KindHourly, Minute: 5}, ber, "2026-06-10T09:05:00+02:00",
			[]string{"2026-06-10 10:05 CEST", "2026-06-10 11:05 CEST"}},
		{"hourly across midnight", Schedule{Kind: KindHourly, Minute: 59}, "Asia/Kolkata", "2026-06-10T23:30:00+05:30",
			[]string{"2026-06-10 23:59 IST", "2026-06-11 00:59 IST"}},
		{"daily", Schedule{Kind: KindDaily, Time: "09:00"}, ber, "2026-06-10T08:59:59+02:00",
			[]string{"2026-06-10 09:00 CEST", "2026-06-11 09:00 CEST"}},
		{"daily after today's run", Schedule{Kind: KindDaily, Time: "09:00"}, nyc, "2026-06-10T09:00:00-04:00",
			[]string{"2026-06-11 09:00 EDT"}},
		{"weekly several days", Schedule{Kind: KindWeekly, Days: []string{"mon", "wed", "fri"}, Time: "18:30"}, ber, "2026-06-12T18:30:00+02:00",
			[]string{"2026-06-15 18:30 CEST", "2026-06-17 18:30 CEST", "2026-06-19 18:30 CEST", "2026-06-22 18:30 CEST"}},
		{"weekly weekend", Schedule{Kind: KindWeekly, Days: []string{"sat", "sun"}, Time: "00:00"}, "UTC", "2026-06-10T00:00:00Z",
			[]string{"2026-06-13 00:00 UTC", "2026-06-14 00:00 UTC", "2026-06-20 00:00 UTC"}},
		{"monthly", Schedule{Kind: KindMonthly, Day: 1, Time: "07:45"}, ber, "2026-06-01T07:45:00+02:00",
			[]string{"2026-07-01 07:45 CEST", "2026-08-01 07:45 CEST"}},
		{"cron weekdays", Schedule{Kind: KindCron, Expr: "0 9 * * 1-5"}, ber, "2026-06-12T10:00:00+02:00",
			[]string{"2026-06-15 09:00 CEST", "2026-06-16 09:00 CEST"}},
		{"zone is the given location, not UTC", Schedule{Kind: KindDaily, Time: "09:00", Timezone: "UTC"}, "Australia/Sydney", "2026-06-10T00:00:00Z",
			[]string{"2026-06-11 09:00 AEST"}},
	})
}

func TestNextNStrictlyIncreasing(t *testing.T) {
	scheds := []Schedule{
		{Kind: KindInterval, EveryMinutes: 5}, {Kind: KindInterval, EveryMinutes: 45}, {Kind: KindInterval, EveryMinutes: 720},
		{Kind: KindHourly, Minute: 0}, {Kind: KindDaily, Time: "02:30"}, {Kind: KindWeekly, Days: []string{"sun", "mon"}, Time: "01:30"},
		{Kind: KindMonthly, Day: 31, Time: "02:00"}, {Kind: KindCron, Expr: "*/5 1-3 * * *"}, {Kind: KindCron, Expr: "59 1,2 * * 0"},
	}
	for _, zone := range []string{ber, nyc, "Australia/Lord_Howe", "UTC"} {
		loc := mustLoc(t, zone)
		for _, after := range []time.Time{time.Date(2026, 3, 7, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 24, 0, 0, 0, 0, time.UTC)} {
			for _, s := range scheds {
				got, err := s.NextN(after, loc, 100)
				if err != nil || len(got) != 100 || !got[0].After(after) {
					t.Fatalf("%s %+v: %v, %d runs", zone, s, err, len(got))
				}
				for i := 1; i < len(got); i++ {
					if !got[i].After(got[i-1]) {
						t.Fatalf("%s %+v: run %d %v not after %v", zone, s, i, got[i], got[i-1])
					}
				}
			}
		}
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		s    Schedule
		want FieldErrors
	}{
		{Schedule{Kind: KindDaily, Time: "09:00", Timezone: "account"}, FieldErrors{}},
		{Schedule{Kind: KindWeekly, Days: []string{"mon", "fri"}, Time: "23:59", Timezone: "America/New_York"}, FieldErrors{}},
		{Schedule{Kind: KindDaily, Time: "09:00", Days: []string{"bogus"}, Minute: 99}, FieldErrors{}}, // other kinds' fields ignored
		{Schedule{}, FieldErrors{"kind": MsgKind}},
		{Schedule{Kind: "Daily", Time: "09:00"}, FieldErrors{"kind": MsgKind}},
		{Schedule{Kind: KindInterval, EveryMinutes: 4}, FieldErrors{"every_minutes": MsgEveryMinutes}},
		{Schedule{Kind: KindInterval, EveryMinutes: 10081}, FieldErrors{"every_minutes": MsgEveryMinutes}},
		{Schedule{Kind: KindHourly, Minute: 60}, FieldErrors{"minute": MsgMinute}},
		{Schedule{Kind: KindHourly, Minute: -1}, FieldErrors{"minute": MsgMinute}},
		{Schedule{Kind: KindDaily, Time: "9:00"}, FieldErrors{"time": MsgTime}},
		{Schedule{Kind: KindDaily, Time: "24:00"}, FieldErrors{"time": MsgTime}},
		{Schedule{Kind: KindDaily}, FieldErrors{"time": MsgTime}},
		{Schedule{Kind: KindWeekly, Time: "09:00"}, FieldErrors{"days": MsgDaysEmpty}},
		{Schedule{Kind: KindWeekly, Days: []string{"Mon"}, Time: "09:00"}, FieldErrors{"days": MsgDaysUnknown}},
		{Schedule{Kind: KindWeekly, Days: []string{"mon", "mon"}, Time: "9"}, FieldErrors{"days": MsgDaysTwice, "time": MsgTime}},
		{Schedule{Kind: KindMonthly, Day: 0, Time: "09:00"}, FieldErrors{"day": MsgDay}},
		{Schedule{Kind: KindMonthly, Day: 32, Time: "09:60"}, FieldErrors{"day": MsgDay, "time": MsgTime}},
		{Schedule{Kind: KindCron}, FieldErrors{"expr": MsgExprEmpty}},
		{Schedule{Kind: KindDaily, Time: "09:00", Timezone: "Mars/Olympus"}, FieldErrors{"timezone": MsgTimezone}},
		{Schedule{Kind: KindDaily, Time: "09:00", Timezone: "Local"}, FieldErrors{"timezone": MsgTimezone}},
	}
	for _, c := range cases {
		if got := c.s.Validate(); !maps.Equal(got, c.want) {
			t.Errorf("%+v: got %v, want %v", c.s, got, c.want)
		}
	}
}

func TestValidateCron(t *testing.T) {
	for expr, want := range map[string]string{
		"0 9 * * 1-5": "", "*/5 * * * *": "", "0,55 * * * *": "", "0 0 29 2 *": "", "0 9 * * MON-FRI": "",
		"* * * * *": MsgExprTooOften, "*/4 * * * *": MsgExprTooOften, "0-2 9 * * *": MsgExprTooOften,
		"0,58 8,9 * * *": MsgExprTooOften, "59 23 * * *": "", "0,59 0,23 * * *": MsgExprTooOften,
		"@every 1h": MsgExprShortcut, "@daily": MsgExprShortcut, "TZ=Europe/Berlin 0 9 * * *": MsgExprTZ,
		"CRON_TZ=UTC 0 9 * * *": MsgExprTZ, "0 9 * *": MsgExprInvalid, "0 0 9 * * *": MsgExprInvalid,
		"61 * * * *": MsgExprInvalid, "0 9 * * funday": MsgExprInvalid, "0 0 30 2 *": MsgExprNever,
	} {
		if got := (Schedule{Kind: KindCron, Expr: expr}).Validate()["expr"]; got != want {
			t.Errorf("%q: got %q, want %q", expr, got, want)
		}
	}
}

func TestNextRejects(t *testing.T) {
	loc := mustLoc(t, ber)
	if _, err := (Schedule{Kind: KindDaily, Time: "25:00"}).Next(time.Now(), loc); err == nil {
		t.Error("invalid schedule: want error")
	}
	if _, err := (Schedule{Kind: KindDaily, Time: "09:00"}).Next(time.Now(), nil); err == nil {
		t.Error("nil location: want error")
	}
}

func TestResolve(t *testing.T) {
	cases := []struct{ tz, account, tenant, want string }{
		{"account", "America/Los_Angeles", "Europe/Berlin", "America/Los_Angeles"},
		{"account", "", "Europe/Berlin", "Europe/Berlin"},
		{"account", "", "", "UTC"},
		{"", "America/Los_Angeles", "Europe/Berlin", "Europe/Berlin"},
		{"", "", "", "UTC"},
		{"Asia/Tokyo", "America/Los_Angeles", "Europe/Berlin", "Asia/Tokyo"},
		{"Mars/Olympus", "", "", "error"},
		{"account", "Nowhere/Town", "Europe/Berlin", "error"},
		{"Local", "", "", "error"},
	}
	for _, c := range cases {
		loc, err := Resolve(c.tz, c.account, c.tenant)
		got := "error"
		if err == nil {
			got = loc.String()
		}
		if got != c.want {
			t.Errorf("Resolve(%q, %q, %q) = %s, want %s", c.tz, c.account, c.tenant, got, c.want)
		}
	}
}

func TestParseNormalizeDescribe(t *testing.T) {
	s, err := Parse([]byte(`{"kind":" Weekly ","days":["FRI","mon","fri"],"time":" 09:00","minute":7,"expr":"x","timezone":"account"}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.Validate()["kind"] == "" {
		t.Error("Validate must not normalize implicitly")
	}
	n := s.Normalized()
	b, _ := json.Marshal(n)
	if want := `{"kind":"weekly","time":"09:00","days":["mon","fri"],"timezone":"account"}`; string(b) != want {
		t.Errorf("normalized = %s, want %s", b, want)
	}
	if errs := n.Validate(); len(errs) != 0 {
		t.Errorf("normalized invalid: %v", errs)
	}
	for _, bad := range []string{`{"kind":"daily","every_minute":5}`, `{"kind":"daily"} {}`, `{"kind":5}`, `[]`} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%s): want error", bad)
		}
	}
	for s, want := range map[*Schedule]string{
		{Kind: KindInterval, EveryMinutes: 15}:                          "Every 15 minutes",
		{Kind: KindInterval, EveryMinutes: 120}:                         "Every 2 hours",
		{Kind: KindHourly, Minute: 5}:                                   "Hourly at :05",
		{Kind: KindDaily, Time: "09:00"}:                                "Daily at 09:00",
		{Kind: KindWeekly, Days: []string{"fri", "mon"}, Time: "09:00"}: "Mon, Fri at 09:00",
		{Kind: KindMonthly, Day: 31, Time: "09:00"}:                     "Monthly on day 31 (last day in shorter months) at 09:00",
		{Kind: KindMonthly, Day: 5, Time: "09:00"}:                      "Monthly on day 5 at 09:00",
		{Kind: KindCron, Expr: "0 9 * * 1-5"}:                           "Cron 0 9 * * 1-5",
		{Kind: "yearly"}:                                                "Unknown schedule",
	} {
		if got := s.Describe(); got != want {
			t.Errorf("Describe(%+v) = %q, want %q", *s, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		`{"kind":"interval","every_minutes":15,"timezone":"Europe/Berlin"}`, `{"kind":"interval","every_minutes":7}`,
		`{"kind":"hourly","minute":59,"timezone":"America/New_York"}`, `{"kind":"daily","time":"02:30","timezone":"Europe/Berlin"}`,
		`{"kind":"weekly","days":["sun","mon"],"time":"01:30","timezone":"account"}`, `{"kind":"monthly","day":31,"time":"23:59"}`,
		`{"kind":"cron","expr":"30 2 * * *","timezone":"Europe/Berlin"}`, `{"kind":"cron","expr":"@every 1m"}`, `{`, `null`,
	} {
		f.Add([]byte(seed), int64(1774745000))
	}
	f.Fuzz(func(t *testing.T, raw []byte, sec int64) {
		s, err := Parse(raw)
		if err != nil {
			return
		}
		_ = s.Describe()
		if len(s.Validate()) > 0 {
			return
		}
		loc, err := Resolve(s.Timezone, "America/New_York", "Europe/Berlin")
		if err != nil {
			t.Fatalf("valid schedule, unresolvable zone %q: %v", s.Timezone, err)
		}
		if sec < 0 {
			sec = -(sec + 1)
		}
		after := time.Unix(946684800+sec%(3e9), 0) // 2000 … 2095
		next, err := s.Next(after, loc)
		if err != nil || !next.After(after) {
			t.Fatalf("%s after %v: %v, %v", strings.TrimSpace(string(raw)), after, next, err)
		}
	})
}

// cronFrequency's analysis must agree with brute force: robfig's firings
// over two years, in UTC, checked pairwise.
func TestCronFrequencyMatchesSampling(t *testing.T) {
	for _, expr := range []string{
		"*/5 * * * *", "*/4 * * * *", "0,58 8,9 * * *", "0,58 8,10 * * *", "0,59 0,23 * * *", "0,59 0,23 1 * *",
		"0,59 0,23 1,2 * *", "0,59 0,23 31,1 * *", "0,59 0,23 31 1 *", "0,59 0,23 29 2 *", "1,58 0,23 * * 0,1",
		"1,58 0,23 * * 0,2", "3,59 */2 * * *", "56 23 28 2 *", "0 0 30 2 *",
	} {
		p, err := cron.ParseStandard(expr)
		if err != nil {
			t.Fatal(err)
		}
		spec := p.(*cron.SpecSchedule)
		brute := MsgExprNever
		prev := spec.Next(freqFrom)
		for !prev.IsZero() && prev.Before(freqFrom.AddDate(2, 0, 0)) {
			brute = ""
			next := spec.Next(prev)
			if !next.IsZero() && next.Sub(prev) < 5*time.Minute {
				brute = MsgExprTooOften
				break
			}
			prev = next
		}
		if got := cronFrequency(spec); got != brute {
			t.Errorf("%q: analysis %q, brute force %q", expr, got, brute)
		}
	}
}
