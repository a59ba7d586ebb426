package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"adpilot/models"
	"adpilot/views"
)

// logout ends the browser session, or revokes the bearer token used.
func (h *Handler) logout(c echo.Context) error {
	p := principal(c)
	ctx := c.Request().Context()
	if p != nil && p.TokenID != "" {
		if err := h.store.RevokeToken(ctx, p.TokenID, p.TokenExpiry); err != nil {
			return err
		}
	}
	if p != nil {
		if err := h.store.RecordAudit(ctx, models.AuditEntry{TenantID: p.Tenant.ID, ActorID: p.User.ID,
			ActorLabel: p.User.DisplayName(), Action: "auth.logout", TargetType: "user", TargetID: p.User.ID, IP: c.RealIP()}); err != nil {
			return err
		}
	}
	if p != nil && p.TokenID != "" {
		return c.NoContent(http.StatusNoContent) // a token call: the browser session is not its to end
	}
	if err := h.signOut(c); err != nil {
		return err
	}
	if wantsJSON(c) {
		return c.NoContent(http.StatusNoContent)
	}
	_ = AddFlash(c, "info", "You are logged out.")
	return c.Redirect(http.StatusSeeOther, "/")
}

// me shows who is signed in: JSON for the API, the profile page for browsers.
func (h *Handler) me(c echo.Context) error {
	p := principal(c)
	if wantsJSON(c) {
		out := toAPIUser(p.User)
		out.Tenant = toAPITenant(p.Tenant)
		return c.JSON(http.StatusOK, out)
	}
	return h.renderProfile(c, http.StatusOK, views.AuthForm{Fields: passwordFields(fieldErrors{})})
}

func (h *Handler) renderProfile(c echo.Context, status int, form views.AuthForm) error {
	p := principal(c)
	return h.renderPage(c, status, "Your profile", views.ProfilePage(views.Profile{
		CSRFToken: csrfToken(c), Email: p.User.Email.String, Username: p.User.Username.String, Role: p.User.Role,
		TenantName: p.Tenant.Name, EmailVerified: p.User.EmailVerified, PasswordForm: form,
	}))
}
