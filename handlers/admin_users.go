package handlers

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"adpilot/models"
	"adpilot/views"
	"adpilot/views/emails"
)

// adminUsers lists users of every tenant, searchable by email, username or tenant.
func (h *Handler) adminUsers(c echo.Context) error {
	q := c.QueryParams()
	f := models.AdminUserFilter{Search: filterText(q.Get("q"), 100), Status: oneOf(q.Get("status"), "active", "inactive"),
		Limit: adminPageSize}
	page := pageNumber(q)
	f.Offset = (page - 1) * adminPageSize
	rows, total, err := h.store.ListAdminUsers(c.Request().Context(), f)
	if err != nil {
		return err
	}
	self := principal(c).User.ID
	m := views.AdminUsers{CSRFToken: csrfToken(c), Search: f.Search, Status: f.Status, Return: selfURL(c), Total: total}
	for _, u := range rows {
		m.Rows = append(m.Rows, views.AdminUserRow{ID: u.ID, Name: u.DisplayName(), Email: u.Email.String, Username: u.Username.String,
			Role: u.Role, LastLogin: lastLogin(u.User), TenantID: u.TenantID, TenantName: u.TenantName, TenantActive: u.TenantActive,
			Active: u.IsActive, Joined: u.PasswordHash.Valid, Operator: u.IsPlatformAdmin, Self: u.ID == self})
	}
	m.Prev, m.Next = pager("/admin/users", url.Values{"q": {f.Search}, "status": {f.Status}}, page, adminPageSize, total)
	return h.renderPage(c, http.StatusOK, "Users", views.AdminUsersPage(m))
}

// setUserActive deactivates (ending every session) or reactivates a user
// of any tenant (audited).
func (h *Handler) setUserActive(active bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		p := principal(c)
		u, err := h.store.OperatorSetUserActive(c.Request().Context(), p.User, c.Param("id"), active, c.RealIP())
		if errors.Is(err, models.ErrConflict) {
			return echo.NewHTTPError(http.StatusConflict, "You cannot deactivate yourself.")
		}
		if err != nil {
			return err
		}
		msg := u.DisplayName() + " is deactivated and signed out everywhere."
		if active {
			msg = u.DisplayName() + " is active again."
		}
		return adminDone(c, http.StatusOK, map[string]any{"id": u.ID, "is_active": u.IsActive}, msg, adminReturn(c, "/admin/users"))
	}
}

// sendUserPasswordReset emails a user the same reset link /auth/forgot
// sends (audited as sent by the operator).
func (h *Handler) sendUserPasswordReset(c echo.Context) error {
	ctx, p := c.Request().Context(), principal(c)
	u, err := h.store.GetAnyUser(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	token, tokenHash := newOneTimeToken()
	msg, err := emails.ResetPassword(emails.ResetData{Name: u.DisplayName(), Link: h.cfg.BaseURL + "/auth/reset?token=" + token})
	if err != nil {
		return err
	}
	err = h.store.OperatorPasswordReset(ctx, p.User, u, tokenHash, models.Email{Subject: msg.Subject, Text: msg.Text, HTML: msg.HTML}, c.RealIP())
	if errors.Is(err, models.ErrConflict) {
		return echo.NewHTTPError(http.StatusConflict, "Only an active member who has joined and has an email address can get a reset link.")
	}
	if err != nil {
		return err
	}
	return adminDone(c, http.StatusAccepted, map[string]string{"status": "sent"},
		"A password reset link is on its way to "+u.Email.String+".", adminReturn(c, "/admin/users"))
}
