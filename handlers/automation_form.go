package handlers

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"adpilot/engine"
	"adpilot/models"
	"adpilot/platforms"
	"adpilot/reports"
	"adpilot/schedule"
	"adpilot/webhooks"
)

// The automation form's field names are the API's error keys
// ("schedule.time", "config.conditions.0.metric"), so the API's validation
// messages land beside the right inputs. Only the timezone differs: a mode
// picker (team, account, other) plus the zone typed for "other".
const (
	tzModeTeam    = "team"
	tzModeAccount = "account"
	tzModeOther   = "other"
)

// minGuardMetrics are the minimum-data guards the form offers.
var minGuardMetrics = []string{reports.Spend, reports.Impressions, reports.Clicks, reports.Conversions}

// automationTypes are the types the form offers, in order.
var automationTypes = []string{engine.TypeReport, engine.TypeAlert, engine.TypeSync}

func knownAutomationType(t string) bool { return slices.Contains(automationTypes, t) }

// formInt reads a whole number; a field left empty is def.
func formInt(v url.Values, name string, def int, errs fieldErrors, msg string) int {
	s := strings.TrimSpace(v.Get(name))
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		errs.add(name, msg)
	}
	return n
}

// formFloat reads a number such as 20 or 12.5 (a comma decimal separator too).
func formFloat(v url.Values, name string, errs fieldErrors) (float64, bool) {
	s := strings.ReplaceAll(strings.TrimSpace(v.Get(name)), ",", ".")
	if s == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != f { // NaN
		errs.add(name, "Enter a number such as 20 or 12.5.")
		return 0, false
	}
	return f, true
}

// scheduleFromForm builds the schedule of the chosen kind; the fields of
// the other kinds are hidden in the page and ignored here.
func scheduleFromForm(v url.Values, errs fieldErrors) schedule.Schedule {
	s := schedule.Schedule{Kind: v.Get("schedule.kind")}
	switch s.Kind {
	case schedule.KindInterval:
		s.EveryMinutes = formInt(v, "schedule.every_minutes", 0, errs, schedule.MsgEveryMinutes)
	case schedule.KindHourly:
		s.Minute = formInt(v, "schedule.minute", 0, errs, schedule.MsgMinute)
	case schedule.KindDaily, schedule.KindWeekly, schedule.KindMonthly:
		s.Time = v.Get("schedule.time")
		s.Days = v["schedule.days"]
		s.Day = formInt(v, "schedule.day", 0, errs, schedule.MsgDay)
	case schedule.KindCron:
		s.Expr = v.Get("schedule.expr")
	}
	switch v.Get("schedule.tz_mode") {
	case tzModeAccount:
		s.Timezone = schedule.AccountTZ
	case tzModeOther:
		s.Timezone = strings.TrimSpace(v.Get("schedule.timezone"))
		if s.Timezone == "" {
			errs.add("schedule.timezone", "Type a time zone such as Europe/Berlin, or choose the team's.")
		}
	}
	return s.Normalized()
}

// configFromForm builds the type's config JSON from the form.
func configFromForm(typ string, v url.Values, errs fieldErrors) json.RawMessage {
	var cfg any
	switch typ {
	case engine.TypeReport:
		cfg = engine.ReportConfig{Level: v.Get("config.level"), Period: v.Get("config.period"), Metrics: v["config.metrics"],
			Compare: v.Get("config.compare") == "true", Chart: v.Get("config.chart") == "true",
			Top: formInt(v, "config.top", 0, errs, "Enter a whole number from 0 to 50."), TopBy: v.Get("config.top_by")}
	case engine.TypeAlert:
		if v.Get("config.trigger") == "event" {
			cfg = webhooks.EventAutomationConfig{Trigger: "event", Event: v.Get("config.event"), Filters: webhooks.EventFilters{
				PageID: splitIDs(v.Get("config.filters.page_id")), FormID: splitIDs(v.Get("config.filters.form_id")),
				AdID: splitIDs(v.Get("config.filters.ad_id"))}}
			break
		}
		c := reports.AlertConfig{Level: platforms.Level(v.Get("config.level")), Window: v.Get("config.window"),
			Match: v.Get("config.match"), Action: v.Get("config.action"), NotifyResolved: v.Get("config.notify_resolved") == "true",
			CooldownMinutes: formInt(v, "config.cooldown_minutes", 0, errs, "Enter a whole number of minutes."),
			Conditions:      []reports.Condition{}, Min: map[string]float64{}}
		for i := range reports.MaxConditions {
			key := fmt.Sprintf("config.conditions.%d.", i)
			if v.Get(key+"metric") == "" {
				continue // an unused row
			}
			value, ok := formFloat(v, key+"value", errs)
			if !ok && errs[key+"value"] == "" {
				errs.add(key+"value", "Enter the value to compare with.")
			}
			c.Conditions = append(c.Conditions, reports.Condition{Metric: v.Get(key + "metric"), Op: v.Get(key + "op"), Value: value})
		}
		for _, m := range minGuardMetrics {
			if f, ok := formFloat(v, "config.min."+m, errs); ok {
				c.Min[m] = f
			}
		}
		cfg = c
	case engine.TypeSync:
		cfg = engine.SyncConfig{Level: v.Get("config.level"), Metrics: v["config.metrics"],
			LookbackDays: formInt(v, "config.lookback_days", 0, errs, "Enter a whole number of days.")}
	default:
		return nil
	}
	raw, _ := json.Marshal(cfg)
	return raw
}

// splitIDs reads ids separated by commas, semicolons or spaces.
func splitIDs(raw string) webhooks.StringList {
	var out webhooks.StringList
	for _, id := range strings.FieldsFunc(raw, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\t' }) {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// bodyFromForm turns the form into the API's body, so both go through the
// same validation (validateAutomation).
func bodyFromForm(typ string, v url.Values, errs fieldErrors) apiAutomationBody {
	name, dest := v.Get("name"), v.Get("destination_id")
	status := models.AutomationActive
	if v.Get("status") == models.AutomationPaused {
		status = models.AutomationPaused
	}
	b := apiAutomationBody{Name: &name, Type: typ, DestinationID: &dest, Connections: v["connections"], Status: status,
		Config: configFromForm(typ, v, errs)}
	if typ == engine.TypeAlert && v.Get("config.trigger") == "event" {
		b.Connections = nil // hidden in the page: the Page filter narrows events down
		return b
	}
	sched := scheduleFromForm(v, errs)
	b.Schedule, _ = json.Marshal(sched)
	return b
}

// valuesFromAutomation fills the form from a stored automation.
func valuesFromAutomation(a models.Automation, connectionIDs []string) url.Values {
	v := url.Values{"name": {a.Name}, "connections": connectionIDs, "status": {a.Status}}
	if a.Status != models.AutomationPaused {
		v.Set("status", models.AutomationActive)
	}
	if a.DestinationID != nil {
		v.Set("destination_id", *a.DestinationID)
	}
	if s, err := schedule.Parse(a.ScheduleConfig); err == nil {
		setScheduleValues(v, s)
	}
	setConfigValues(v, a.Type, a.AutomationConfig)
	return v
}

func setScheduleValues(v url.Values, s schedule.Schedule) {
	v.Set("schedule.kind", s.Kind)
	switch s.Kind {
	case schedule.KindInterval:
		v.Set("schedule.every_minutes", strconv.Itoa(s.EveryMinutes))
	case schedule.KindHourly:
		v.Set("schedule.minute", strconv.Itoa(s.Minute))
	case schedule.KindDaily, schedule.KindWeekly, schedule.KindMonthly:
		v.Set("schedule.time", s.Time)
		v["schedule.days"] = s.Days
		if s.Day > 0 {
			v.Set("schedule.day", strconv.Itoa(s.Day))
		}
	case schedule.KindCron:
		v.Set("schedule.expr", s.Expr)
	}
	switch s.Timezone {
	case "":
		v.Set("schedule.tz_mode", tzModeTeam)
	case schedule.AccountTZ:
		v.Set("schedule.tz_mode", tzModeAccount)
	default:
		v.Set("schedule.tz_mode", tzModeOther)
		v.Set("schedule.timezone", s.Timezone)
	}
}

func setConfigValues(v url.Values, typ string, raw json.RawMessage) {
	setBool := func(name string, b bool) {
		if b {
			v.Set(name, "true")
		}
	}
	switch typ {
	case engine.TypeReport:
		var c engine.ReportConfig
		if json.Unmarshal(raw, &c) != nil {
			return
		}
		v.Set("config.level", c.Level)
		v.Set("config.period", c.Period)
		v["config.metrics"] = c.Metrics
		setBool("config.compare", c.Compare)
		setBool("config.chart", c.Chart)
		v.Set("config.top", strconv.Itoa(c.Top))
		v.Set("config.top_by", c.TopBy)
	case engine.TypeAlert:
		if ev, ok := webhooks.ParseEventAutomationConfig(raw); ok {
			v.Set("config.trigger", "event")
			v.Set("config.event", ev.Event)
			v.Set("config.filters.page_id", strings.Join(ev.Filters.PageID, ", "))
			v.Set("config.filters.form_id", strings.Join(ev.Filters.FormID, ", "))
			v.Set("config.filters.ad_id", strings.Join(ev.Filters.AdID, ", "))
			return
		}
		var c reports.AlertConfig
		if json.Unmarshal(raw, &c) != nil {
			return
		}
		v.Set("config.level", string(c.Level))
		v.Set("config.window", c.Window)
		v.Set("config.match", c.Match)
		v.Set("config.action", c.Action)
		setBool("config.notify_resolved", c.NotifyResolved)
		v.Set("config.cooldown_minutes", strconv.Itoa(c.CooldownMinutes))
		for i, cond := range c.Conditions {
			key := fmt.Sprintf("config.conditions.%d.", i)
			v.Set(key+"metric", cond.Metric)
			v.Set(key+"op", cond.Op)
			v.Set(key+"value", strconv.FormatFloat(cond.Value, 'f', -1, 64))
		}
		for m, f := range c.Min {
			v.Set("config.min."+m, strconv.FormatFloat(f, 'f', -1, 64))
		}
	case engine.TypeSync:
		var c engine.SyncConfig
		if json.Unmarshal(raw, &c) != nil {
			return
		}
		v.Set("config.level", c.Level)
		v["config.metrics"] = c.Metrics
		v.Set("config.lookback_days", strconv.Itoa(c.LookbackDays))
	}
}

// defaultAutomationValues are a new automation's settings: sensible enough
// to save as they are once a connection is ticked.
func defaultAutomationValues(typ string) url.Values {
	v := url.Values{"status": {models.AutomationActive}, "schedule.kind": {schedule.KindDaily},
		"schedule.time": {"09:00"}, "schedule.tz_mode": {tzModeTeam}, "config.level": {"campaign"}}
	switch typ {
	case engine.TypeReport:
		v.Set("config.period", reports.Yesterday)
		v["config.metrics"] = []string{reports.Spend, reports.Conversions, reports.CPA}
		v.Set("config.compare", "true")
		v.Set("config.chart", "true")
		v.Set("config.top", "5")
		v.Set("config.top_by", reports.Spend)
	case engine.TypeAlert:
		v.Set("schedule.kind", schedule.KindInterval)
		v.Set("schedule.every_minutes", "60")
		v.Set("config.window", reports.Today)
		v.Set("config.match", reports.MatchAll)
		v.Set("config.conditions.0.metric", reports.CPA)
		v.Set("config.conditions.0.op", reports.OpGT)
		v.Set("config.conditions.0.value", "20")
		v.Set("config.min.spend", "10")
		v.Set("config.cooldown_minutes", "360")
		v.Set("config.action", reports.ActionNotify)
		v.Set("config.notify_resolved", "true")
		v.Set("config.event", "facebook.leadgen") // used when the trigger is switched to events
	case engine.TypeSync:
		v.Set("schedule.time", "06:00")
		v.Set("config.lookback_days", "3")
	}
	return v
}

// connectionKindsFor are the connection kinds an automation type reads:
// creators have stats but no daily insights, Pages have no ads.
func connectionKindsFor(typ string) []string {
	if typ == engine.TypeReport {
		return []string{platforms.KindAdAccount, platforms.KindAdvertiser, platforms.KindCreator}
	}
	return []string{platforms.KindAdAccount, platforms.KindAdvertiser}
}
