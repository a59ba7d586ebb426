package views

import (
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/a-h/templ"
)

// Option is one choice of a select, a radio group or a checkbox list.
type Option struct{ Value, Label string }

// ConnectionOption is one connection in an automation's picker.
type ConnectionOption struct {
	ID, Label string
	Note      string // "invalid: reconnect it" for a ticked connection that broke
}

// AutomationForm creates or edits an automation. Values holds the form as
// typed (or as stored), keyed by the inputs' names; Errors by the same names.
type AutomationForm struct {
	CSRFToken     string
	Action        string // where it posts
	Type          string
	Editing       bool
	Submit        string
	Values        url.Values
	Errors        map[string]string
	FormError     string // messages that belong to no single field
	Types         []Option
	Destinations  []Option
	Connections   []ConnectionOption
	TeamZone      string
	Zones         []string
	Preview       SchedulePreview
	Levels        []Option
	Periods       []Option
	Windows       []Option
	Ops           []Option
	Metrics       []Option
	GuardMetrics  []Option
	ConditionRows int
	Events        []Option // what an event alert can wait for
	Pages         []Option // the team's connected Facebook Pages, by Page id
}

// SchedulePreview is the next runs of a schedule, in its zone and the viewer's.
type SchedulePreview struct {
	Description string
	Zone        string
	ViewerZone  string // "" when it is the schedule's zone
	Runs        []PreviewRun
	Error       string
}

// PreviewRun is one upcoming run.
type PreviewRun struct {
	ISO, InZone, InViewer string
}

// ScheduleKinds are the schedule builder's presets, then raw cron.
var ScheduleKinds = []Option{
	{"interval", "Every N minutes"}, {"hourly", "Hourly"}, {"daily", "Daily"},
	{"weekly", "Weekly"}, {"monthly", "Monthly"}, {"cron", "Cron expression"},
}

// Weekdays are the weekly schedule's day checkboxes.
var Weekdays = []Option{
	{"mon", "Mon"}, {"tue", "Tue"}, {"wed", "Wed"}, {"thu", "Thu"}, {"fri", "Fri"}, {"sat", "Sat"}, {"sun", "Sun"},
}

func (f AutomationForm) val(name string) string { return f.Values.Get(name) }

func (f AutomationForm) has(name, value string) bool { return slices.Contains(f.Values[name], value) }

func (f AutomationForm) err(name string) string { return f.Errors[name] }

// invalid marks an input with an error for assistive technology.
func (f AutomationForm) invalid(name string) templ.Attributes {
	if f.Errors[name] == "" {
		return nil
	}
	return templ.Attributes{"aria-invalid": "true", "aria-describedby": fieldID(name) + "-error"}
}

// fieldID turns "config.conditions.0.metric" into an id without dots, so
// CSS and htmx selectors need no escaping.
func fieldID(name string) string { return "f-" + strings.ReplaceAll(name, ".", "-") }

func conditionKey(i int, field string) string {
	return "config.conditions." + strconv.Itoa(i) + "." + field
}

func itoa(n int) string { return strconv.Itoa(n) }

// Options builds options from value, label pairs.
func Options(pairs ...string) []Option {
	out := make([]Option, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, Option{Value: pairs[i], Label: pairs[i+1]})
	}
	return out
}

// fnum prints an SVG coordinate without trailing zeros.
func fnum(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
