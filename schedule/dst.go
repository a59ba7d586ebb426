package schedule

import (
	"errors"
	"time"

	"github.com/robfig/cron/v3"
)

// Wall-clock times are carried as time.Time values in UTC whose fields are
// the local reading (a "wall"), and turned into instants with firstAt.

// maxScanDays bounds the day-by-day search; monthly needs at most 31.
const maxScanDays = 800

// nextFunc returns the function computing the first run strictly after t for
// a normalized, valid schedule.
func (s Schedule) nextFunc(loc *time.Location) (func(time.Time) time.Time, error) {
	h, m := 0, 0
	if s.Time != "" {
		h, m = int(s.Time[0]-'0')*10+int(s.Time[1]-'0'), int(s.Time[3]-'0')*10+int(s.Time[4]-'0')
	}
	slot := []int{h*60 + m}
	switch s.Kind {
	case KindInterval:
		n := s.EveryMinutes
		switch {
		case 1440%n != 0:
			return func(t time.Time) time.Time { return nextEpoch(t, n) }, nil
		case n <= 60:
			return func(t time.Time) time.Time {
				return nextRealTime(t, loc, func(w time.Time) bool { return (w.Hour()*60+w.Minute())%n == 0 })
			}, nil
		}
		slots := make([]int, 0, 1440/n)
		for x := 0; x < 1440; x += n {
			slots = append(slots, x)
		}
		return func(t time.Time) time.Time { return nextClock(t, loc, slots, func(time.Time) bool { return true }) }, nil
	case KindHourly:
		return func(t time.Time) time.Time {
			return nextRealTime(t, loc, func(w time.Time) bool { return w.Minute() == s.Minute })
		}, nil
	case KindDaily:
		return func(t time.Time) time.Time { return nextClock(t, loc, slot, func(time.Time) bool { return true }) }, nil
	case KindWeekly:
		on := map[time.Weekday]bool{}
		for _, d := range s.Days {
			for i, name := range weekdays {
				if d == name {
					on[time.Weekday((i+1)%7)] = true // weekdays starts on Monday
				}
			}
		}
		return func(t time.Time) time.Time {
			return nextClock(t, loc, slot, func(d time.Time) bool { return on[d.Weekday()] })
		}, nil
	case KindMonthly:
		return func(t time.Time) time.Time {
			return nextClock(t, loc, slot, func(d time.Time) bool {
				last := time.Date(d.Year(), d.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day()
				return d.Day() == min(s.Day, last) // short months run on their last day
			})
		}, nil
	case KindCron:
		spec, msg := parseSpec(s.Expr)
		if msg != "" {
			return nil, errors.New("schedule: " + msg)
		}
		return nextCron(spec, loc), nil
	}
	return nil, errors.New("schedule: unknown kind")
}

// nextEpoch: every n minutes counted from the Unix epoch, zone-independent.
func nextEpoch(t time.Time, n int) time.Time {
	step := int64(n) * 60
	k := t.Unix() / step
	if t.Unix()%step < 0 { // floor division for instants before 1970
		k--
	}
	return time.Unix((k+1)*step, 0).UTC()
}

// nextRealTime walks real minutes after t and returns the first whose local
// wall clock matches: gap minutes are never seen, repeated minutes are seen
// twice — real-time spacing is kept across DST.
func nextRealTime(t time.Time, loc *time.Location, match func(wall time.Time) bool) time.Time {
	c := t.Truncate(time.Minute).Add(time.Minute)
	for i := 0; i < 3*24*60; i++ {
		if match(c.In(loc)) {
			return c
		}
		c = c.Add(time.Minute)
	}
	return time.Time{}
}

// nextClock scans local days from the one containing t and returns the first
// slot (minute of day) on a matching day that resolves after t. Each slot
// resolves once (see firstAt), so fall-back doesn't run it twice.
func nextClock(t time.Time, loc *time.Location, slots []int, dayOK func(day time.Time) bool) time.Time {
	return nextClockN(t, loc, slots, dayOK, maxScanDays)
}

func nextClockN(t time.Time, loc *time.Location, slots []int, dayOK func(day time.Time) bool, maxDays int) time.Time {
	l := t.In(loc)
	day := time.Date(l.Year(), l.Month(), l.Day()-1, 0, 0, 0, 0, time.UTC) // -1: paranoia about gaps at midnight
	for i := 0; i < maxDays; i++ {
		d := day.AddDate(0, 0, i)
		if !dayOK(d) {
			continue
		}
		for _, s := range slots {
			if r := firstAt(d.Add(time.Duration(s)*time.Minute), loc); r.After(t) {
				return r
			}
		}
	}
	return time.Time{}
}

// firstAt returns the first instant whose wall clock in loc reads wall; if
// wall falls into a spring-forward gap, the instant the gap ends (the first
// valid local time after it, e.g. 03:00 for 02:30). time.Date doesn't do
// this: its choice in gaps and overlaps is unspecified and differs by zone.
func firstAt(wall time.Time, loc *time.Location) time.Time {
	var best time.Time
	// The offsets in force two days around the wall time cover the ones
	// before and after any transition near it.
	for _, probe := range []time.Duration{-48 * time.Hour, 0, 48 * time.Hour} {
		_, off := wall.Add(probe).In(loc).Zone()
		u := wall.Add(-time.Duration(off) * time.Second)
		if sameWall(u.In(loc), wall) && (best.IsZero() || u.Before(best)) {
			best = u
		}
	}
	if !best.IsZero() {
		return best
	}
	// In a gap: read with the offset before the gap, the instant lies just
	// after the transition, which is where its zone period starts.
	_, before := wall.Add(-48 * time.Hour).In(loc).Zone()
	u := wall.Add(-time.Duration(before) * time.Second)
	_, after := u.In(loc).Zone()
	if start, _ := u.In(loc).ZoneBounds(); !start.After(u) && u.Sub(start) < time.Duration(after-before)*time.Second {
		return start
	}
	return u // not a plain gap (odd tzdata): the offset-shifted reading
}

func sameWall(l, wall time.Time) bool {
	return l.Year() == wall.Year() && l.YearDay() == wall.YearDay() &&
		l.Hour() == wall.Hour() && l.Minute() == wall.Minute() && l.Second() == wall.Second()
}

// Cron expressions are parsed by robfig/cron (ParseStandard) but stepped
// here, on its bit sets, with the same two rules as the presets. robfig's
// own SpecSchedule.Next works on real time: it skips a fixed time that falls
// into a spring-forward gap ("30 2 * * *" doesn't run on 2026-03-29 in
// Berlin), runs it twice on fall-back, and in zones whose transitions sit
// at midnight (America/Goose_Bay, 1995) it returned a non-matching time
// that was not after its input — a caller looping on it never ends.
// dst_test.go pins robfig's gap/overlap behaviour and that we agree with it
// everywhere else.

// nextCron: expressions that fire every hour follow real time (like
// hourly); the others ("30 2 * * *", "0 */2 * * *") follow the clock rule
// of daily schedules, as Vixie cron does for fixed-time jobs.
func nextCron(spec *cron.SpecSchedule, loc *time.Location) func(time.Time) time.Time {
	if spec.Hour&allHours == allHours {
		return func(t time.Time) time.Time { return nextCronRealTime(spec, t, loc) }
	}
	var slots []int
	for m := 0; m < 24*60; m++ {
		if spec.Hour&(1<<uint(m/60)) != 0 && spec.Minute&(1<<uint(m%60)) != 0 {
			slots = append(slots, m)
		}
	}
	dayOK := func(d time.Time) bool { return cronDay(spec, d) }
	return func(t time.Time) time.Time { return nextClockN(t, loc, slots, dayOK, maxCronDays) }
}

const allHours = 1<<24 - 1

// maxCronDays: the longest gap between firings is "0 0 29 2 *" across
// 2100, which is not a leap year (8 years).
const maxCronDays = 9 * 366

// nextCronRealTime walks real minutes like nextRealTime, but jumps over
// local days that don't match so sparse day patterns stay cheap.
func nextCronRealTime(spec *cron.SpecSchedule, t time.Time, loc *time.Location) time.Time {
	c := t.Truncate(time.Minute).Add(time.Minute)
	// At most one step per skipped day plus about an hour of minutes.
	for i := 0; i < maxCronDays+3*24*60; i++ {
		w := c.In(loc)
		if !cronDay(spec, w) {
			next := firstAt(time.Date(w.Year(), w.Month(), w.Day()+1, 0, 0, 0, 0, time.UTC), loc)
			if !next.After(c) { // defensive: always make progress
				next = c.Add(time.Minute)
			}
			c = next
			continue
		}
		if spec.Minute&(1<<uint(w.Minute())) != 0 {
			return c
		}
		c = c.Add(time.Minute)
	}
	return time.Time{}
}

// cronDay mirrors robfig's day matching for a wall date: day-of-month and
// day-of-week are OR-ed unless one of them is "*" (robfig's starBit).
func cronDay(s *cron.SpecSchedule, d time.Time) bool {
	const star = 1 << 63
	if s.Month&(1<<uint(d.Month())) == 0 {
		return false
	}
	dom, dow := s.Dom&(1<<uint(d.Day())) != 0, s.Dow&(1<<uint(d.Weekday())) != 0
	if s.Dom&star != 0 || s.Dow&star != 0 {
		return dom && dow
	}
	return dom || dow
}
