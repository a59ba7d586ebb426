package handlers

import (
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"adpilot/models"
	"adpilot/views"
)

// adminTenants lists tenants with their counts, searchable by name or slug.
func (h *Handler) adminTenants(c echo.Context) error {
	q := c.QueryParams()
	f := models.AdminTenantFilter{Search: filterText(q.Get("q"), 100), Status: oneOf(q.Get("status"), "active", "inactive"),
		Limit: adminPageSize}
	page := pageNumber(q)
	f.Offset = (page - 1) * adminPageSize
	rows, total, err := h.store.ListAdminTenants(c.Request().Context(), f)
	if err != nil {
		return err
	}
	if wantsJSON(c) {
		return c.JSON(http.StatusOK, map[string]any{"tenants": rows, "total": total})
	}
	m := views.AdminTenants{CSRFToken: csrfToken(c), Search: f.Search, Status: f.Status, Return: selfURL(c), Total: total}
	for _, r := range rows {
		m.Rows = append(m.Rows, views.AdminTenantRow{ID: r.ID, Name: r.Name, Slug: r.Slug, Active: r.IsActive,
			Created: r.CreatedAt.UTC().Format(time.DateOnly), Members: r.Members, Connections: r.Connections,
			Automations: r.Automations, Runs24h: r.Runs24h, Failed24h: r.FailedRuns})
	}
	m.Prev, m.Next = pager("/admin/tenants", url.Values{"q": {f.Search}, "status": {f.Status}}, page, adminPageSize, total)
	return h.renderPage(c, http.StatusOK, "Tenants", views.AdminTenantsPage(m))
}

// adminTenant shows one tenant: members, connections with health,
// automations and recent runs.
func (h *Handler) adminTenant(c echo.Context) error {
	ctx := c.Request().Context()
	t, err := h.store.GetTenant(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	members, err := h.store.ListMembers(ctx, t.ID)
	if err != nil {
		return err
	}
	conns, err := h.store.ListConnections(ctx, t.ID)
	if err != nil {
		return err
	}
	autos, err := h.store.ListAutomations(ctx, t.ID)
	if err != nil {
		return err
	}
	runs, err := h.store.TenantRecentRuns(ctx, t.ID, 20)
	if err != nil {
		return err
	}
	settings := t.ParsedSettings()
	m := views.AdminTenantDetail{CSRFToken: csrfToken(c), ID: t.ID, Name: t.Name, Slug: t.Slug, Active: t.IsActive,
		Created: adminTime(t.CreatedAt), Timezone: settings.Timezone, Currency: settings.Currency}
	for _, u := range members {
		m.Members = append(m.Members, views.AdminMemberRow{ID: u.ID, Name: u.DisplayName(), Email: u.Email.String, Role: u.Role,
			Active: u.IsActive, Joined: u.PasswordHash.Valid, Operator: u.IsPlatformAdmin, LastLogin: lastLogin(u)})
	}
	now := time.Now()
	for _, conn := range conns {
		m.Connections = append(m.Connections, adminConnection(conn, t.Name, now))
	}
	for _, a := range autos {
		m.Automations = append(m.Automations, views.AdminAutomationRow{ID: a.ID, Name: a.Name, Type: automationTypeLabel(a.Type),
			Status: a.Status, NextRun: adminTimePtr(a.NextRun), LastRun: adminTimePtr(a.LastRun), Runs: a.RunCount, Errors: a.ErrorCount})
	}
	for _, r := range runs {
		m.Runs = append(m.Runs, adminRun(r))
	}
	return h.renderPage(c, http.StatusOK, t.Name, views.AdminTenantPage(m))
}

// setTenantActive deactivates or reactivates a tenant (audited).
func (h *Handler) setTenantActive(active bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		p := principal(c)
		if !active && c.Param("id") == p.Tenant.ID {
			return echo.NewHTTPError(http.StatusConflict, "You cannot deactivate your own tenant: you would lock yourself out.")
		}
		t, err := h.store.SetTenantActive(c.Request().Context(), p.User, c.Param("id"), active, c.RealIP())
		if err != nil {
			return err
		}
		msg := t.Name + " is deactivated: its members cannot sign in and its automations do not run."
		if active {
			msg = t.Name + " is active again."
		}
		return adminDone(c, http.StatusOK, toAPITenantDetail(t), msg, adminReturn(c, "/admin/tenants/"+t.ID))
	}
}

func lastLogin(u models.User) string {
	if !u.LastLogin.Valid {
		return "never"
	}
	return adminTime(u.LastLogin.Time)
}

func adminRun(r models.AdminRunRow) views.AdminRunRow {
	return views.AdminRunRow{ID: r.ID, TenantID: r.TenantID, TenantName: r.TenantName, AutomationID: r.AutomationID,
		AutomationName: r.AutomationName, AutomationType: automationTypeLabel(r.AutomationType), Status: r.Status,
		Trigger: r.Trigger, Started: adminTime(r.StartedAt), Error: truncate(r.Error, 300)}
}
