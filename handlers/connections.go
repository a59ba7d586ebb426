package handlers

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"adpilot/models"
	"adpilot/platforms"
	"adpilot/views"
)

// connectPaths are the authorize routes of the OAuth platforms, in the
// order their buttons appear.
var connectPaths = []struct{ platform, path string }{
	{platforms.Facebook, "/oauth/facebook/authorize"},
	{platforms.TikTok, "/oauth/tiktok/authorize"},
	{platforms.TikTokAds, "/oauth/tiktok-ads/authorize"},
}

func authorizePath(platform string) string {
	for _, p := range connectPaths {
		if p.platform == platform {
			return p.path
		}
	}
	return ""
}

// connectionsPage lists the tenant's connections with their health.
func (h *Handler) connectionsPage(c echo.Context) error {
	p := principal(c)
	list, err := h.store.ListConnections(c.Request().Context(), p.Tenant.ID)
	if err != nil {
		return err
	}
	now := time.Now()
	rows := make([]views.ConnectionRow, len(list))
	for i, conn := range list {
		rows[i] = connectionRow(conn, now)
	}
	var buttons []views.PlatformButton
	for _, cp := range connectPaths {
		conn, _ := h.platforms.Connector(cp.platform)
		b := views.PlatformButton{Key: cp.platform, Label: "Connect " + platforms.Label(cp.platform), Href: cp.path, Enabled: conn.Configured()}
		if !b.Enabled {
			b.Hint = "Set " + strings.Join(conn.MissingConfig(), " and ") + " to enable."
		}
		buttons = append(buttons, b)
	}
	return h.renderPage(c, http.StatusOK, "Connections", views.ConnectionsPage(views.Connections{
		CSRFToken: csrfToken(c), CanManage: p.Can(models.RoleUser), Rows: rows, Buttons: buttons,
		DemoEnabled: h.platforms.DemoOffered,
	}))
}

// connectionRow builds the view of one connection.
func connectionRow(c models.Connection, now time.Time) views.ConnectionRow {
	r := views.ConnectionRow{
		ID: c.ID, Platform: c.Platform, PlatformLabel: platforms.Label(c.Platform), KindLabel: kindLabel(c.Kind),
		AccountRef: c.AccountRef, AccountName: nameOr(c.AccountName, c.AccountRef), Status: c.Status(now),
		LastCheck: "never", CheckError: c.LastCheckError, ReconnectURL: authorizePath(c.Platform),
		HasConversionSettings: c.Platform == platforms.Facebook && c.Kind == platforms.KindAdAccount,
		ConversionActions:     strings.Join(c.ConversionActions(), ", "),
	}
	switch r.Status {
	case models.ConnectionInvalid:
		r.StatusLabel = "invalid: " + nameOr(c.InvalidReason, "the platform refused the token")
	case models.ConnectionExpired:
		r.StatusLabel = "expired"
	case models.ConnectionExpiring:
		days := int(math.Ceil(c.Expiry().Sub(now).Hours() / 24))
		r.StatusLabel = fmt.Sprintf("expires in %d day%s", days, plural(days))
	default:
		r.StatusLabel = "valid"
	}
	if c.LastValidated != nil {
		r.LastCheck = c.LastValidated.UTC().Format("2006-01-02 15:04 UTC")
	}
	meta := c.MetaMap()
	if cur, _ := meta["currency"].(string); cur != "" {
		r.Details = append(r.Details, "Currency "+cur)
	}
	if tz, _ := meta["timezone_name"].(string); tz != "" {
		r.Details = append(r.Details, "Time zone "+tz)
	}
	if st, _ := meta["status"].(string); st != "" && st != "active" {
		r.Details = append(r.Details, "Account status: "+st)
	}
	if exp := c.Expiry(); exp != nil && r.Status == models.ConnectionValid {
		r.Details = append(r.Details, "Access expires "+exp.UTC().Format("2006-01-02"))
	}
	return r
}

func kindLabel(kind string) string {
	switch kind {
	case platforms.KindAdAccount:
		return "ad account"
	case platforms.KindPage:
		return "Page"
	case platforms.KindCreator:
		return "creator"
	case platforms.KindAdvertiser:
		return "advertiser"
	}
	return kind
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// platformBudget bounds the platform calls one request makes (retries
// included), under the server's 60-second write timeout, so the browser
// always gets an answer.
const platformBudget = 45 * time.Second

func platformContext(c echo.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.Request().Context(), platformBudget)
}

// checkConnection asks the platform about a token now ("Check now"). htmx
// gets the row back; a plain form post returns to the page.
func (h *Handler) checkConnection(c echo.Context) error {
	p := principal(c)
	ctx, cancel := platformContext(c)
	defer cancel()
	conn, err := h.conns.Check(ctx, p.Tenant.ID, c.Param("id"))
	if err != nil {
		return err
	}
	switch {
	case wantsJSON(c):
		return c.JSON(http.StatusOK, toAPIConnection(conn, time.Now()))
	case IsHTMX(c):
		return render(c, http.StatusOK, views.ConnectionRowView(connectionRow(conn, time.Now()), csrfToken(c), true))
	}
	_ = AddFlash(c, "info", "Checked "+nameOr(conn.AccountName, conn.AccountRef)+": "+connectionRow(conn, time.Now()).StatusLabel+".")
	return c.Redirect(http.StatusSeeOther, "/connections")
}

// disconnectConnection revokes and deletes a connection.
func (h *Handler) disconnectConnection(c echo.Context) error {
	p := principal(c)
	ctx, cancel := platformContext(c)
	defer cancel()
	conn, err := h.conns.Disconnect(ctx, p.User, c.Param("id"), c.RealIP())
	if err != nil {
		return err
	}
	if wantsJSON(c) {
		return c.NoContent(http.StatusNoContent)
	}
	_ = AddFlash(c, "success", "Disconnected "+nameOr(conn.AccountName, conn.AccountRef)+".")
	return c.Redirect(http.StatusSeeOther, "/connections")
}
