package handlers

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/lib/pq"

	"adpilot/engine"
	"adpilot/models"
	"adpilot/reports"
	"adpilot/schedule"
	"adpilot/views"
	"adpilot/webhooks"
)

// automationPage shows one automation: settings, actions, next and latest runs.
func (h *Handler) automationPage(c echo.Context) error {
	ctx, p := c.Request().Context(), principal(c)
	a, err := h.store.GetAutomation(ctx, p.Tenant.ID, c.Param("id"))
	if err != nil {
		return err
	}
	settings, err := h.automationSettings(ctx, a)
	if err != nil {
		return err
	}
	runs, err := h.runList(c, a.ID, 1, 10)
	if err != nil {
		return err
	}
	runs.RefreshURL = "/automations/" + a.ID
	m := views.AutomationDetail{CSRFToken: csrfToken(c), CanManage: p.Can(models.RoleUser), ID: a.ID, Name: a.Name, Type: a.Type,
		TypeLabel: automationTypeLabel(a.Type), Status: a.Status, Settings: settings, Runs: runs,
		RunCount: a.RunCount, ErrorCount: a.ErrorCount}
	switch a.Status {
	case models.AutomationError:
		m.StatusNote = fmt.Sprintf("Stopped after %d failed runs in a row. Fix the cause shown in the latest run, then start it again.",
			models.MaxConsecutiveFailures)
	case models.AutomationPaused:
		m.StatusNote = "Paused: it does not run on schedule. Run now still works."
	case models.AutomationStopped:
		m.StatusNote = "Stopped: it does not run until it is started again."
	case models.AutomationActive:
		if !engine.IsEventAutomation(a) {
			m.Preview = h.nextRunsOf(ctx, c, a)
			m.Scheduled = true
		}
	}
	return h.renderPage(c, http.StatusOK, a.Name, views.AutomationPage(m))
}

// nextRunsOf previews a stored automation's next 3 runs, in its zone as
// the scheduler resolves it.
func (h *Handler) nextRunsOf(ctx context.Context, c echo.Context, a models.Automation) views.SchedulePreview {
	s, err := schedule.Parse(a.ScheduleConfig)
	if err != nil {
		return views.SchedulePreview{Error: "The stored schedule cannot be read: edit it."}
	}
	tenantTZ, accountTZ, err := h.store.ScheduleZones(ctx, a.TenantID, a.ID)
	if err != nil {
		return views.SchedulePreview{Error: "The schedule's zone cannot be read right now."}
	}
	loc, err := schedule.Resolve(s.Timezone, accountTZ, tenantTZ)
	if err != nil {
		return views.SchedulePreview{Error: schedule.MsgTimezone}
	}
	from := time.Now()
	if a.NextRun != nil && a.NextRun.After(from) {
		from = a.NextRun.Add(-time.Second) // the stored next run comes first
	}
	return previewRuns(s, loc, viewerZone(c), from)
}

// automationSettings describes an automation's settings for people.
func (h *Handler) automationSettings(ctx context.Context, a models.Automation) ([]views.ConfigItem, error) {
	conns, _, err := h.store.AutomationConnections(ctx, a.TenantID, a.ID)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, conn := range conns {
		names = append(names, connectionLabel(conn))
	}
	dest := "Nowhere: results stay in the run history"
	if a.DestinationID != nil {
		if d, err := h.store.GetDestination(ctx, a.TenantID, *a.DestinationID); err == nil {
			dest = d.Name
		}
	}
	items := []views.ConfigItem{{Label: "Connections", Value: strings.Join(names, "; ")}, {Label: "Delivers to", Value: dest}}
	if ev, ok := webhooks.ParseEventAutomationConfig(a.AutomationConfig); ok && a.Type == engine.TypeAlert {
		if len(names) == 0 {
			items = items[1:]
		}
		return append(items, eventConfigItems(ev)...), nil
	}
	if s, err := schedule.Parse(a.ScheduleConfig); err == nil {
		zone := "the team's time zone"
		switch s.Timezone {
		case "":
		case schedule.AccountTZ:
			zone = "the ad account's time zone"
		default:
			zone = s.Timezone
		}
		items = append(items, views.ConfigItem{Label: "Schedule", Value: s.Describe() + ", " + zone})
	}
	return append(items, configItems(a)...), nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func metricList(ms []string, empty string) string {
	if len(ms) == 0 {
		return empty
	}
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = metricLabel(m)
	}
	return strings.Join(out, ", ")
}

func levelLabel(l string) string {
	for _, o := range levelOptions {
		if o.Value == l {
			return o.Label
		}
	}
	return l
}

// configItems describe the type's config.
func configItems(a models.Automation) []views.ConfigItem {
	switch a.Type {
	case engine.TypeReport:
		var c engine.ReportConfig
		if json.Unmarshal(a.AutomationConfig, &c) != nil {
			return nil
		}
		top := "none"
		if c.Top > 0 {
			top = fmt.Sprintf("%d by %s", c.Top, metricLabel(c.TopBy))
		}
		return []views.ConfigItem{{Label: "Level", Value: levelLabel(c.Level)}, {Label: "Period", Value: periodLabel(c.Period)},
			{Label: "Metrics", Value: metricList(c.Metrics, "")}, {Label: "Compare with the previous period", Value: yesNo(c.Compare)},
			{Label: "Top entities", Value: top}, {Label: "Chart", Value: yesNo(c.Chart)}}
	case engine.TypeAlert:
		var c reports.AlertConfig
		if json.Unmarshal(a.AutomationConfig, &c) != nil {
			return nil
		}
		var conds, guards []string
		for _, cond := range c.Conditions {
			conds = append(conds, fmt.Sprintf("%s %s %v", metricLabel(cond.Metric), opLabel(cond.Op), cond.Value))
		}
		for _, m := range minGuardMetrics {
			if v, ok := c.Min[m]; ok {
				guards = append(guards, fmt.Sprintf("%s ≥ %v", metricLabel(m), v))
			}
		}
		join := " and "
		if c.Match == reports.MatchAny {
			join = " or "
		}
		action := "notify"
		if c.Action == reports.ActionPause {
			action = "pause the entity and notify"
		}
		guard := "none"
		if len(guards) > 0 {
			guard = strings.Join(guards, ", ")
		}
		return []views.ConfigItem{{Label: "Level", Value: levelLabel(string(c.Level))}, {Label: "Window", Value: periodLabel(c.Window)},
			{Label: "Fires when", Value: strings.Join(conds, join)}, {Label: "Minimum data", Value: guard},
			{Label: "Cooldown", Value: fmt.Sprintf("%d minutes", c.CooldownMinutes)}, {Label: "Action", Value: action},
			{Label: "Resolved notice", Value: yesNo(c.NotifyResolved)}}
	case engine.TypeSync:
		var c engine.SyncConfig
		if json.Unmarshal(a.AutomationConfig, &c) != nil {
			return nil
		}
		return []views.ConfigItem{{Label: "Level", Value: levelLabel(c.Level)}, {Label: "Metrics", Value: metricList(c.Metrics, "all")},
			{Label: "Lookback", Value: fmt.Sprintf("%d days", c.LookbackDays)}}
	}
	return nil
}

func opLabel(op string) string {
	for _, o := range opOptions {
		if o.Value == op {
			return o.Label
		}
	}
	return op
}

// setAutomationStatus pauses or stops an automation.
func (h *Handler) setAutomationStatus(status string) echo.HandlerFunc {
	return func(c echo.Context) error {
		a, err := h.store.SetAutomationStatus(c.Request().Context(), principal(c).User, c.Param("id"), status, "web", c.RealIP())
		if err != nil {
			return err
		}
		msg := "Paused " + a.Name + "."
		if status == models.AutomationStopped {
			msg = "Stopped " + a.Name + "."
		}
		_ = AddFlash(c, "success", msg)
		return c.Redirect(http.StatusSeeOther, "/automations/"+a.ID)
	}
}

// resumeAutomation makes an automation active again, its next run counted from now.
func (h *Handler) resumeAutomation(c echo.Context) error {
	var scheduleErr error
	a, err := h.store.ResumeAutomation(c.Request().Context(), principal(c).User, c.Param("id"), "web", c.RealIP(),
		func(a models.Automation) (time.Time, error) {
			next, err := h.engine.NextRun(a, time.Now())
			scheduleErr = err
			return next, err
		})
	if scheduleErr != nil {
		return echo.NewHTTPError(http.StatusUnprocessableEntity, "Its schedule has no next run as it is: edit it first.")
	}
	if err != nil {
		return err
	}
	_ = AddFlash(c, "success", "Resumed "+a.Name+".")
	return c.Redirect(http.StatusSeeOther, "/automations/"+a.ID)
}

// duplicateAutomation copies an automation, paused, and opens the copy's editor.
func (h *Handler) duplicateAutomation(c echo.Context) error {
	ctx, p := c.Request().Context(), principal(c)
	a, err := h.store.GetAutomation(ctx, p.Tenant.ID, c.Param("id"))
	if err != nil {
		return err
	}
	ids, err := h.store.AutomationConnectionIDs(ctx, p.Tenant.ID, a.ID)
	if err != nil {
		return err
	}
	name := "Copy of " + a.Name
	if utf8.RuneCountInString(name) > 100 {
		name = string([]rune(name)[:100])
	}
	in := models.AutomationInput{Name: name, Type: a.Type, Status: models.AutomationPaused, ConnectionIDs: ids,
		Schedule: a.ScheduleConfig, Config: a.AutomationConfig}
	if a.DestinationID != nil {
		in.DestinationID = *a.DestinationID
	}
	cp, err := h.store.CreateAutomation(ctx, p.User, in, c.RealIP())
	if err != nil {
		return err
	}
	_ = AddFlash(c, "success", "Made "+cp.Name+", paused. Adjust it and resume it when ready.")
	return c.Redirect(http.StatusSeeOther, "/automations/"+cp.ID+"/edit")
}

// deleteAutomation removes an automation and its runs.
func (h *Handler) deleteAutomation(c echo.Context) error {
	a, err := h.store.DeleteAutomation(c.Request().Context(), principal(c).User, c.Param("id"), c.RealIP())
	if err != nil {
		return err
	}
	_ = AddFlash(c, "success", "Deleted "+a.Name+".")
	return c.Redirect(http.StatusSeeOther, "/automations")
}

// startRun queues a manual run and starts it at once in the background; if
// this process dies meanwhile, the run's lease expires and another replica
// takes it up.
func (h *Handler) startRun(c echo.Context) (models.Run, error) {
	ctx, p := c.Request().Context(), principal(c)
	a, err := h.store.GetAutomation(ctx, p.Tenant.ID, c.Param("id"))
	if err != nil {
		return models.Run{}, err
	}
	if a.Status == models.AutomationStopped {
		return models.Run{}, models.ErrNotFound // as QueueManualRun answers
	}
	// Audited before it is queued: a run nobody can account for never happens.
	if err := h.store.RecordAudit(ctx, models.AuditEntry{TenantID: p.Tenant.ID, ActorID: p.User.ID, ActorLabel: p.User.DisplayName(),
		Action: "automation.run_now", TargetType: "automation", TargetID: a.ID, IP: c.RealIP()}); err != nil {
		return models.Run{}, err
	}
	r, err := h.store.QueueManualRun(ctx, p.Tenant.ID, a.ID, time.Now(), engine.Lease)
	if err != nil {
		return r, err
	}
	h.background(func(ctx context.Context) {
		if _, err := h.engine.Execute(context.WithoutCancel(ctx), r); err != nil {
			h.logger.Error("manual run", "run", r.ID, "err", err)
		}
	})
	return r, nil
}

// runAutomationNow is Run now in the browser: it opens the run, which
// refreshes itself until it ends.
func (h *Handler) runAutomationNow(c echo.Context) error {
	r, err := h.startRun(c)
	if isNotFound(err) {
		if _, gerr := h.store.GetAutomation(c.Request().Context(), principal(c).Tenant.ID, c.Param("id")); gerr == nil {
			return echo.NewHTTPError(http.StatusConflict, "This automation is stopped: start it again to run it.")
		}
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/runs/"+r.ID)
}

// previewAutomation is Preview in the page: a dry run, nothing delivered,
// paused or stored.
func (h *Handler) previewAutomation(c echo.Context) error {
	ctx, cancel := platformContext(c)
	defer cancel()
	out, logs, err := h.engine.Preview(ctx, principal(c).Tenant.ID, c.Param("id"))
	if isNotFound(err) || internalError(err) {
		return err
	}
	p := views.AutomationPreview{Shown: true, Logs: runLogRows(logs, tenantLocation(principal(c).Tenant))}
	switch {
	case err != nil:
		p.Error = err.Error()
	case out.Message == nil:
		p.Nothing = true
	default:
		m := out.Message
		p.Title, p.Text = m.Title, m.Text
		for _, img := range m.Images {
			p.Images = append(p.Images, "data:image/png;base64,"+base64.StdEncoding.EncodeToString(img.Data))
		}
		for _, f := range m.Files {
			p.Files = append(p.Files, f.Name)
		}
		if m.Data != nil {
			if b, err := json.MarshalIndent(m.Data, "", "  "); err == nil {
				p.JSON = string(b)
			}
		}
	}
	if !IsPartial(c) {
		return h.renderPage(c, http.StatusOK, "Preview", views.AutomationPreviewView(p))
	}
	return render(c, http.StatusOK, views.AutomationPreviewView(p))
}

// eventConfigItems describe an event automation's trigger and filters.
func eventConfigItems(ev webhooks.EventAutomationConfig) []views.ConfigItem {
	label := ev.Event
	for _, e := range webhooks.EventNames {
		if e.Name == ev.Event {
			label = e.Label + " (" + e.Name + ")"
		}
	}
	anyOf := func(l webhooks.StringList) string {
		if len(l) == 0 {
			return "any"
		}
		return strings.Join(l, ", ")
	}
	return []views.ConfigItem{{Label: "Runs on", Value: label}, {Label: "Page", Value: anyOf(ev.Filters.PageID)},
		{Label: "Lead forms", Value: anyOf(ev.Filters.FormID)}, {Label: "Ads", Value: anyOf(ev.Filters.AdID)}}
}

// internalError tells a failure of ours (the database, the driver) from the
// engine's and the platforms' messages, which are written for people: ours
// is a 500, logged with the request id, never shown as is.
func internalError(err error) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) || errors.Is(err, sql.ErrConnDone) || errors.Is(err, driver.ErrBadConn)
}
