// Package reports holds the pure maths behind automations: report periods
// and alert windows in an account's timezone, aggregation of daily insight
// rows into totals with derived ratios, and alert evaluation with its
// per-entity state machine. Nothing here does I/O or reads the clock.
package reports

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Period is a range of calendar dates, both inclusive. Since and Until are
// UTC midnights standing for the account-local dates, the same convention
// as platforms.InsightRow.Date and platforms.InsightsQuery.
type Period struct {
	Name  string
	Since time.Time
	Until time.Time
}

// Report periods (scheduled_report "period").
const (
	Yesterday = "yesterday"
	Last7d    = "last_7d"
	Last30d   = "last_30d"
	ThisMonth = "this_month"
	LastMonth = "last_month"
)

// Alert windows (alert "window"); Yesterday, Last7d and Last30d are shared.
const (
	Today    = "today"
	Last3d   = "last_3d"
	Last14d  = "last_14d"
	dateOnly = "2006-01-02"
)

// PeriodNames are the valid scheduled_report periods, in display order.
var PeriodNames = []string{Yesterday, Last7d, Last30d, ThisMonth, LastMonth}

// WindowNames are the valid alert windows, in display order.
var WindowNames = []string{Today, Yesterday, Last3d, Last7d, Last14d, Last30d}

// localToday is the calendar date of now in loc, as a UTC midnight. A nil
// loc means UTC.
func localToday(now time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	y, m, d := now.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// dateOf drops the time of day, keeping t's own calendar date.
func dateOf(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func days(t time.Time, n int) time.Time { return t.AddDate(0, 0, n) }

// PeriodFor computes a report period for the day now falls on in loc.
// Report periods are complete days, so "last_7d" and "last_30d" end
// yesterday. The exception is "this_month": month to date, from the 1st
// through today, today included (so it is partial until the day ends; on
// the 1st it is just today).
func PeriodFor(name string, now time.Time, loc *time.Location) (Period, error) {
	today := localToday(now, loc)
	p := Period{Name: name}
	switch name {
	case Yesterday:
		p.Since, p.Until = days(today, -1), days(today, -1)
	case Last7d:
		p.Since, p.Until = days(today, -7), days(today, -1)
	case Last30d:
		p.Since, p.Until = days(today, -30), days(today, -1)
	case ThisMonth:
		p.Since, p.Until = today.AddDate(0, 0, 1-today.Day()), today
	case LastMonth:
		first := today.AddDate(0, 0, 1-today.Day())
		p.Since, p.Until = first.AddDate(0, -1, 0), days(first, -1)
	default:
		return Period{}, fmt.Errorf("unknown period %q (valid: %s)", name, strings.Join(PeriodNames, ", "))
	}
	return p, nil
}

// WindowFor computes an alert window for the day now falls on in loc.
// Alerts watch live data, so every "last_Nd" window includes today: today
// and the N-1 days before ("last_3d" is today and the 2 days before).
// Unlike PeriodFor, "last_7d" here therefore ends today, not yesterday.
// "today" and the windows are partial until the local day ends.
func WindowFor(name string, now time.Time, loc *time.Location) (Period, error) {
	today := localToday(now, loc)
	n := 0
	switch name {
	case Today:
		n = 1
	case Yesterday:
		return Period{Name: name, Since: days(today, -1), Until: days(today, -1)}, nil
	case Last3d:
		n = 3
	case Last7d:
		n = 7
	case Last14d:
		n = 14
	case Last30d:
		n = 30
	default:
		return Period{}, fmt.Errorf("unknown window %q (valid: %s)", name, strings.Join(WindowNames, ", "))
	}
	return Period{Name: name, Since: days(today, 1-n), Until: today}, nil
}

// Days is the number of calendar dates in p (0 for a zero Period).
func (p Period) Days() int {
	if p.Since.IsZero() || p.Until.Before(p.Since) {
		return 0
	}
	// Both are UTC midnights, so the division is exact (no DST in UTC).
	return int(dateOf(p.Until).Sub(dateOf(p.Since))/(24*time.Hour)) + 1
}

// Contains reports whether date (its calendar date) lies within p.
func (p Period) Contains(date time.Time) bool {
	d := dateOf(date)
	return !d.Before(dateOf(p.Since)) && !d.After(dateOf(p.Until))
}

// Previous is the period just before p with the same number of days, for
// comparisons. "last_month" is the exception: its previous period is the
// whole calendar month before, with that month's own length (March's
// previous is February, 28 or 29 days). The name is kept so that
// Previous can be chained. A month-to-date "this_month" compares with the
// same number of days just before the 1st, not the same dates last month.
func (p Period) Previous() Period {
	if p.Name == LastMonth {
		since := dateOf(p.Since)
		first := since.AddDate(0, 0, 1-since.Day())
		return Period{Name: p.Name, Since: first.AddDate(0, -1, 0), Until: days(first, -1)}
	}
	n := p.Days()
	return Period{Name: p.Name, Since: days(dateOf(p.Since), -n), Until: days(dateOf(p.Since), -1)}
}

// String is "2024-05-01..2024-05-31", or one date for a one-day period.
func (p Period) String() string {
	if p.Since.Equal(p.Until) {
		return p.Since.Format(dateOnly)
	}
	return p.Since.Format(dateOnly) + ".." + p.Until.Format(dateOnly)
}

type periodJSON struct {
	Name  string `json:"name"`
	Since string `json:"since"`
	Until string `json:"until"`
}

// MarshalJSON writes {"name","since","until"} with plain YYYY-MM-DD dates,
// since a timestamp would suggest a UTC instant the dates do not mean.
func (p Period) MarshalJSON() ([]byte, error) {
	return json.Marshal(periodJSON{p.Name, p.Since.Format(dateOnly), p.Until.Format(dateOnly)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (p *Period) UnmarshalJSON(b []byte) error {
	var v periodJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	since, err := time.Parse(dateOnly, v.Since)
	if err != nil {
		return fmt.Errorf("period since: %w", err)
	}
	until, err := time.Parse(dateOnly, v.Until)
	if err != nil {
		return fmt.Errorf("period until: %w", err)
	}
	*p = Period{Name: v.Name, Since: since, Until: until}
	return nil
}
