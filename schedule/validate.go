package schedule

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// FieldErrors maps a JSON field name ("kind", "every_minutes", "minute",
// "time", "days", "day", "expr", "timezone") to a message for the form.
type FieldErrors map[string]string

func (e FieldErrors) Error() string {
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + e[k]
	}
	return strings.Join(parts, "; ")
}

// Validation messages, exported so handlers and tests share the wording.
const (
	MsgKind         = "Choose how often this automation runs."
	MsgEveryMinutes = "Choose an interval between 5 minutes and 7 days (10080 minutes)."
	MsgMinute       = "Choose a minute between 0 and 59."
	MsgTime         = "Use a time such as 09:00."
	MsgDaysEmpty    = "Choose at least one day."
	MsgDaysUnknown  = "Use the days mon, tue, wed, thu, fri, sat and sun."
	MsgDaysTwice    = "Choose each day only once."
	MsgDay          = "Choose a day of the month between 1 and 31."
	MsgExprEmpty    = "Enter a cron expression such as 0 9 * * 1-5."
	MsgExprShortcut = "Use the five fields minute hour day month weekday; shortcuts such as @daily aren't supported."
	MsgExprTZ       = "Set the timezone in the timezone field, not in the expression."
	MsgExprInvalid  = "Use five fields: minute hour day-of-month month weekday, such as 0 9 * * 1-5."
	MsgExprTooOften = "This runs more often than every 5 minutes; choose a less frequent schedule."
	MsgExprNever    = "This expression never runs; check the day and month."
	MsgTimezone     = "Choose a timezone such as Europe/Berlin, or the ad account's timezone."
)

var hhmm = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)

// Validate checks the fields the kind uses, as they are (no implicit
// trimming or lower-casing: call Normalized first to accept "Mon" or " 09:00").
// Fields that belong to other kinds are ignored. Empty result = valid.
func (s Schedule) Validate() FieldErrors {
	errs := FieldErrors{}
	switch s.Kind {
	case KindInterval:
		if s.EveryMinutes < MinEveryMinutes || s.EveryMinutes > MaxEveryMinutes {
			errs["every_minutes"] = MsgEveryMinutes
		}
	case KindHourly:
		if s.Minute < 0 || s.Minute > 59 {
			errs["minute"] = MsgMinute
		}
	case KindDaily, KindWeekly, KindMonthly:
		if !hhmm.MatchString(s.Time) {
			errs["time"] = MsgTime
		}
		if s.Kind == KindWeekly {
			if msg := validateDays(s.Days); msg != "" {
				errs["days"] = msg
			}
		}
		if s.Kind == KindMonthly && (s.Day < 1 || s.Day > 31) {
			errs["day"] = MsgDay
		}
	case KindCron:
		if _, msg := parseCron(s.Expr); msg != "" {
			errs["expr"] = msg
		}
	default:
		errs["kind"] = MsgKind
	}
	if s.Timezone != "" && s.Timezone != AccountTZ {
		if _, err := loadZone(s.Timezone); err != nil {
			errs["timezone"] = MsgTimezone
		}
	}
	return errs
}

func validateDays(days []string) string {
	if len(days) == 0 {
		return MsgDaysEmpty
	}
	for i, d := range days {
		if !slices.Contains(weekdays, d) {
			return MsgDaysUnknown
		}
		if slices.Contains(days[:i], d) {
			return MsgDaysTwice
		}
	}
	return ""
}

// parseCron parses a standard 5-field expression and returns a form message
// when it's not acceptable.
func parseCron(expr string) (*cron.SpecSchedule, string) {
	spec, msg := parseSpec(expr)
	if msg == "" {
		msg = cronFrequency(spec)
	}
	return spec, msg
}

// parseSpec is the syntax half of parseCron (cheap; Next uses it on an
// already validated schedule).
func parseSpec(expr string) (*cron.SpecSchedule, string) {
	expr = strings.TrimSpace(expr)
	switch {
	case expr == "":
		return nil, MsgExprEmpty
	case strings.HasPrefix(expr, "@"):
		return nil, MsgExprShortcut
	case strings.Contains(expr, "TZ="): // robfig's TZ=/CRON_TZ= prefix
		return nil, MsgExprTZ
	}
	if len(strings.Fields(expr)) != 5 {
		return nil, MsgExprInvalid
	}
	parsed, err := cron.ParseStandard(expr)
	if err != nil {
		return nil, MsgExprInvalid
	}
	spec, ok := parsed.(*cron.SpecSchedule)
	if !ok {
		return nil, MsgExprInvalid
	}
	return spec, ""
}

// freqFrom and freqDays: 9 years of calendar include three Feb 29ths and
// every weekday/date combination.
var freqFrom = time.Date(2024, time.January, 1, 0, 0, 0, 0, time.UTC)

const freqDays = 9 * 366

// cronFrequency finds the shortest gap between two firings from the bit
// sets instead of sampling robfig's Next, which could miss a close pair
// that only happens on some dates. Firings are close only (a) within an
// hour, (b) from the last minute of an hour to the first of the next hour
// when both hours are set, or (c) from 23:xx to 00:xx of two consecutive
// matching days. TestCronFrequencyMatchesSampling cross-checks it.
func cronFrequency(spec *cron.SpecSchedule) string {
	first, last, prev := -1, -1, -1
	for m := 0; m < 60; m++ {
		if spec.Minute&(1<<uint(m)) == 0 {
			continue
		}
		if prev >= 0 && m-prev < MinEveryMinutes {
			return MsgExprTooOften // (a)
		}
		if first < 0 {
			first = m
		}
		prev, last = m, m
	}
	wrapClose := 60-last+first < MinEveryMinutes
	for h := 0; h < 23; h++ {
		if wrapClose && spec.Hour&(3<<uint(h)) == 3<<uint(h) {
			return MsgExprTooOften // (b)
		}
	}
	acrossMidnight := wrapClose && spec.Hour&(1<<23) != 0 && spec.Hour&1 != 0
	runs, prevDay := false, false
	for d, i := freqFrom, 0; i < freqDays && (acrossMidnight || !runs); d, i = d.Add(24*time.Hour), i+1 {
		day := cronDay(spec, d)
		if day && prevDay && acrossMidnight {
			return MsgExprTooOften // (c)
		}
		runs, prevDay = runs || day, day
	}
	if !runs {
		return MsgExprNever
	}
	return ""
}

// errInvalid wraps FieldErrors for callers that only want an error.
func errInvalid(errs FieldErrors) error { return fmt.Errorf("schedule: invalid: %w", errs) }
