package handlers

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"
)

// msgTenantDeactivated tells a member of a deactivated tenant why they
// cannot sign in (shown only once their password proved who they are).
const msgTenantDeactivated = "Your team's account has been deactivated by the platform operator, so you cannot sign in. Contact them to restore access."

// errTenantDeactivated: the user is fine, their tenant is deactivated.
var errTenantDeactivated = errors.New("tenant deactivated")

// refuseDeactivatedTenant answers a log-in that matched no active account:
// when the password opens an account of a deactivated tenant, the person
// is told their team is deactivated (403) rather than that the password is
// wrong. handled is false when that is not the case.
func (h *Handler) refuseDeactivatedTenant(c echo.Context, login, password, next string) (handled bool, err error) {
	candidates, err := h.store.FindDeactivatedTenantLogins(c.Request().Context(), login)
	if err != nil {
		return false, err
	}
	for _, cand := range candidates {
		if !checkPassword(cand.User.PasswordHash.String, password) {
			continue
		}
		if isJSONRequest(c) {
			return true, echo.NewHTTPError(http.StatusForbidden, msgTenantDeactivated)
		}
		return true, h.renderLogin(c, http.StatusForbidden, login, next, msgTenantDeactivated, fieldErrors{})
	}
	return false, nil
}
