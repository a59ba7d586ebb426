package handlers

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"adpilot/models"
	"adpilot/views"
)

// currencies are the display currencies offered (ISO 4217).
var currencies = []string{"AED", "ARS", "AUD", "BRL", "CAD", "CHF", "CLP", "CNY", "COP", "CZK", "DKK", "EGP", "EUR",
	"GBP", "HKD", "HUF", "IDR", "ILS", "INR", "JPY", "KRW", "MXN", "MYR", "NGN", "NOK", "NZD", "PEN", "PHP", "PKR",
	"PLN", "RON", "RUB", "SAR", "SEK", "SGD", "THB", "TRY", "TWD", "UAH", "USD", "VND", "ZAR"}

// commonZones are suggestions only; any IANA zone is accepted.
var commonZones = []string{"UTC", "Europe/London", "Europe/Berlin", "Europe/Paris", "Europe/Madrid", "Europe/Warsaw",
	"Europe/Kyiv", "Europe/Istanbul", "Africa/Lagos", "Africa/Cairo", "Asia/Dubai", "Asia/Kolkata", "Asia/Jakarta",
	"Asia/Singapore", "Asia/Shanghai", "Asia/Tokyo", "Australia/Sydney", "America/New_York", "America/Chicago",
	"America/Denver", "America/Los_Angeles", "America/Mexico_City", "America/Sao_Paulo", "America/Bogota"}

type tenantInput struct {
	Name     string
	Timezone string
	Currency string
}

func (in *tenantInput) validate() fieldErrors {
	errs := fieldErrors{}
	checkText(errs, "name", in.Name, "Team name", true, 100)
	in.Currency = strings.ToUpper(in.Currency)
	if !slices.Contains(currencies, in.Currency) {
		errs.add("currency", "Choose a currency code such as EUR or USD.")
	}
	if !validZone(in.Timezone) {
		errs.add("timezone", "Use an IANA time zone such as Europe/Berlin or America/New_York.")
	}
	return errs
}

// validZone accepts IANA names only ("Local" and file paths are not zones).
func validZone(z string) bool {
	if z == "" || z == "Local" || strings.Contains(z, "..") || len(z) > 64 {
		return false
	}
	_, err := time.LoadLocation(z)
	return err == nil
}

func settingsFields(in tenantInput, errs fieldErrors) []views.Field {
	return []views.Field{
		{Name: "name", Label: "Team name", Type: "text", Value: in.Name, Error: errs["name"], Required: true, MaxLength: 100},
		{Name: "timezone", Label: "Default time zone", Type: "text", Value: in.Timezone, Error: errs["timezone"], Required: true,
			MaxLength: 64, List: "zones", Hint: "Reports and schedules use it unless an automation says otherwise."},
		{Name: "currency", Label: "Display currency", Type: "text", Value: in.Currency, Error: errs["currency"], Required: true,
			MaxLength: 3, Hint: "ISO code, such as EUR or USD."},
	}
}

func (h *Handler) renderSettings(c echo.Context, status int, in tenantInput, errs fieldErrors) error {
	p := principal(c)
	return h.renderPage(c, status, "Team settings", views.SettingsPage(views.Settings{
		CSRFToken: csrfToken(c), CanEdit: p.Can(models.RoleAdmin), Slug: p.Tenant.Slug,
		Fields: settingsFields(in, errs), Zones: commonZones,
	}))
}

// settingsPage shows the tenant settings: editable for admins, read-only for others.
func (h *Handler) settingsPage(c echo.Context) error {
	p := principal(c)
	s := p.Tenant.ParsedSettings()
	return h.renderSettings(c, http.StatusOK, tenantInput{Name: p.Tenant.Name, Timezone: s.Timezone, Currency: s.Currency}, fieldErrors{})
}

// saveSettings updates the tenant (admins only; the route checks).
func (h *Handler) saveSettings(c echo.Context) error {
	in := tenantInput{Name: formValue(c, "name"), Timezone: formValue(c, "timezone"), Currency: formValue(c, "currency")}
	if errs := in.validate(); len(errs) > 0 {
		return h.renderSettings(c, http.StatusUnprocessableEntity, in, errs)
	}
	p := principal(c)
	if _, err := h.store.UpdateTenant(c.Request().Context(), p.User, models.TenantUpdate{Name: in.Name,
		Settings: models.TenantSettings{Timezone: in.Timezone, Currency: in.Currency}}, c.RealIP()); err != nil {
		return err
	}
	_ = AddFlash(c, "success", "Settings saved.")
	return c.Redirect(http.StatusSeeOther, "/settings")
}
