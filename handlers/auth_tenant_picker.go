package handlers

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"adpilot/models"
	"adpilot/views"
)

// Session values of a log-in waiting for its tenant to be picked: the
// "user:tenant" pairs the password opened, and when.
const (
	sessPending   = "pending_login"
	sessPendingAt = "pending_login_at"
	pendingTTL    = 5 * time.Minute
)

// offerTenants remembers which users the password opened and asks which
// tenant to enter.
func (h *Handler) offerTenants(c echo.Context, matches []models.LoginCandidate, next string) error {
	sess, err := getSession(c)
	if err != nil {
		return err
	}
	pairs := make([]string, len(matches))
	choices := make([]views.TenantChoice, len(matches))
	for i, m := range matches {
		pairs[i] = m.User.ID + ":" + m.Tenant.ID
		choices[i] = views.TenantChoice{UserID: m.User.ID, TenantName: m.Tenant.Name, TenantSlug: m.Tenant.Slug}
	}
	sess.Values[sessPending] = strings.Join(pairs, ",")
	sess.Values[sessPendingAt] = time.Now().Unix()
	if err := sess.Save(c.Request(), c.Response()); err != nil {
		return err
	}
	return h.renderPage(c, http.StatusOK, "Choose a team", views.TenantPickerPage(csrfToken(c), next, choices))
}

// pickTenant completes a log-in with the chosen tenant, which must be one
// the password opened a moment ago.
func (h *Handler) pickTenant(c echo.Context) error {
	sess, err := getSession(c)
	if err != nil {
		return err
	}
	pending, _ := sess.Values[sessPending].(string)
	at, _ := sess.Values[sessPendingAt].(int64)
	delete(sess.Values, sessPending)
	delete(sess.Values, sessPendingAt)
	if pending == "" || time.Since(time.Unix(at, 0)) > pendingTTL {
		_ = sess.Save(c.Request(), c.Response())
		_ = AddFlash(c, "warning", "Your log-in expired; please log in again.")
		return c.Redirect(http.StatusSeeOther, "/auth/login")
	}
	chosen := c.FormValue("user_id")
	for _, pair := range strings.Split(pending, ",") {
		userID, tenantID, _ := strings.Cut(pair, ":")
		if userID == chosen {
			u, err := h.store.GetUser(c.Request().Context(), tenantID, userID)
			if err != nil {
				return err
			}
			return h.completeLogin(c, u, safeNext(c.FormValue("next")))
		}
	}
	_ = sess.Save(c.Request(), c.Response())
	return echo.NewHTTPError(http.StatusBadRequest, "Choose one of the teams offered.")
}
