package reports

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func day(s string) time.Time {
	t, err := time.Parse(dateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestPeriodFor(t *testing.T) {
	la, bne := mustLoc(t, "America/Los_Angeles"), mustLoc(t, "Australia/Brisbane")
	tests := []struct {
		name, period string
		now          string
		loc          *time.Location
		since, until string
	}{
		// One instant, three "yesterdays": LA is still on May 14, Brisbane on May 15.
		{"yesterday LA", Yesterday, "2024-05-15T03:00:00Z", la, "2024-05-13", "2024-05-13"},
		{"yesterday Brisbane", Yesterday, "2024-05-15T03:00:00Z", bne, "2024-05-14", "2024-05-14"},
		{"yesterday UTC", Yesterday, "2024-05-15T03:00:00Z", time.UTC, "2024-05-14", "2024-05-14"},
		{"yesterday nil loc is UTC", Yesterday, "2024-05-15T03:00:00Z", nil, "2024-05-14", "2024-05-14"},
		// Around LA midnight (PDT, UTC-7).
		{"LA 23:59", Yesterday, "2024-05-15T06:59:59Z", la, "2024-05-13", "2024-05-13"},
		{"LA 00:00", Yesterday, "2024-05-15T07:00:00Z", la, "2024-05-14", "2024-05-14"},
		// Around Brisbane midnight (UTC+10, no DST).
		{"Brisbane 23:59", Yesterday, "2024-05-15T13:59:59Z", bne, "2024-05-14", "2024-05-14"},
		{"Brisbane 00:00", Yesterday, "2024-05-15T14:00:00Z", bne, "2024-05-15", "2024-05-15"},
		{"last_7d", Last7d, "2024-05-15T12:00:00Z", time.UTC, "2024-05-08", "2024-05-14"},
		{"last_7d across month end", Last7d, "2024-03-03T12:00:00Z", time.UTC, "2024-02-25", "2024-03-02"},
		{"last_30d", Last30d, "2024-05-15T12:00:00Z", time.UTC, "2024-04-15", "2024-05-14"},
		{"this_month mid", ThisMonth, "2024-05-15T12:00:00Z", time.UTC, "2024-05-01", "2024-05-15"},
		{"this_month on the 1st", ThisMonth, "2024-03-01T00:00:00Z", time.UTC, "2024-03-01", "2024-03-01"},
		// 2024-06-01 02:00 UTC is still May 31 in LA.
		{"this_month LA month end", ThisMonth, "2024-06-01T02:00:00Z", la, "2024-05-01", "2024-05-31"},
		{"this_month Brisbane next month", ThisMonth, "2024-05-31T15:00:00Z", bne, "2024-06-01", "2024-06-01"},
		{"last_month leap Feb", LastMonth, "2024-03-15T12:00:00Z", time.UTC, "2024-02-01", "2024-02-29"},
		{"last_month plain Feb", LastMonth, "2023-03-31T12:00:00Z", time.UTC, "2023-02-01", "2023-02-28"},
		{"last_month January", LastMonth, "2024-01-10T12:00:00Z", time.UTC, "2023-12-01", "2023-12-31"},
		// 2024-03-01 05:00 UTC is Feb 29 in LA: last month is January there.
		{"last_month LA vs UTC", LastMonth, "2024-03-01T05:00:00Z", la, "2024-01-01", "2024-01-31"},
		{"last_month on 31st", LastMonth, "2024-05-31T12:00:00Z", time.UTC, "2024-04-01", "2024-04-30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := PeriodFor(tt.period, at(tt.now), tt.loc)
			if err != nil {
				t.Fatal(err)
			}
			if !p.Since.Equal(day(tt.since)) || !p.Until.Equal(day(tt.until)) || p.Name != tt.period {
				t.Errorf("got %s %s, want %s..%s", p.Name, p, tt.since, tt.until)
			}
			if p.Since.Location() != time.UTC || p.Since.Hour() != 0 {
				t.Errorf("since %v is not a UTC midnight", p.Since)
			}
		})
	}
}

func TestPeriodForDST(t *testing.T) {
	la := mustLoc(t, "America/Los_Angeles")
	// LA springs forward on 2024-03-10; 07:30 UTC is 23:30 PST on March 9.
	p, _ := PeriodFor(Last7d, at("2024-03-10T07:30:00Z"), la)
	if p.String() != "2024-03-02..2024-03-08" || p.Days() != 7 {
		t.Errorf("before DST: %s (%d days)", p, p.Days())
	}
	// 07:30 UTC on the 11th is 00:30 PDT on March 11.
	p, _ = PeriodFor(Last7d, at("2024-03-11T07:30:00Z"), la)
	if p.String() != "2024-03-04..2024-03-10" || p.Days() != 7 {
		t.Errorf("after DST: %s (%d days)", p, p.Days())
	}
}

func TestWindowFor(t *testing.T) {
	la := mustLoc(t, "America/Los_Angeles")
	now := at("2024-05-15T03:00:00Z") // May 14, 20:00 in LA
	tests := []struct{ window, since, until string }{
		{Today, "2024-05-14", "2024-05-14"},
		{Yesterday, "2024-05-13", "2024-05-13"},
		{Last3d, "2024-05-12", "2024-05-14"},
		{Last7d, "2024-05-08", "2024-05-14"},
		{Last14d, "2024-05-01", "2024-05-14"},
		{Last30d, "2024-04-15", "2024-05-14"},
	}
	for _, tt := range tests {
		p, err := WindowFor(tt.window, now, la)
		if err != nil {
			t.Fatal(err)
		}
		if !p.Since.Equal(day(tt.since)) || !p.Until.Equal(day(tt.until)) {
			t.Errorf("%s: got %s, want %s..%s", tt.window, p, tt.since, tt.until)
		}
	}
}

func TestUnknownNames(t *testing.T) {
	_, err := PeriodFor("last_week", time.Now(), time.UTC)
	if err == nil || !strings.Contains(err.Error(), "yesterday, last_7d, last_30d, this_month, last_month") {
		t.Errorf("period error = %v", err)
	}
	_, err = WindowFor("this_month", time.Now(), time.UTC)
	if err == nil || !strings.Contains(err.Error(), "today, yesterday, last_3d") {
		t.Errorf("window error = %v", err)
	}
}

func TestPrevious(t *testing.T) {
	tests := []struct {
		name         string
		p            Period
		since, until string
		days         int
	}{
		{"yesterday", Period{Yesterday, day("2024-03-01"), day("2024-03-01")}, "2024-02-29", "2024-02-29", 1},
		{"last_7d", Period{Last7d, day("2024-03-04"), day("2024-03-10")}, "2024-02-26", "2024-03-03", 7},
		{"last_30d", Period{Last30d, day("2024-04-15"), day("2024-05-14")}, "2024-03-16", "2024-04-14", 30},
		{"this_month same length", Period{ThisMonth, day("2024-03-01"), day("2024-03-15")}, "2024-02-15", "2024-02-29", 15},
		{"last_month Mar→Feb leap", Period{LastMonth, day("2024-03-01"), day("2024-03-31")}, "2024-02-01", "2024-02-29", 29},
		{"last_month Feb→Jan", Period{LastMonth, day("2024-02-01"), day("2024-02-29")}, "2024-01-01", "2024-01-31", 31},
		{"last_month Jan→Dec", Period{LastMonth, day("2024-01-01"), day("2024-01-31")}, "2023-12-01", "2023-12-31", 31},
		{"last_month May→Apr", Period{LastMonth, day("2024-05-01"), day("2024-05-31")}, "2024-04-01", "2024-04-30", 30},
		{"window today", Period{Today, day("2024-05-14"), day("2024-05-14")}, "2024-05-13", "2024-05-13", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.p.Previous()
			if !got.Since.Equal(day(tt.since)) || !got.Until.Equal(day(tt.until)) || got.Days() != tt.days {
				t.Errorf("got %s (%d days), want %s..%s (%d)", got, got.Days(), tt.since, tt.until, tt.days)
			}
			if got.Name != tt.p.Name {
				t.Errorf("name %q, want %q", got.Name, tt.p.Name)
			}
		})
	}
	// Chained: March → February → January, each with its own length.
	p := Period{LastMonth, day("2024-03-01"), day("2024-03-31")}.Previous().Previous()
	if p.String() != "2024-01-01..2024-01-31" {
		t.Errorf("chained previous = %s", p)
	}
}

func TestPeriodHelpersAndJSON(t *testing.T) {
	p := Period{Last7d, day("2024-05-08"), day("2024-05-14")}
	if p.Days() != 7 || (Period{}).Days() != 0 {
		t.Errorf("Days = %d / %d", p.Days(), Period{}.Days())
	}
	if !p.Contains(day("2024-05-08")) || !p.Contains(at("2024-05-14T23:59:00Z")) || p.Contains(day("2024-05-15")) || p.Contains(day("2024-05-07")) {
		t.Error("Contains is wrong at the edges")
	}
	b, err := json.Marshal(p)
	if err != nil || string(b) != `{"name":"last_7d","since":"2024-05-08","until":"2024-05-14"}` {
		t.Fatalf("marshal = %s, %v", b, err)
	}
	var back Period
	if err := json.Unmarshal(b, &back); err != nil || back.Name != p.Name || !back.Since.Equal(p.Since) || !back.Until.Equal(p.Until) {
		t.Errorf("round trip = %+v, %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"name":"x","since":"soon","until":"2024-01-01"}`), &back); err == nil {
		t.Error("bad date accepted")
	}
}
