package handlers

import (
	"net/http"
	"regexp"

	"github.com/labstack/echo/v4"

	"adpilot/models"
	"adpilot/views"
	"adpilot/views/emails"
)

type registerInput struct {
	TenantName string `json:"tenant_name"`
	Email      string `json:"email"`
	Username   string `json:"username"`
	Password   string `json:"password"`
}

var usernamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{2,49}$`)

func (in *registerInput) validate() fieldErrors {
	errs := fieldErrors{}
	checkText(errs, "tenant_name", in.TenantName, "Organisation name", true, 100)
	checkEmail(errs, "email", in.Email)
	if in.Username != "" && !usernamePattern.MatchString(in.Username) {
		errs.add("username", "Use 3 to 50 letters, digits, dots, dashes or underscores, starting with a letter or digit.")
	}
	if msg := passwordProblem(in.Password, in.Email); msg != "" {
		errs.add("password", msg)
	}
	return errs
}

func registerFields(in registerInput, errs fieldErrors) []views.Field {
	return []views.Field{
		{Name: "tenant_name", Label: "Organisation name", Type: "text", Value: in.TenantName, Error: errs["tenant_name"], Autocomplete: "organization", Required: true, MaxLength: 100},
		{Name: "email", Label: "Email", Type: "email", Value: in.Email, Error: errs["email"], Autocomplete: "email", Required: true, MaxLength: 254},
		{Name: "username", Label: "Username (optional)", Type: "text", Value: in.Username, Error: errs["username"], Autocomplete: "username", MaxLength: 50},
		{Name: "password", Label: "Password", Type: "password", Error: errs["password"], Autocomplete: "new-password", Required: true, MaxLength: maxPasswordLen,
			Hint: "At least 10 characters."},
	}
}

// registerPage shows the sign-up form.
func (h *Handler) registerPage(c echo.Context) error {
	if principal(c) != nil {
		return c.Redirect(http.StatusSeeOther, "/")
	}
	return h.renderRegister(c, http.StatusOK, registerInput{}, fieldErrors{})
}

func (h *Handler) renderRegister(c echo.Context, status int, in registerInput, errs fieldErrors) error {
	form := views.AuthForm{CSRFToken: csrfToken(c), Fields: registerFields(in, errs)}
	return h.renderPage(c, status, "Create your team", views.RegisterPage(form))
}

// register creates a tenant and its first admin, from the form or JSON.
func (h *Handler) register(c echo.Context) error {
	var in registerInput
	if isJSONRequest(c) {
		if err := decodeJSON(c, &in); err != nil {
			return err
		}
	} else {
		in = registerInput{TenantName: formValue(c, "tenant_name"), Email: formValue(c, "email"),
			Username: formValue(c, "username"), Password: c.FormValue("password")}
	}
	in.Email = lowerTrim(in.Email)
	if errs := in.validate(); len(errs) > 0 {
		if isJSONRequest(c) {
			return validationError(c, errs)
		}
		return h.renderRegister(c, http.StatusUnprocessableEntity, in, errs)
	}

	if err := h.limit(c, registerPerIP, c.RealIP()); err != nil {
		return err
	}
	if err := h.limit(c, registerPerEmail, in.Email); err != nil {
		return err
	}
	hash, err := h.hashPassword(in.Password)
	if err != nil {
		return err
	}
	token, tokenHash := newOneTimeToken()
	msg, err := emails.Verify(emails.VerifyData{Name: nameOr(in.Username, in.Email), TenantName: in.TenantName,
		Link: h.cfg.BaseURL + "/auth/verify?token=" + token})
	if err != nil {
		return err
	}
	u, t, err := h.store.Register(c.Request().Context(), models.Registration{
		TenantName: in.TenantName, Email: in.Email, Username: in.Username, PasswordHash: hash,
		VerifyTokenHash: tokenHash, IP: c.RealIP(),
		VerifyEmail: models.Email{Subject: msg.Subject, Text: msg.Text, HTML: msg.HTML},
	})
	if err != nil {
		return err
	}
	if isJSONRequest(c) {
		return c.JSON(http.StatusCreated, map[string]any{"user": toAPIUser(u), "tenant": toAPITenant(t)})
	}
	if err := h.signIn(c, u); err != nil {
		return err
	}
	_ = AddFlash(c, "success", "Welcome to adpilot! We sent a link to "+in.Email+" to confirm your address.")
	return c.Redirect(http.StatusSeeOther, "/")
}
