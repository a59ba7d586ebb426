package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"adpilot/views"
)

type changePasswordInput struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

func passwordFields(errs fieldErrors) []views.Field {
	return []views.Field{
		{Name: "current_password", Label: "Current password", Type: "password", Error: errs["current_password"], Autocomplete: "current-password", Required: true, MaxLength: maxPasswordLen},
		{Name: "new_password", Label: "New password", Type: "password", Error: errs["new_password"], Autocomplete: "new-password", Required: true, MaxLength: maxPasswordLen, Hint: "At least 10 characters."},
	}
}

// changePassword needs the current password. It ends every other session
// and every bearer token issued before; this browser stays signed in.
func (h *Handler) changePassword(c echo.Context) error {
	p := principal(c)
	var in changePasswordInput
	asJSON := isJSONRequest(c)
	if asJSON {
		if err := decodeJSON(c, &in); err != nil {
			return err
		}
	} else {
		in = changePasswordInput{CurrentPassword: c.FormValue("current_password"), NewPassword: c.FormValue("new_password")}
	}
	if err := h.limit(c, loginPerAccount, "user:"+p.User.ID); err != nil {
		return err // guessing the current password is a log-in attempt too
	}
	errs := fieldErrors{}
	if !checkPassword(p.User.PasswordHash.String, in.CurrentPassword) {
		errs.add("current_password", "This is not your current password.")
	}
	if msg := passwordProblem(in.NewPassword, p.User.Email.String); msg != "" {
		errs.add("new_password", msg)
	} else if in.NewPassword == in.CurrentPassword {
		errs.add("new_password", "Choose a password different from the current one.")
	}
	if len(errs) > 0 {
		if asJSON {
			return validationError(c, errs)
		}
		return h.renderProfile(c, http.StatusUnprocessableEntity, views.AuthForm{Fields: passwordFields(errs)})
	}
	hash, err := h.hashPassword(in.NewPassword)
	if err != nil {
		return err
	}
	u, err := h.store.ChangePassword(c.Request().Context(), p.User, hash, c.RealIP())
	if err != nil {
		return err
	}
	if p.TokenID != "" {
		return c.NoContent(http.StatusNoContent)
	}
	if err := h.signIn(c, u); err != nil { // carry the new epoch: this session survives
		return err
	}
	if asJSON {
		return c.NoContent(http.StatusNoContent)
	}
	_ = AddFlash(c, "success", "Password changed. Other sessions have been signed out.")
	return c.Redirect(http.StatusSeeOther, "/auth/me")
}
