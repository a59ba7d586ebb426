package handlers

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"adpilot/models"
	"adpilot/views"
	"adpilot/views/emails"
)

// forgotSent is the one answer to a reset request, whether or not the
// address has an account, so the form cannot be used to probe for accounts.
const forgotSent = "If an account uses that address, we sent it a link to choose a new password."

func forgotFields(email string, errs fieldErrors) []views.Field {
	return []views.Field{{Name: "email", Label: "Email", Type: "email", Value: email, Error: errs["email"],
		Autocomplete: "email", Required: true, MaxLength: 254}}
}

func (h *Handler) forgotPage(c echo.Context) error {
	return h.renderPage(c, http.StatusOK, "Forgot your password?",
		views.ForgotPage(views.AuthForm{CSRFToken: csrfToken(c), Fields: forgotFields("", fieldErrors{})}))
}

// forgotPassword emails a reset link to every account using the address
// (one per tenant), and answers the same either way.
func (h *Handler) forgotPassword(c echo.Context) error {
	var in struct {
		Email string `json:"email"`
	}
	asJSON := isJSONRequest(c)
	if asJSON {
		if err := decodeJSON(c, &in); err != nil {
			return err
		}
	} else {
		in.Email = formValue(c, "email")
	}
	in.Email = lowerTrim(in.Email)
	errs := fieldErrors{}
	checkEmail(errs, "email", in.Email)
	if len(errs) > 0 {
		if asJSON {
			return validationError(c, errs)
		}
		return h.renderPage(c, http.StatusUnprocessableEntity, "Forgot your password?",
			views.ForgotPage(views.AuthForm{CSRFToken: csrfToken(c), Fields: forgotFields(in.Email, errs)}))
	}
	if err := h.limit(c, forgotPerIP, c.RealIP()); err != nil {
		return err
	}
	if err := h.limit(c, forgotPerAccount, in.Email); err != nil {
		return err
	}
	// The lookup and the email happen after the answer, so a known address
	// takes no longer to answer than an unknown one.
	email, ip := in.Email, c.RealIP()
	h.background(func(ctx context.Context) {
		if err := h.sendResetLinks(ctx, email, ip); err != nil {
			h.logger.Error("password reset request", "err", err)
		}
	})
	if asJSON {
		return c.JSON(http.StatusAccepted, map[string]string{"status": forgotSent})
	}
	_ = AddFlash(c, "info", forgotSent)
	return c.Redirect(http.StatusSeeOther, "/auth/login")
}

// sendResetLinks emails a reset link to every account using the address.
func (h *Handler) sendResetLinks(ctx context.Context, email, ip string) error {
	candidates, err := h.store.FindLoginCandidates(ctx, email)
	if err != nil {
		return err
	}
	for _, cand := range candidates {
		if cand.User.Email.String != email {
			continue // matched a username, not the address
		}
		token, tokenHash := newOneTimeToken()
		msg, err := emails.ResetPassword(emails.ResetData{Name: cand.User.DisplayName(),
			Link: h.cfg.BaseURL + "/auth/reset?token=" + token})
		if err != nil {
			return err
		}
		if err := h.store.RequestPasswordReset(ctx, cand.User, tokenHash,
			models.Email{Subject: msg.Subject, Text: msg.Text, HTML: msg.HTML}, ip); err != nil {
			return err
		}
	}
	return nil
}

func resetFields(errs fieldErrors) []views.Field {
	return []views.Field{{Name: "new_password", Label: "New password", Type: "password", Error: errs["new_password"],
		Autocomplete: "new-password", Required: true, MaxLength: maxPasswordLen, Hint: "At least 10 characters."}}
}

var errResetLink = echo.NewHTTPError(http.StatusBadRequest,
	"This reset link is invalid, already used or expired. Ask for a new one from the log-in page.")

// resetPage shows the new-password form for a valid link (without using it up).
func (h *Handler) resetPage(c echo.Context) error {
	token := c.QueryParam("token")
	if token == "" || len(token) > 128 {
		return errResetLink
	}
	if _, err := h.store.PeekToken(c.Request().Context(), models.PurposeResetPassword, hashToken(token)); err != nil {
		if errors.Is(err, models.ErrNotFound) {
			return errResetLink
		}
		return err
	}
	return h.renderPage(c, http.StatusOK, "Choose a new password",
		views.ResetPage(views.AuthForm{CSRFToken: csrfToken(c), Fields: resetFields(fieldErrors{})}, token))
}

// resetPassword sets the new password and ends every session.
func (h *Handler) resetPassword(c echo.Context) error {
	var in struct {
		Token       string `json:"token"`
		NewPassword string `json:"new_password"`
	}
	asJSON := isJSONRequest(c)
	if asJSON {
		if err := decodeJSON(c, &in); err != nil {
			return err
		}
	} else {
		in.Token, in.NewPassword = c.FormValue("token"), c.FormValue("new_password")
	}
	if in.Token == "" || len(in.Token) > 128 {
		return errResetLink
	}
	ctx := c.Request().Context()
	u, err := h.store.PeekToken(ctx, models.PurposeResetPassword, hashToken(in.Token))
	if errors.Is(err, models.ErrNotFound) {
		return errResetLink
	} else if err != nil {
		return err
	}
	if msg := passwordProblem(in.NewPassword, u.Email.String); msg != "" {
		errs := fieldErrors{"new_password": msg}
		if asJSON {
			return validationError(c, errs)
		}
		return h.renderPage(c, http.StatusUnprocessableEntity, "Choose a new password",
			views.ResetPage(views.AuthForm{CSRFToken: csrfToken(c), Fields: resetFields(errs)}, in.Token))
	}
	hash, err := h.hashPassword(in.NewPassword)
	if err != nil {
		return err
	}
	if _, err := h.store.ResetPassword(ctx, hashToken(in.Token), hash, c.RealIP()); errors.Is(err, models.ErrNotFound) {
		return errResetLink // used up meanwhile
	} else if err != nil {
		return err
	}
	if asJSON {
		return c.NoContent(http.StatusNoContent)
	}
	_ = h.signOut(c)
	_ = AddFlash(c, "success", "Your password is set. Log in with it now.")
	return c.Redirect(http.StatusSeeOther, "/auth/login")
}
