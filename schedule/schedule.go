// Package schedule holds an automation's schedule (automation.schedule_config):
// parsing, validation, a human description and the computation of run times
// that stays correct across daylight-saving changes.
//
// Stored JSON (public contract, field names must not change):
//
//	{"kind":"interval|hourly|daily|weekly|monthly|cron","every_minutes":15,"minute":0,
//	 "time":"09:00","days":["mon","fri"],"day":1,"expr":"0 9 * * 1-5",
//	 "timezone":"Europe/Berlin|account"}
//
// Each kind uses only its own fields; Normalized drops the others.
//
// Run times (computed in the schedule's zone, returned in UTC):
//   - interval: if every_minutes divides 1440, the wall-clock slots
//     00:00 + k·every_minutes of each local day ("every 6 hours" stays at
//     00/06/12/18 local); otherwise every every_minutes counted from the
//     Unix epoch, zone-independent (every 2 days / 1 week: 00:00 UTC, the
//     week from a Thursday).
//   - hourly: every hour at :minute.
//   - daily / weekly: at time on every (chosen) day.
//   - monthly: at time on day; a month without that day runs on its last
//     day (day 31 → Apr 30, Feb 28, Feb 29 in leap years).
//   - cron: a standard 5-field expression, parsed by robfig/cron/v3
//     ParseStandard and stepped by this package with the rules below (see
//     dst.go for why not robfig's Next).
//
// DST rules:
//   - "Clock" schedules — daily, weekly, monthly, interval > 60 minutes, and
//     cron expressions whose hour field is not every hour — run once per
//     wall-clock slot. A slot inside a spring-forward gap (02:30 on
//     2026-03-29 in Berlin) runs at the first instant after the gap
//     (03:00 local) instead of being skipped; a slot that happens twice on
//     fall-back runs once, at its first occurrence.
//   - "Real-time" schedules — hourly, interval ≤ 60 minutes, and cron
//     expressions with every hour — run at every real instant whose local
//     wall clock matches. Slots in a gap don't exist and are not made up
//     (01:30 CET is followed by 03:30 CEST: one real hour); slots in the
//     repeated hour run at both occurrences (02:30 CEST, 02:30 CET). With
//     whole-hour shifts (Europe, the US) the spacing stays exactly
//     every_minutes / one hour of real time: no double run, no lost hour.
//     A 30-minute shift (Australia/Lord_Howe) makes one interval 30 minutes
//     longer or shorter.
package schedule

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Kinds of schedules.
const (
	KindInterval = "interval"
	KindHourly   = "hourly"
	KindDaily    = "daily"
	KindWeekly   = "weekly"
	KindMonthly  = "monthly"
	KindCron     = "cron"
)

// AccountTZ is the timezone value meaning "the connection's own timezone".
const AccountTZ = "account"

// Limits on interval schedules, in minutes.
const (
	MinEveryMinutes = 5
	MaxEveryMinutes = 7 * 24 * 60
)

// weekdays lists the accepted day names in display (Monday-first) order.
var weekdays = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

// Schedule is the stored schedule_config.
type Schedule struct {
	Kind         string   `json:"kind"`
	EveryMinutes int      `json:"every_minutes,omitempty"`
	Minute       int      `json:"minute,omitempty"`
	Time         string   `json:"time,omitempty"`
	Days         []string `json:"days,omitempty"`
	Day          int      `json:"day,omitempty"`
	Expr         string   `json:"expr,omitempty"`
	Timezone     string   `json:"timezone"`
}

// Parse decodes a schedule_config. Unknown fields are an error (they are
// almost always typos such as "every_minute"); the values are not validated,
// call Validate for per-field messages.
func Parse(raw []byte) (Schedule, error) {
	var s Schedule
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Schedule{}, fmt.Errorf("schedule: %w", err)
	}
	if dec.More() {
		return Schedule{}, errors.New("schedule: trailing data after the JSON object")
	}
	return s, nil
}

// Normalized returns a copy with trimmed strings, lower-case kind and days,
// days de-duplicated in mon..sun order (unknown names kept last so Validate
// still reports them), and the fields other kinds don't use zeroed.
func (s Schedule) Normalized() Schedule {
	n := Schedule{Kind: strings.ToLower(strings.TrimSpace(s.Kind)), Timezone: strings.TrimSpace(s.Timezone)}
	switch n.Kind {
	case KindInterval:
		n.EveryMinutes = s.EveryMinutes
	case KindHourly:
		n.Minute = s.Minute
	case KindDaily:
		n.Time = strings.TrimSpace(s.Time)
	case KindWeekly:
		n.Time = strings.TrimSpace(s.Time)
		n.Days = normalizeDays(s.Days)
	case KindMonthly:
		n.Time = strings.TrimSpace(s.Time)
		n.Day = s.Day
	case KindCron:
		n.Expr = strings.Join(strings.Fields(s.Expr), " ")
	default: // unknown kind: keep everything so nothing the user typed is lost
		n = s
		n.Kind, n.Timezone = strings.ToLower(strings.TrimSpace(s.Kind)), strings.TrimSpace(s.Timezone)
	}
	return n
}

func normalizeDays(in []string) []string {
	var known, unknown []string
	for _, d := range in {
		d = strings.ToLower(strings.TrimSpace(d))
		switch {
		case slices.Contains(weekdays, d):
			if !slices.Contains(known, d) {
				known = append(known, d)
			}
		case !slices.Contains(unknown, d):
			unknown = append(unknown, d)
		}
	}
	slices.SortFunc(known, func(a, b string) int { return slices.Index(weekdays, a) - slices.Index(weekdays, b) })
	return append(known, unknown...)
}

// Describe renders the schedule for lists and the form ("Daily at 09:00").
func (s Schedule) Describe() string {
	n := s.Normalized()
	switch n.Kind {
	case KindInterval:
		switch {
		case n.EveryMinutes == 60:
			return "Every hour"
		case n.EveryMinutes > 60 && n.EveryMinutes%60 == 0:
			return fmt.Sprintf("Every %d hours", n.EveryMinutes/60)
		}
		return fmt.Sprintf("Every %d minutes", n.EveryMinutes)
	case KindHourly:
		return fmt.Sprintf("Hourly at :%02d", n.Minute)
	case KindDaily:
		return "Daily at " + n.Time
	case KindWeekly:
		names := make([]string, len(n.Days))
		for i, d := range n.Days {
			names[i] = strings.ToUpper(d[:min(1, len(d))]) + d[min(1, len(d)):]
		}
		return strings.Join(names, ", ") + " at " + n.Time
	case KindMonthly:
		if n.Day > 28 {
			return fmt.Sprintf("Monthly on day %d (last day in shorter months) at %s", n.Day, n.Time)
		}
		return fmt.Sprintf("Monthly on day %d at %s", n.Day, n.Time)
	case KindCron:
		return "Cron " + n.Expr
	}
	return "Unknown schedule"
}

// Resolve turns a schedule's timezone into a location: "account" is the
// connection's zone (falling back to the tenant's, then UTC), "" is the
// tenant's zone (then UTC), anything else must be an IANA zone name.
func Resolve(tz, accountTZ, tenantTZ string) (*time.Location, error) {
	tz, accountTZ, tenantTZ = strings.TrimSpace(tz), strings.TrimSpace(accountTZ), strings.TrimSpace(tenantTZ)
	if tz == AccountTZ {
		tz = accountTZ
		if tz == "" {
			tz = tenantTZ
		}
	} else if tz == "" {
		tz = tenantTZ
	}
	if tz == "" {
		return time.UTC, nil
	}
	return loadZone(tz)
}

// loadZone refuses "Local": it would silently mean the server's zone.
func loadZone(name string) (*time.Location, error) {
	if name == "Local" || name == AccountTZ {
		return nil, fmt.Errorf("schedule: unknown time zone %q", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("schedule: unknown time zone %q", name)
	}
	return loc, nil
}

// Next returns the first run strictly after `after`, computed in loc (the
// resolved timezone, see Resolve), in UTC. An invalid schedule is an error.
func (s Schedule) Next(after time.Time, loc *time.Location) (time.Time, error) {
	runs, err := s.NextN(after, loc, 1)
	if err != nil {
		return time.Time{}, err
	}
	return runs[0], nil
}

// NextN returns the next n runs after `after`, strictly increasing, in UTC
// (the form previews the next 3).
func (s Schedule) NextN(after time.Time, loc *time.Location, n int) ([]time.Time, error) {
	if loc == nil {
		return nil, errors.New("schedule: no location")
	}
	if errs := s.Validate(); len(errs) > 0 {
		return nil, errInvalid(errs)
	}
	next, err := s.Normalized().nextFunc(loc)
	if err != nil {
		return nil, err
	}
	out := make([]time.Time, 0, max(n, 0))
	for t := after; len(out) < n; {
		r := next(t)
		if r.IsZero() || !r.After(t) { // defensive: never loop or go backwards
			return nil, errors.New("schedule: no next run found")
		}
		out = append(out, r.UTC())
		t = r
	}
	return out, nil
}
