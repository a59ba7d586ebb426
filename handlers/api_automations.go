package handlers

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"adpilot/engine"
	"adpilot/models"
	"adpilot/reports"
	"adpilot/schedule"
	"adpilot/webhooks"
)

// apiAutomationBody is the public shape of an automation (README documents
// every field).
type apiAutomationBody struct {
	Name          *string         `json:"name"`
	Type          string          `json:"type"`
	DestinationID *string         `json:"destination_id"`
	Connections   []string        `json:"connections"`
	Schedule      json.RawMessage `json:"schedule"`
	Config        json.RawMessage `json:"config"`
	Status        string          `json:"status"`
}

type apiAutomation struct {
	ID            string          `json:"id"`
	Name          string          `json:"name"`
	Type          string          `json:"type"`
	DestinationID *string         `json:"destination_id"`
	Connections   []string        `json:"connections"`
	Schedule      json.RawMessage `json:"schedule"`
	Config        json.RawMessage `json:"config"`
	Status        string          `json:"status"`
	NextRun       *time.Time      `json:"next_run"`
	LastRun       *time.Time      `json:"last_run"`
	RunCount      int             `json:"run_count"`
	ErrorCount    int             `json:"error_count"`
	CreatedAt     time.Time       `json:"created_at"`
}

func (h *Handler) toAPIAutomation(c echo.Context, a models.Automation) (apiAutomation, error) {
	ids, err := h.store.AutomationConnectionIDs(c.Request().Context(), a.TenantID, a.ID)
	return apiAutomation{ID: a.ID, Name: a.Name, Type: a.Type, DestinationID: a.DestinationID, Connections: ids,
		Schedule: a.ScheduleConfig, Config: a.AutomationConfig, Status: a.Status, NextRun: a.NextRun, LastRun: a.LastRun,
		RunCount: a.RunCount, ErrorCount: a.ErrorCount, CreatedAt: a.CreatedAt}, err
}

// validateAutomation checks a body and returns the input to store, or the
// field errors (keys like "schedule.time", "config.conditions.0.metric").
func (h *Handler) validateAutomation(c echo.Context, b apiAutomationBody) (models.AutomationInput, fieldErrors) {
	errs := fieldErrors{}
	in := models.AutomationInput{Type: b.Type, Status: b.Status, ConnectionIDs: b.Connections}
	if b.Name != nil {
		in.Name = strings.TrimSpace(*b.Name)
	}
	checkText(errs, "name", in.Name, "Name", true, 100)
	if in.Status == "" {
		in.Status = models.AutomationActive
	}
	if in.Status != models.AutomationActive && in.Status != models.AutomationPaused {
		errs.add("status", "Use active or paused.")
	}
	if b.DestinationID != nil {
		in.DestinationID = *b.DestinationID
	}
	if in.DestinationID != "" && !isUUID(in.DestinationID) {
		errs.add("destination_id", "Not a destination id.")
	}
	// An event automation runs on platform events, not on a schedule; its
	// connections (optional) only narrow down which events it takes.
	event := b.Type == engine.TypeAlert && webhooks.IsEventConfig(b.Config)
	if (!event && len(b.Connections) == 0) || len(b.Connections) > 20 {
		errs.add("connections", "Choose from 1 to 20 connections.")
	}
	for _, id := range b.Connections {
		if !isUUID(id) {
			errs.add("connections", "“"+filterText(id, 40)+"” is not a connection id.")
		}
	}
	var sched schedule.Schedule
	if event {
		// No schedule: whatever was sent is dropped.
	} else if len(b.Schedule) == 0 {
		errs.add("schedule", "A schedule is required.")
	} else if s, err := schedule.Parse(b.Schedule); err != nil {
		errs.add("schedule", "The schedule is not valid JSON of the documented shape: "+err.Error())
	} else {
		sched = s.Normalized()
		for k, v := range sched.Validate() {
			errs.add("schedule."+k, v)
		}
	}
	var cfgErrs map[string]string
	switch b.Type {
	case engine.TypeReport:
		var cfg engine.ReportConfig
		cfgErrs = decodeConfig(b.Config, &cfg, func() map[string]string { return cfg.Validate() })
	case engine.TypeSync:
		var cfg engine.SyncConfig
		cfgErrs = decodeConfig(b.Config, &cfg, func() map[string]string { return cfg.Validate() })
	case engine.TypeAlert:
		if event {
			var cfg webhooks.EventAutomationConfig
			cfgErrs = decodeConfig(b.Config, &cfg, func() map[string]string { return cfg.Validate() })
			break
		}
		var cfg reports.AlertConfig
		cfgErrs = decodeConfig(b.Config, &cfg, func() map[string]string { return cfg.Validate() })
	default:
		errs.add("type", "Use scheduled_report, alert or data_sync.")
	}
	for k, v := range cfgErrs {
		key := "config"
		if k != "" {
			key += "." + k
		}
		errs.add(key, v)
	}
	if len(errs) > 0 {
		return in, errs
	}
	conns, err := h.store.ListConnections(c.Request().Context(), principal(c).Tenant.ID)
	if err != nil {
		errs.add("connections", "The connections cannot be read right now; try again.")
		return in, errs
	}
	byID := map[string]models.Connection{}
	for _, conn := range conns {
		byID[conn.ID] = conn
	}
	for _, id := range b.Connections {
		conn, ok := byID[id]
		switch {
		case !ok:
			errs.add("connections", "A connection is not one of this team's.")
		case !event && !slices.Contains(connectionKindsFor(b.Type), conn.Kind):
			errs.add("connections", "“"+filterText(conn.AccountName, 80)+"” is a "+strings.ReplaceAll(conn.Kind, "_", " ")+
				", which a "+strings.ToLower(automationTypeLabel(b.Type))+" cannot read.")
		}
	}
	if len(errs) > 0 {
		return in, errs
	}
	in.Config = b.Config
	if event {
		in.Schedule = json.RawMessage(`{}`) // never due: events set it off
		return in, nil
	}
	in.Schedule, _ = json.Marshal(sched)
	// The first run: the schedule's next slot from now, in its zone.
	tenantTZ := principal(c).Tenant.ParsedSettings().Timezone
	// The first connection by id, as the scheduler picks it (ScheduleZones).
	accountTZ, _ := byID[slices.Min(b.Connections)].MetaMap()["timezone_name"].(string)
	loc, err := schedule.Resolve(sched.Timezone, accountTZ, tenantTZ)
	if err != nil {
		errs.add("schedule.timezone", "Use an IANA time zone such as Europe/Berlin, or account.")
		return in, errs
	}
	next, err := sched.Next(time.Now(), loc)
	if err != nil {
		errs.add("schedule", err.Error())
		return in, errs
	}
	in.NextRun = next
	return in, nil
}

func isUUID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil && len(s) == 36
}

func decodeConfig(raw json.RawMessage, dst any, validate func() map[string]string) map[string]string {
	if len(raw) == 0 {
		return map[string]string{"": "A config is required."}
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return map[string]string{"": "The config does not have the documented shape: " + err.Error()}
	}
	return validate()
}

// apiAutomations is GET /api/v1/automations.
func (h *Handler) apiAutomations(c echo.Context) error {
	list, err := h.store.ListAutomations(c.Request().Context(), principal(c).Tenant.ID)
	if err != nil {
		return err
	}
	out := make([]apiAutomation, len(list))
	for i, a := range list {
		if out[i], err = h.toAPIAutomation(c, a); err != nil {
			return err
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"automations": out})
}

// apiCreateAutomation is POST /api/v1/automations.
func (h *Handler) apiCreateAutomation(c echo.Context) error {
	var b apiAutomationBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	in, errs := h.validateAutomation(c, b)
	if errs != nil {
		return validationError(c, errs)
	}
	a, err := h.store.CreateAutomation(c.Request().Context(), principal(c).User, in, c.RealIP())
	return h.answerAutomation(c, http.StatusCreated, a, err)
}

// answerAutomation answers a create or an update: a reference to another
// tenant's connection or destination is a 422, not a 404 of the automation.
func (h *Handler) answerAutomation(c echo.Context, status int, a models.Automation, err error) error {
	if errors.Is(err, models.ErrNotFound) {
		return validationError(c, fieldErrors{"connections": "A connection or the destination is not one of this team's."})
	}
	if err != nil {
		return err
	}
	out, err := h.toAPIAutomation(c, a)
	if err != nil {
		return err
	}
	return c.JSON(status, out)
}

// apiAutomation is GET /api/v1/automations/:id.
func (h *Handler) apiAutomation(c echo.Context) error {
	a, err := h.store.GetAutomation(c.Request().Context(), principal(c).Tenant.ID, c.Param("id"))
	if err != nil {
		return err
	}
	out, err := h.toAPIAutomation(c, a)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// apiPatchAutomation is PATCH /api/v1/automations/:id: fields left out keep
// their values; the type never changes.
func (h *Handler) apiPatchAutomation(c echo.Context) error {
	p := principal(c)
	a, err := h.store.GetAutomation(c.Request().Context(), p.Tenant.ID, c.Param("id"))
	if err != nil {
		return err
	}
	cur, err := h.toAPIAutomation(c, a)
	if err != nil {
		return err
	}
	b := apiAutomationBody{Name: &cur.Name, Type: a.Type, DestinationID: a.DestinationID, Connections: cur.Connections,
		Schedule: a.ScheduleConfig, Config: a.AutomationConfig, Status: a.Status}
	if b.Status == models.AutomationError || b.Status == models.AutomationStopped {
		b.Status = models.AutomationPaused
	}
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	if b.Type != a.Type {
		return validationError(c, fieldErrors{"type": "The type of an automation cannot change: create a new one."})
	}
	in, errs := h.validateAutomation(c, b)
	if errs != nil {
		return validationError(c, errs)
	}
	a, err = h.store.UpdateAutomation(c.Request().Context(), p.User, a.ID, in, c.RealIP())
	return h.answerAutomation(c, http.StatusOK, a, err)
}

// apiDeleteAutomation is DELETE /api/v1/automations/:id.
func (h *Handler) apiDeleteAutomation(c echo.Context) error {
	if _, err := h.store.DeleteAutomation(c.Request().Context(), principal(c).User, c.Param("id"), c.RealIP()); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// apiRunAutomation is POST /api/v1/automations/:id/run: the run is queued
// and started at once, 202 {"run_id"}. If this process dies meanwhile, the
// run's lease expires and another replica takes it up.
func (h *Handler) apiRunAutomation(c echo.Context) error {
	r, err := h.startRun(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, map[string]string{"run_id": r.ID})
}

// apiPreviewAutomation is POST /api/v1/automations/:id/preview: a dry run
// that computes the output without delivering, acting or storing.
func (h *Handler) apiPreviewAutomation(c echo.Context) error {
	ctx, cancel := platformContext(c)
	defer cancel()
	out, logs, err := h.engine.Preview(ctx, principal(c).Tenant.ID, c.Param("id"))
	if errors.Is(err, models.ErrNotFound) || internalError(err) {
		return err
	}
	body := map[string]any{"logs": logs, "result": out.Result}
	if err != nil {
		body["error"] = err.Error()
		return c.JSON(http.StatusOK, body)
	}
	if out.Message != nil {
		body["message"] = map[string]any{"title": out.Message.Title, "text": out.Message.Text, "data": out.Message.Data}
	}
	return c.JSON(http.StatusOK, body)
}

type apiRun struct {
	ID           string           `json:"id"`
	AutomationID string           `json:"automation_id"`
	Status       string           `json:"status"`
	Trigger      string           `json:"trigger"`
	ScheduledFor *time.Time       `json:"scheduled_for"`
	StartedAt    time.Time        `json:"started_at"`
	CompletedAt  *time.Time       `json:"completed_at"`
	Result       json.RawMessage  `json:"result"`
	Error        string           `json:"error"`
	Attempt      int              `json:"attempt"`
	Logs         json.RawMessage  `json:"logs"`
	Deliveries   []apiRunDelivery `json:"deliveries"`
}

type apiRunDelivery struct {
	DestinationID string `json:"destination_id"`
	Status        string `json:"status"`
	Attempts      int    `json:"attempts"`
}

func (h *Handler) toAPIRun(c echo.Context, r models.RunDetail) (apiRun, error) {
	out := apiRun{ID: r.ID, AutomationID: r.AutomationID, Status: r.Status, Trigger: r.Trigger, ScheduledFor: r.ScheduledFor,
		StartedAt: r.StartedAt, CompletedAt: r.CompletedAt, Result: r.Result, Error: r.Error, Attempt: r.Attempt, Logs: r.Logs,
		Deliveries: []apiRunDelivery{}}
	dels, err := h.store.RunDeliveries(c.Request().Context(), r.TenantID, r.ID)
	for _, d := range dels {
		out.Deliveries = append(out.Deliveries, apiRunDelivery{DestinationID: d.DestinationID, Status: d.Status, Attempts: d.Attempts})
	}
	return out, err
}

// apiAutomationRuns is GET /api/v1/automations/:id/runs?limit=&offset=.
func (h *Handler) apiAutomationRuns(c echo.Context) error {
	p := principal(c)
	a, err := h.store.GetAutomation(c.Request().Context(), p.Tenant.ID, c.Param("id"))
	if err != nil {
		return err
	}
	limit, err := strconv.Atoi(c.QueryParam("limit"))
	if err != nil || limit < 1 || limit > 100 {
		limit = 20
	}
	offset, _ := strconv.Atoi(c.QueryParam("offset"))
	runs, err := h.store.ListRuns(c.Request().Context(), p.Tenant.ID, a.ID, limit, offset)
	if err != nil {
		return err
	}
	out := make([]apiRun, len(runs))
	for i, r := range runs {
		if out[i], err = h.toAPIRun(c, r); err != nil {
			return err
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"runs": out})
}

// apiRun is GET /api/v1/runs/:id.
func (h *Handler) apiRunDetail(c echo.Context) error {
	r, err := h.store.GetRun(c.Request().Context(), principal(c).Tenant.ID, c.Param("id"))
	if err != nil {
		return err
	}
	out, err := h.toAPIRun(c, r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}
