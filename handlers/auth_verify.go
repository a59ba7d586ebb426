package handlers

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"adpilot/models"
	"adpilot/views/emails"
)

// verifyEmail consumes the link sent at sign-up.
func (h *Handler) verifyEmail(c echo.Context) error {
	token := c.QueryParam("token")
	if token == "" || len(token) > 128 {
		return echo.NewHTTPError(http.StatusBadRequest, "This verification link is incomplete.")
	}
	_, err := h.store.VerifyEmail(c.Request().Context(), hashToken(token))
	if errors.Is(err, models.ErrNotFound) {
		return echo.NewHTTPError(http.StatusBadRequest,
			"This verification link is invalid, already used or expired. Log in to send a new one.")
	}
	if err != nil {
		return err
	}
	_ = AddFlash(c, "success", "Your email address is verified.")
	return c.Redirect(http.StatusSeeOther, "/")
}

// resendVerification sends a fresh verification link to the signed-in user.
func (h *Handler) resendVerification(c echo.Context) error {
	p := principal(c)
	if p.User.EmailVerified {
		_ = AddFlash(c, "info", "Your email address is already verified.")
		return c.Redirect(http.StatusSeeOther, "/")
	}
	if err := h.limit(c, resendPerIP, c.RealIP()); err != nil {
		return err
	}
	if err := h.limit(c, resendPerAccount, p.User.ID); err != nil {
		return err
	}
	token, tokenHash := newOneTimeToken()
	msg, err := emails.Verify(emails.VerifyData{Name: p.User.DisplayName(), TenantName: p.Tenant.Name,
		Link: h.cfg.BaseURL + "/auth/verify?token=" + token})
	if err != nil {
		return err
	}
	if err := h.store.ResendVerification(c.Request().Context(), p.User, tokenHash,
		models.Email{Subject: msg.Subject, Text: msg.Text, HTML: msg.HTML}); err != nil {
		return err
	}
	if wantsJSON(c) {
		return c.NoContent(http.StatusAccepted)
	}
	_ = AddFlash(c, "success", "We sent a new link to "+p.User.Email.String+".")
	return c.Redirect(http.StatusSeeOther, "/")
}
