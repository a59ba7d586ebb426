package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"adpilot/engine"
	"adpilot/models"
	"adpilot/schedule"
	"adpilot/views"
	"adpilot/webhooks"
)

// automationsPage lists the tenant's automations.
func (h *Handler) automationsPage(c echo.Context) error {
	p := principal(c)
	list, err := h.store.ListAutomations(c.Request().Context(), p.Tenant.ID)
	if err != nil {
		return err
	}
	loc := tenantLocation(p.Tenant)
	m := views.Automations{CanManage: p.Can(models.RoleUser)}
	for _, a := range list {
		row := views.AutomationRow{ID: a.ID, Name: a.Name, Type: a.Type, TypeLabel: automationTypeLabel(a.Type), Status: a.Status,
			LastRun: listTime(a.LastRun, loc), NextRun: "—", RunCount: a.RunCount, ErrorCount: a.ErrorCount}
		if s, err := schedule.Parse(a.ScheduleConfig); err == nil {
			row.Schedule = s.Describe()
		}
		if ev, ok := webhooks.ParseEventAutomationConfig(a.AutomationConfig); ok && a.Type == engine.TypeAlert {
			row.Schedule = "On each " + ev.Event + " event"
		}
		if a.Status == models.AutomationActive && a.NextRun != nil {
			row.NextRun = listTime(a.NextRun, loc)
		}
		m.Rows = append(m.Rows, row)
	}
	return h.renderPage(c, http.StatusOK, "Automations", views.AutomationsPage(m))
}

func tenantLocation(t models.Tenant) *time.Location {
	if loc, err := time.LoadLocation(teamZone(t)); err == nil {
		return loc
	}
	return time.UTC
}

// newAutomationPage is the create form. The type picker reloads it with
// the form's values in the query, so nothing typed is lost on a switch.
func (h *Handler) newAutomationPage(c echo.Context) error {
	q := c.QueryParams()
	typ := q.Get("type")
	if !knownAutomationType(typ) {
		typ = automationTypes[0] // a page read never fails on a bad query
	}
	v := defaultAutomationValues(typ)
	if q.Has("name") { // a type switch: keep what applies to every type
		for _, k := range []string{"name", "destination_id", "status"} {
			v.Set(k, q.Get(k))
		}
		v["connections"] = q["connections"]
		for k, vals := range q {
			if strings.HasPrefix(k, "schedule.") {
				v[k] = vals
			}
		}
	}
	f, err := h.automationForm(c, typ, "/automations", false, v, fieldErrors{})
	if err != nil {
		return err
	}
	return h.renderPage(c, http.StatusOK, "New automation", views.NewAutomationPage(f))
}

// createAutomation saves the create form (a JSON body goes to the API).
func (h *Handler) createAutomation(c echo.Context) error {
	if isJSONRequest(c) {
		return h.apiCreateAutomation(c)
	}
	v, err := c.FormParams()
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "The form could not be read.")
	}
	typ := v.Get("type")
	errs := fieldErrors{}
	b := bodyFromForm(typ, v, errs)
	in, verrs := h.validateAutomation(c, b)
	for k, msg := range verrs {
		errs.add(k, msg)
	}
	var a models.Automation
	if len(errs) == 0 {
		a, err = h.store.CreateAutomation(c.Request().Context(), principal(c).User, in, c.RealIP())
		if err != nil && !isNotFound(err) {
			return err
		}
		if isNotFound(err) {
			errs.add("connections", "A connection or the destination is not one of this team's.")
		}
	}
	if len(errs) > 0 {
		if !knownAutomationType(typ) {
			typ = automationTypes[0]
		}
		f, err := h.automationForm(c, typ, "/automations", false, v, errs)
		if err != nil {
			return err
		}
		return h.renderPage(c, http.StatusUnprocessableEntity, "New automation", views.NewAutomationPage(f))
	}
	_ = AddFlash(c, "success", "Created "+a.Name+".")
	return c.Redirect(http.StatusSeeOther, "/automations/"+a.ID)
}

// editAutomationPage is the edit form, filled with the stored settings.
func (h *Handler) editAutomationPage(c echo.Context) error {
	p := principal(c)
	a, err := h.store.GetAutomation(c.Request().Context(), p.Tenant.ID, c.Param("id"))
	if err != nil {
		return err
	}
	ids, err := h.store.AutomationConnectionIDs(c.Request().Context(), p.Tenant.ID, a.ID)
	if err != nil {
		return err
	}
	return h.renderAutomationEdit(c, http.StatusOK, a, valuesFromAutomation(a, ids), fieldErrors{})
}

func (h *Handler) renderAutomationEdit(c echo.Context, status int, a models.Automation, v url.Values, errs fieldErrors) error {
	f, err := h.automationForm(c, a.Type, "/automations/"+a.ID, true, v, errs)
	if err != nil {
		return err
	}
	return h.renderPage(c, status, "Edit "+a.Name, views.EditAutomationPage(f, a.ID, a.Name))
}

// updateAutomation saves the edit form; the type never changes.
func (h *Handler) updateAutomation(c echo.Context) error {
	p := principal(c)
	a, err := h.store.GetAutomation(c.Request().Context(), p.Tenant.ID, c.Param("id"))
	if err != nil {
		return err
	}
	v, err := c.FormParams()
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "The form could not be read.")
	}
	errs := fieldErrors{}
	b := bodyFromForm(a.Type, v, errs)
	in, verrs := h.validateAutomation(c, b)
	for k, msg := range verrs {
		errs.add(k, msg)
	}
	if len(errs) == 0 {
		saved, err := h.store.UpdateAutomation(c.Request().Context(), p.User, a.ID, in, c.RealIP())
		switch {
		case isNotFound(err):
			errs.add("connections", "A connection or the destination is not one of this team's.")
		case err != nil:
			return err
		default:
			_ = AddFlash(c, "success", "Saved "+saved.Name+".")
			return c.Redirect(http.StatusSeeOther, "/automations/"+a.ID)
		}
	}
	return h.renderAutomationEdit(c, http.StatusUnprocessableEntity, a, v, errs)
}

// schedulePreviewFragment answers the form's preview box as the schedule
// changes (GET: it reads the form's values from the query).
func (h *Handler) schedulePreviewFragment(c echo.Context) error {
	conns, err := h.store.ListConnections(c.Request().Context(), principal(c).Tenant.ID)
	if err != nil {
		return err
	}
	p := h.schedulePreview(c, c.QueryParams(), conns)
	return h.renderPage(c, http.StatusOK, "Schedule preview", views.SchedulePreviewPage(p))
}

func isNotFound(err error) bool { return errors.Is(err, models.ErrNotFound) }
