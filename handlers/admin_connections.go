package handlers

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"adpilot/models"
	"adpilot/platforms"
	"adpilot/views"
)

var connectionHealths = []string{models.ConnectionInvalid, models.ConnectionExpired, models.ConnectionExpiring, models.ConnectionValid}

var adminPlatforms = []string{platforms.Facebook, platforms.TikTok, platforms.TikTokAds, platforms.Demo}

// adminConnections lists connections of every tenant, the unhealthy first.
func (h *Handler) adminConnections(c echo.Context) error {
	q := c.QueryParams()
	f := models.AdminConnectionFilter{Search: filterText(q.Get("q"), 100), Status: oneOf(q.Get("status"), connectionHealths...),
		Platform: oneOf(q.Get("platform"), adminPlatforms...), Limit: adminPageSize}
	page := pageNumber(q)
	f.Offset = (page - 1) * adminPageSize
	rows, total, err := h.store.ListAdminConnections(c.Request().Context(), f)
	if err != nil {
		return err
	}
	m := views.AdminConnections{Search: f.Search, Status: f.Status, Platform: f.Platform, Statuses: connectionHealths, Total: total}
	for _, p := range adminPlatforms {
		m.Platforms = append(m.Platforms, views.Option{Value: p, Label: platforms.Label(p)})
	}
	now := time.Now()
	for _, r := range rows {
		m.Rows = append(m.Rows, adminConnection(r.Connection, r.TenantName, now))
	}
	m.Prev, m.Next = pager("/admin/connections", url.Values{"q": {f.Search}, "status": {f.Status}, "platform": {f.Platform}},
		page, adminPageSize, total)
	return h.renderPage(c, http.StatusOK, "Connections", views.AdminConnectionsPage(m))
}

// adminConnection describes a connection's health for operators.
func adminConnection(conn models.Connection, tenantName string, now time.Time) views.AdminConnectionRow {
	r := views.AdminConnectionRow{ID: conn.ID, TenantID: conn.TenantID, TenantName: tenantName, Platform: platforms.Label(conn.Platform),
		Account: nameOr(conn.AccountName, conn.AccountRef), AccountRef: conn.AccountRef, Health: conn.Status(now),
		Expires: "never", LastCheck: "never", CheckError: truncate(conn.LastCheckError, 200)}
	if exp := conn.Expiry(); exp != nil {
		r.Expires = exp.UTC().Format("2006-01-02 15:04")
	}
	if conn.LastValidated != nil {
		r.LastCheck = adminTime(*conn.LastValidated)
	}
	switch r.Health {
	case models.ConnectionInvalid:
		r.HealthLabel = "invalid: " + truncate(nameOr(conn.InvalidReason, "the platform refused the token"), 200)
	case models.ConnectionExpiring:
		days := int(math.Ceil(conn.Expiry().Sub(now).Hours() / 24))
		r.HealthLabel = fmt.Sprintf("expires in %d day%s", days, plural(days))
	default:
		r.HealthLabel = r.Health
	}
	return r
}
