package handlers

import (
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"adpilot/models"
	"adpilot/views"
)

type loginInput struct {
	Email    string `json:"email"`
	Username string `json:"username"`
	Password string `json:"password"`
	Tenant   string `json:"tenant"` // slug, when the login belongs to several tenants
}

func (in loginInput) login() string { return strings.TrimSpace(nameOr(in.Email, in.Username)) }

func loginFields(login string, errs fieldErrors) []views.Field {
	return []views.Field{
		{Name: "login", Label: "Email or username", Type: "text", Value: login, Error: errs["login"], Autocomplete: "username", Required: true, MaxLength: 254},
		{Name: "password", Label: "Password", Type: "password", Error: errs["password"], Autocomplete: "current-password", Required: true, MaxLength: maxPasswordLen},
	}
}

// loginPage shows the log-in form.
func (h *Handler) loginPage(c echo.Context) error {
	if principal(c) != nil {
		return c.Redirect(http.StatusSeeOther, safeNext(c.QueryParam("next")))
	}
	return h.renderLogin(c, http.StatusOK, "", c.QueryParam("next"), "", fieldErrors{})
}

func (h *Handler) renderLogin(c echo.Context, status int, login, next, formErr string, errs fieldErrors) error {
	form := views.AuthForm{CSRFToken: csrfToken(c), Fields: loginFields(login, errs), Next: safeNext(next), Error: formErr}
	return h.renderPage(c, status, "Log in", views.LoginPage(form))
}

// login checks credentials. Browsers get a renewed session (or a tenant
// picker when the login matches users of several tenants); API clients get
// a bearer token.
func (h *Handler) login(c echo.Context) error {
	var in loginInput
	asJSON := isJSONRequest(c)
	if asJSON {
		if err := decodeJSON(c, &in); err != nil {
			return err
		}
	} else {
		in = loginInput{Email: formValue(c, "login"), Password: c.FormValue("password")}
	}
	next := safeNext(c.FormValue("next"))
	errs := fieldErrors{}
	field := "login"
	if asJSON {
		field = "email"
	}
	switch {
	case in.login() == "":
		errs.add(field, "Enter your email or username.")
	case !plainText(in.login()) || len(in.login()) > 254:
		errs.add(field, "This is not an email or username.")
	}
	if in.Password == "" {
		errs.add("password", "Enter your password.")
	}
	if len(errs) > 0 {
		if asJSON {
			return validationError(c, errs)
		}
		return h.renderLogin(c, http.StatusUnprocessableEntity, in.login(), next, "", errs)
	}

	if err := h.limit(c, loginPerIP, c.RealIP()); err != nil {
		return err
	}
	if err := h.limit(c, loginPerAccount, strings.ToLower(in.login())); err != nil {
		return err
	}
	matches, err := h.checkCredentials(c, in.login(), in.Password)
	if err != nil {
		return err
	}
	if in.Tenant != "" {
		matches = filterTenant(matches, in.Tenant)
	}
	const badCredentials = "Wrong email, username or password."
	if len(matches) == 0 {
		if handled, err := h.refuseDeactivatedTenant(c, in.login(), in.Password, next); handled || err != nil {
			return err
		}
	}
	switch {
	case len(matches) == 0 && asJSON:
		return echo.NewHTTPError(http.StatusUnauthorized, badCredentials)
	case len(matches) == 0:
		return h.renderLogin(c, http.StatusUnauthorized, in.login(), next, badCredentials, fieldErrors{})
	case len(matches) > 1 && asJSON:
		slugs := make([]string, len(matches))
		for i, m := range matches {
			slugs[i] = m.Tenant.Slug
		}
		return c.JSON(http.StatusUnprocessableEntity, map[string]any{
			"error":   "This login belongs to several teams: pass \"tenant\" with one of their slugs.",
			"fields":  fieldErrors{"tenant": "Choose one of: " + strings.Join(slugs, ", ")},
			"tenants": slugs,
		})
	case len(matches) > 1:
		return h.offerTenants(c, matches, next)
	}
	return h.completeLogin(c, matches[0].User, next)
}

// checkCredentials returns the users the login and password open. Every
// attempt costs one bcrypt comparison at least, so a missing account is not
// faster to refuse than a wrong password. Failures are audited. Each
// account the login names is rate-limited too, so its email and its
// username do not add up to two allowances.
func (h *Handler) checkCredentials(c echo.Context, login, password string) ([]models.LoginCandidate, error) {
	ctx, ip := c.Request().Context(), c.RealIP()
	candidates, err := h.store.FindLoginCandidates(ctx, login)
	if err != nil {
		return nil, err
	}
	for _, cand := range candidates {
		if err := h.limit(c, loginPerAccount, "user:"+cand.User.ID); err != nil {
			return nil, err
		}
	}
	if len(candidates) == 0 {
		checkPassword(h.dummyHash(), password)
	}
	var matches []models.LoginCandidate
	for _, cand := range candidates {
		if checkPassword(cand.User.PasswordHash.String, password) {
			matches = append(matches, cand)
		}
	}
	if len(matches) == 0 {
		// The typed login is recorded only when it names an account: people
		// sometimes type their password into the login field.
		entry := models.AuditEntry{Action: "auth.login_failed", ActorLabel: "(unknown login)", IP: ip}
		if len(candidates) > 0 {
			entry.ActorLabel = truncate(login, 254)
		}
		if len(candidates) == 1 {
			entry.TenantID, entry.TargetType, entry.TargetID = candidates[0].Tenant.ID, "user", candidates[0].User.ID
		}
		if err := h.store.RecordAudit(ctx, entry); err != nil {
			h.logger.Warn("audit of failed log-in", "err", err)
		}
	}
	return matches, nil
}

func filterTenant(matches []models.LoginCandidate, slug string) []models.LoginCandidate {
	var out []models.LoginCandidate
	for _, m := range matches {
		if strings.EqualFold(m.Tenant.Slug, slug) {
			out = append(out, m)
		}
	}
	return out
}

// completeLogin records the log-in and answers: a token for the API, a
// renewed session and a redirect for browsers.
func (h *Handler) completeLogin(c echo.Context, u models.User, next string) error {
	if err := h.store.RecordLogin(c.Request().Context(), u, c.RealIP()); err != nil {
		return err
	}
	if isJSONRequest(c) {
		token, err := h.issueToken(u, time.Now())
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, map[string]any{
			"access_token": token, "token_type": "bearer", "expires_in": int(accessTokenTTL.Seconds()),
		})
	}
	if err := h.signIn(c, u); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, next)
}

// truncate cuts s to at most n bytes, on a character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
