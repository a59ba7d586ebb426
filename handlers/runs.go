package handlers

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"adpilot/engine"
	"adpilot/models"
	"adpilot/views"
)

const runsPageSize = 25

// runsPage is the tenant-wide run history.
func (h *Handler) runsPage(c echo.Context) error {
	page := pageNumber(c.QueryParams())
	l, err := h.runList(c, "", page, runsPageSize)
	if err != nil {
		return err
	}
	return h.renderPage(c, http.StatusOK, "Run history", views.RunsPage("Run history", "", l))
}

// automationRunsPage is one automation's run history.
func (h *Handler) automationRunsPage(c echo.Context) error {
	a, err := h.store.GetAutomation(c.Request().Context(), principal(c).Tenant.ID, c.Param("id"))
	if err != nil {
		return err
	}
	l, err := h.runList(c, a.ID, pageNumber(c.QueryParams()), runsPageSize)
	if err != nil {
		return err
	}
	return h.renderPage(c, http.StatusOK, "Runs of "+a.Name, views.RunsPage("Runs of "+a.Name, templ.SafeURL("/automations/"+a.ID), l))
}

// runList is a page of runs (automationID "" = every automation of the
// tenant), fetching one more than shown to know whether an older page exists.
func (h *Handler) runList(c echo.Context, automationID string, page, size int) (views.RunList, error) {
	ctx, p := c.Request().Context(), principal(c)
	runs, err := h.store.ListRunsNamed(ctx, p.Tenant.ID, automationID, size+1, (page-1)*size)
	if err != nil {
		return views.RunList{}, err
	}
	base := c.Request().URL.Path
	l := views.RunList{ShowName: automationID == "", RefreshURL: base + "?page=" + strconv.Itoa(page),
		EmptyNotice: "No runs yet. Runs appear here as automations run on schedule, or when you press Run now."}
	if page > 1 {
		l.Prev = base + "?page=" + strconv.Itoa(page-1)
	}
	if len(runs) > size {
		runs = runs[:size]
		l.Next = base + "?page=" + strconv.Itoa(page+1)
	}
	loc := tenantLocation(p.Tenant)
	for _, r := range runs {
		l.Rows = append(l.Rows, views.RunRow{ID: r.ID, AutomationID: r.AutomationID, AutomationName: r.AutomationName, Status: r.Status,
			Trigger: r.Trigger, Started: r.StartedAt.In(loc).Format("2 Jan 2006, 15:04:05 MST"), Duration: runDuration(r.Run),
			Summary: engine.Summarize(r.AutomationType, r.Result), Error: truncate(r.Error, 300), Attempt: r.Attempt})
		l.Live = l.Live || liveRun(r.Status)
	}
	return l, nil
}

func liveRun(status string) bool { return status == "queued" || status == "running" }

// runDuration is how long a run took, or has taken so far.
func runDuration(r models.Run) string {
	end := time.Now()
	if r.CompletedAt != nil {
		end = *r.CompletedAt
	}
	d := end.Sub(r.StartedAt)
	switch {
	case d < 0:
		return "—"
	case d < time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + " ms"
	case d < time.Minute:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s"
	}
	return d.Round(time.Second).String()
}

// runPage shows one run; while it is queued or running the page's detail
// box reloads itself every 2 s.
func (h *Handler) runPage(c echo.Context) error {
	ctx, p := c.Request().Context(), principal(c)
	r, err := h.store.GetRun(ctx, p.Tenant.ID, c.Param("id"))
	if err != nil {
		return err
	}
	a, err := h.store.GetAutomation(ctx, p.Tenant.ID, r.AutomationID)
	if err != nil {
		return err
	}
	loc := tenantLocation(p.Tenant)
	const layout = "2 Jan 2006, 15:04:05 MST"
	d := views.RunDetail{ID: r.ID, AutomationID: a.ID, AutomationName: a.Name, Status: r.Status, Trigger: r.Trigger,
		Started: r.StartedAt.In(loc).Format(layout), Duration: runDuration(r.Run), Attempt: r.Attempt,
		Summary: engine.Summarize(a.Type, r.Result), Error: r.Error, Live: liveRun(r.Status)}
	if r.ScheduledFor != nil {
		d.ScheduledFor = r.ScheduledFor.In(loc).Format(layout)
	}
	if r.CompletedAt != nil {
		d.Completed = r.CompletedAt.In(loc).Format(layout)
	}
	var pretty bytes.Buffer
	if len(r.Result) > 0 && string(r.Result) != "null" && json.Indent(&pretty, r.Result, "", "  ") == nil {
		d.Result = pretty.String()
	}
	var logs []models.RunLog
	_ = json.Unmarshal(r.Logs, &logs)
	d.Logs = runLogRows(logs, loc)
	dels, err := h.store.RunDeliveries(ctx, p.Tenant.ID, r.ID)
	if err != nil {
		return err
	}
	dests, err := h.store.ListDestinations(ctx, p.Tenant.ID)
	if err != nil {
		return err
	}
	names := map[string]string{}
	for _, dest := range dests {
		names[dest.ID] = dest.Name
	}
	for _, del := range dels {
		d.Deliveries = append(d.Deliveries, views.RunDeliveryRow{DestinationID: del.DestinationID, DestinationName: names[del.DestinationID],
			Title: del.Title, Status: del.Status, Attempts: del.Attempts, Error: del.LastError})
	}
	return h.renderPage(c, http.StatusOK, "Run of "+a.Name, views.RunPage(d))
}

func runLogRows(logs []models.RunLog, loc *time.Location) []views.RunLogRow {
	out := make([]views.RunLogRow, len(logs))
	for i, l := range logs {
		out[i] = views.RunLogRow{Time: l.At.In(loc).Format("15:04:05.000"), Level: l.Level, Message: l.Message}
	}
	return out
}
