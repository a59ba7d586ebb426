package handlers

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"adpilot/models"
	"adpilot/views"
)

var errInviteLink = echo.NewHTTPError(http.StatusBadRequest,
	"This invitation is invalid, already used or expired. Ask a team admin to invite you again.")

func inviteAcceptFields(username string, errs fieldErrors) []views.Field {
	return []views.Field{
		{Name: "username", Label: "Username (optional)", Type: "text", Value: username, Error: errs["username"], Autocomplete: "username", MaxLength: 50},
		{Name: "password", Label: "Password", Type: "password", Error: errs["password"], Autocomplete: "new-password", Required: true,
			MaxLength: maxPasswordLen, Hint: "At least 10 characters."},
	}
}

// invitedUser resolves an invitation link without using it up.
func (h *Handler) invitedUser(c echo.Context, token string) (models.User, models.Tenant, error) {
	if token == "" || len(token) > 128 {
		return models.User{}, models.Tenant{}, errInviteLink
	}
	ctx := c.Request().Context()
	u, err := h.store.PeekToken(ctx, models.PurposeInvitation, hashToken(token))
	if errors.Is(err, models.ErrNotFound) {
		return u, models.Tenant{}, errInviteLink
	} else if err != nil {
		return u, models.Tenant{}, err
	}
	t, err := h.store.GetTenant(ctx, u.TenantID)
	return u, t, err
}

// invitePage shows the join form of an invitation link.
func (h *Handler) invitePage(c echo.Context) error {
	token := c.QueryParam("token")
	u, t, err := h.invitedUser(c, token)
	if err != nil {
		return err
	}
	form := views.AuthForm{CSRFToken: csrfToken(c), Fields: inviteAcceptFields("", fieldErrors{})}
	return h.renderPage(c, http.StatusOK, "Join "+t.Name, views.InvitePage(form, token, u.Email.String, t.Name))
}

// acceptInvite sets the password, joins, and signs the new member in.
func (h *Handler) acceptInvite(c echo.Context) error {
	token, username, password := c.FormValue("token"), formValue(c, "username"), c.FormValue("password")
	u, t, err := h.invitedUser(c, token)
	if err != nil {
		return err
	}
	errs := fieldErrors{}
	if username != "" && !usernamePattern.MatchString(username) {
		errs.add("username", "Use 3 to 50 letters, digits, dots, dashes or underscores, starting with a letter or digit.")
	}
	if msg := passwordProblem(password, u.Email.String); msg != "" {
		errs.add("password", msg)
	}
	if len(errs) > 0 {
		form := views.AuthForm{CSRFToken: csrfToken(c), Fields: inviteAcceptFields(username, errs)}
		return h.renderPage(c, http.StatusUnprocessableEntity, "Join "+t.Name, views.InvitePage(form, token, u.Email.String, t.Name))
	}
	hash, err := h.hashPassword(password)
	if err != nil {
		return err
	}
	joined, err := h.store.AcceptInvitation(c.Request().Context(), hashToken(token), username, hash, c.RealIP())
	if errors.Is(err, models.ErrNotFound) {
		return errInviteLink
	} else if errors.Is(err, models.ErrConflict) {
		form := views.AuthForm{CSRFToken: csrfToken(c), Fields: inviteAcceptFields(username, fieldErrors{"username": "This username is taken in the team."})}
		return h.renderPage(c, http.StatusUnprocessableEntity, "Join "+t.Name, views.InvitePage(form, token, u.Email.String, t.Name))
	} else if err != nil {
		return err
	}
	if err := h.signIn(c, joined); err != nil {
		return err
	}
	_ = AddFlash(c, "success", "Welcome to "+t.Name+"!")
	return c.Redirect(http.StatusSeeOther, "/")
}
