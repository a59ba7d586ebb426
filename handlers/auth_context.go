package handlers

import (
	"context"
	"time"

	"github.com/labstack/echo/v4"

	"adpilot/models"
)

// Principal is who made the request: a signed-in browser or a bearer token.
type Principal struct {
	User   models.User
	Tenant models.Tenant
	// Set for bearer-token requests: the token's ID and expiry, for log-out.
	TokenID     string
	TokenExpiry time.Time
}

// Can reports whether the principal's role is at least role.
func (p *Principal) Can(role string) bool {
	return p != nil && models.RoleRank(p.User.Role) >= models.RoleRank(role)
}

type principalKey struct{}

// withPrincipal stores the principal in the request's context.
func withPrincipal(c echo.Context, p *Principal) {
	c.SetRequest(c.Request().WithContext(context.WithValue(c.Request().Context(), principalKey{}, p)))
}

// principal returns who is signed in, or nil.
func principal(c echo.Context) *Principal {
	p, _ := c.Request().Context().Value(principalKey{}).(*Principal)
	return p
}
