package handlers

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"adpilot/models"
)

type apiTenantDetail struct {
	ID        string                `json:"id"`
	Name      string                `json:"name"`
	Slug      string                `json:"slug"`
	IsActive  bool                  `json:"is_active"`
	Settings  models.TenantSettings `json:"settings"`
	CreatedAt time.Time             `json:"created_at"`
}

func toAPITenantDetail(t models.Tenant) apiTenantDetail {
	return apiTenantDetail{ID: t.ID, Name: t.Name, Slug: t.Slug, IsActive: t.IsActive, Settings: t.ParsedSettings(), CreatedAt: t.CreatedAt}
}

// currentTenant is GET /api/tenants/current.
func (h *Handler) currentTenant(c echo.Context) error {
	return c.JSON(http.StatusOK, toAPITenantDetail(principal(c).Tenant))
}

// patchCurrentTenant is PATCH /api/tenants/current (admins): any of name,
// timezone and currency, flat or under "settings".
func (h *Handler) patchCurrentTenant(c echo.Context) error {
	var body struct {
		Name     *string `json:"name"`
		Timezone *string `json:"timezone"`
		Currency *string `json:"currency"`
		Settings *struct {
			Timezone *string `json:"timezone"`
			Currency *string `json:"currency"`
		} `json:"settings"`
	}
	if !isJSONRequest(c) {
		return echo.NewHTTPError(http.StatusUnsupportedMediaType, "Send a JSON body (Content-Type: application/json).")
	}
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	p := principal(c)
	cur := p.Tenant.ParsedSettings()
	in := tenantInput{Name: p.Tenant.Name, Timezone: cur.Timezone, Currency: cur.Currency}
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&in.Name, body.Name)
	set(&in.Timezone, body.Timezone)
	set(&in.Currency, body.Currency)
	if body.Settings != nil {
		set(&in.Timezone, body.Settings.Timezone)
		set(&in.Currency, body.Settings.Currency)
	}
	if errs := in.validate(); len(errs) > 0 {
		return validationError(c, errs)
	}
	t, err := h.store.UpdateTenant(c.Request().Context(), p.User, models.TenantUpdate{Name: in.Name,
		Settings: models.TenantSettings{Timezone: in.Timezone, Currency: in.Currency}}, c.RealIP())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toAPITenantDetail(t))
}

type apiMember struct {
	apiUser
	IsActive  bool       `json:"is_active"`
	Invited   bool       `json:"invited"`
	LastLogin *time.Time `json:"last_login"`
}

// currentMembers is GET /api/tenants/current/members.
func (h *Handler) currentMembers(c echo.Context) error {
	users, err := h.store.ListMembers(c.Request().Context(), principal(c).Tenant.ID)
	if err != nil {
		return err
	}
	out := make([]apiMember, len(users))
	for i, u := range users {
		out[i] = apiMember{apiUser: toAPIUser(u), IsActive: u.IsActive, Invited: !u.PasswordHash.Valid}
		if u.LastLogin.Valid {
			out[i].LastLogin = &u.LastLogin.Time
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"members": out})
}

// allTenants is GET /api/tenants, for platform operators.
func (h *Handler) allTenants(c echo.Context) error {
	tenants, err := h.store.ListTenants(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]apiTenantDetail, len(tenants))
	for i, t := range tenants {
		out[i] = toAPITenantDetail(t)
	}
	return c.JSON(http.StatusOK, map[string]any{"tenants": out})
}

// requireOperator lets platform operators through; others get 403
// (anonymous callers are stopped earlier by requireRole).
func (h *Handler) requireOperator(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if p := principal(c); p == nil || !p.User.IsPlatformAdmin {
			return echo.NewHTTPError(http.StatusForbidden, "Only platform operators may do this.")
		}
		return next(c)
	}
}
