package handlers

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"adpilot/engine"
	"adpilot/models"
	"adpilot/notify"
	"adpilot/platforms"
	"adpilot/reports"
	"adpilot/schedule"
	"adpilot/views"
	"adpilot/webhooks"
)

var automationTypeLabels = map[string]string{
	engine.TypeReport: "Scheduled report", engine.TypeAlert: "Alert", engine.TypeSync: "Data sync",
}

func automationTypeLabel(t string) string {
	if l, ok := automationTypeLabels[t]; ok {
		return l
	}
	return t
}

var levelOptions = views.Options("account", "Account", "campaign", "Campaign", "adset", "Ad set", "ad", "Ad")

var periodLabels = map[string]string{
	reports.Today: "Today", reports.Yesterday: "Yesterday", reports.Last3d: "Last 3 days", reports.Last7d: "Last 7 days",
	reports.Last14d: "Last 14 days", reports.Last30d: "Last 30 days", reports.ThisMonth: "This month", reports.LastMonth: "Last month",
}

var opOptions = views.Options(reports.OpGT, "above (>)", reports.OpGTE, "at least (≥)", reports.OpLT, "below (<)",
	reports.OpLTE, "at most (≤)", reports.OpChangeGT, "change above (%)", reports.OpChangeLT, "change below (%)")

func namedOptions(names []string, label func(string) string) []views.Option {
	out := make([]views.Option, len(names))
	for i, n := range names {
		out[i] = views.Option{Value: n, Label: label(n)}
	}
	return out
}

func periodLabel(p string) string {
	if l, ok := periodLabels[p]; ok {
		return l
	}
	return p
}

func metricLabel(m string) string {
	if slices.Contains(engine.ReportCreatorMetrics, m) {
		return strings.ToUpper(m[:1]) + m[1:]
	}
	return reports.Label(m)
}

// sentence turns a validator's "must be one of …" into "Must be one of …."
func sentence(msg string) string {
	if msg == "" {
		return msg
	}
	msg = strings.ToUpper(msg[:1]) + msg[1:]
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}

// pickableConnection says whether the picker offers a connection: valid
// (or about to expire) and of a kind the type reads.
func pickableConnection(conn models.Connection, typ string, now time.Time) bool {
	st := conn.Status(now)
	return slices.Contains(connectionKindsFor(typ), conn.Kind) && (st == models.ConnectionValid || st == models.ConnectionExpiring)
}

func connectionLabel(conn models.Connection) string {
	name := conn.AccountName
	if name == "" {
		name = conn.AccountRef
	}
	return fmt.Sprintf("%s · %s (%s)", platforms.Label(conn.Platform), name, conn.AccountRef)
}

// automationForm builds the form's view: the pickers list only this
// tenant's usable connections and destinations (plus any already chosen
// that broke since, flagged, so saving never drops them silently).
func (h *Handler) automationForm(c echo.Context, typ, action string, editing bool, v url.Values, errs fieldErrors) (views.AutomationForm, error) {
	ctx, p := c.Request().Context(), principal(c)
	conns, err := h.store.ListConnections(ctx, p.Tenant.ID)
	if err != nil {
		return views.AutomationForm{}, err
	}
	dests, err := h.store.ListDestinations(ctx, p.Tenant.ID)
	if err != nil {
		return views.AutomationForm{}, err
	}
	f := views.AutomationForm{CSRFToken: csrfToken(c), Action: action, Type: typ, Editing: editing, Values: v,
		Errors: map[string]string{}, Submit: "Create automation", TeamZone: teamZone(p.Tenant), Zones: commonZones,
		Levels: levelOptions, Ops: opOptions, GuardMetrics: namedOptions(minGuardMetrics, metricLabel)}
	if editing {
		f.Submit = "Save"
	}
	for _, t := range automationTypes {
		f.Types = append(f.Types, views.Option{Value: t, Label: automationTypeLabel(t)})
	}
	now := time.Now()
	for _, conn := range conns {
		chosen := slices.Contains(v["connections"], conn.ID)
		switch {
		case pickableConnection(conn, typ, now):
			f.Connections = append(f.Connections, views.ConnectionOption{ID: conn.ID, Label: connectionLabel(conn)})
		case chosen:
			f.Connections = append(f.Connections, views.ConnectionOption{ID: conn.ID, Label: connectionLabel(conn),
				Note: "Not usable (" + conn.Status(now) + "): reconnect it on the connections page, or untick it."})
		}
	}
	for _, conn := range conns {
		if conn.Kind == platforms.KindPage {
			f.Pages = append(f.Pages, views.Option{Value: conn.AccountRef, Label: conn.AccountName + " (" + conn.AccountRef + ")"})
		}
	}
	for _, e := range webhooks.EventNames {
		f.Events = append(f.Events, views.Option{Value: e.Name, Label: e.Label})
	}
	for _, d := range dests {
		if d.IsActive || d.ID == v.Get("destination_id") {
			f.Destinations = append(f.Destinations, views.Option{Value: d.ID, Label: d.Name + " (" + strings.ToLower(notify.TypeLabel(d.Type)) + ")"})
		}
	}
	metrics := reports.Metrics
	if typ == engine.TypeReport {
		metrics = append(slices.Clone(metrics), engine.ReportCreatorMetrics...)
	}
	f.Metrics = namedOptions(metrics, metricLabel)
	f.Periods = namedOptions(reports.PeriodNames, periodLabel)
	f.Windows = namedOptions(reports.WindowNames, periodLabel)
	used := 0
	for i := range reports.MaxConditions {
		if v.Get(fmt.Sprintf("config.conditions.%d.metric", i)) != "" {
			used = i + 1
		}
	}
	f.ConditionRows = min(max(3, used+1), reports.MaxConditions)
	f.Preview = h.schedulePreview(c, v, conns)
	var other []string
	for k, msg := range errs {
		f.Errors[k] = sentence(msg)
		if !formShowsField(f, k) {
			other = append(other, sentence(msg))
		}
	}
	slices.Sort(other)
	f.FormError = strings.Join(other, " ")
	return f, nil
}

// formShowsField says whether the form renders an error slot for key.
func formShowsField(f views.AutomationForm, key string) bool {
	switch {
	case slices.Contains([]string{"type", "name", "connections", "destination_id", "schedule", "schedule.kind", "schedule.timezone",
		"schedule.every_minutes", "schedule.minute", "schedule.days", "schedule.day", "schedule.time", "schedule.expr", "config"}, key):
		return true
	case strings.HasPrefix(key, "config.conditions."):
		var i int
		var field string
		if _, err := fmt.Sscanf(strings.ReplaceAll(strings.TrimPrefix(key, "config.conditions."), ".", " "), "%d %s", &i, &field); err == nil {
			return i < f.ConditionRows
		}
		return key == "config.conditions"
	case strings.HasPrefix(key, "config.min."):
		return slices.ContainsFunc(f.GuardMetrics, func(o views.Option) bool { return "config.min."+o.Value == key })
	case key == "config.metrics", key == "config.level":
		return true
	}
	fields := map[string][]string{
		engine.TypeReport: {"config.period", "config.top", "config.top_by", "config.compare", "config.chart"},
		engine.TypeAlert: {"config.window", "config.match", "config.cooldown_minutes", "config.action", "config.notify_resolved",
			"config.trigger", "config.event", "config.filters.page_id", "config.filters.form_id", "config.filters.ad_id"},
		engine.TypeSync: {"config.lookback_days"},
	}
	return slices.Contains(fields[f.Type], key)
}

func teamZone(t models.Tenant) string {
	if z := t.ParsedSettings().Timezone; z != "" {
		return z
	}
	return "UTC"
}

// schedulePreview computes the next 3 runs of the schedule in the form, in
// its zone and in the viewer's.
func (h *Handler) schedulePreview(c echo.Context, v url.Values, conns []models.Connection) views.SchedulePreview {
	errs := fieldErrors{}
	s := scheduleFromForm(v, errs)
	if len(errs) > 0 || len(s.Validate()) > 0 {
		return views.SchedulePreview{Error: "Complete the schedule to see its next runs."}
	}
	accountTZ := ""
	if ids := v["connections"]; len(ids) > 0 {
		first := slices.Min(ids) // as the scheduler picks it
		for _, conn := range conns {
			if conn.ID == first {
				accountTZ, _ = conn.MetaMap()["timezone_name"].(string)
			}
		}
	}
	loc, err := schedule.Resolve(s.Timezone, accountTZ, teamZone(principal(c).Tenant))
	if err != nil {
		return views.SchedulePreview{Error: schedule.MsgTimezone}
	}
	return previewRuns(s, loc, viewerZone(c), time.Now())
}

// previewRuns lists the next 3 runs after now.
func previewRuns(s schedule.Schedule, loc *time.Location, viewerTZ string, now time.Time) views.SchedulePreview {
	runs, err := s.NextN(now, loc, 3)
	if err != nil {
		return views.SchedulePreview{Error: "This schedule has no upcoming runs."}
	}
	p := views.SchedulePreview{Description: s.Describe(), Zone: loc.String()}
	var viewer *time.Location
	if validZone(viewerTZ) && viewerTZ != loc.String() {
		if viewer, err = time.LoadLocation(viewerTZ); err == nil {
			p.ViewerZone = viewerTZ
		}
	}
	for _, r := range runs {
		row := views.PreviewRun{ISO: r.UTC().Format(time.RFC3339), InZone: r.In(loc).Format(previewTimeLayout)}
		if p.ViewerZone != "" {
			row.InViewer = r.In(viewer).Format(previewTimeLayout)
		}
		p.Runs = append(p.Runs, row)
	}
	return p
}

const previewTimeLayout = "Mon 2 Jan 2006, 15:04 MST"

// listTime shows a time in the team's zone, or a dash.
func listTime(t *time.Time, loc *time.Location) string {
	if t == nil {
		return "—"
	}
	return t.In(loc).Format("2 Jan 2006, 15:04 MST")
}

// viewerZone is the browser's zone, which static/js/viewer-tz.js keeps in a
// cookie; "" without JavaScript (previews then show the schedule's zone only).
func viewerZone(c echo.Context) string {
	ck, err := c.Cookie("adpilot_tz")
	if err != nil {
		return ""
	}
	z, err := url.QueryUnescape(ck.Value)
	if err != nil || !validZone(z) {
		return ""
	}
	return z
}
