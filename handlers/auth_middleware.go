package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"adpilot/models"
)

// Session values of a signed-in browser.
const (
	sessUserID   = "uid"
	sessTenantID = "tid"
	sessEpoch    = "epoch"
	sessID       = "sid" // revoked at log-out, so a copied cookie dies too
)

// authenticate finds who makes the request: a bearer token (scripts) or the
// session cookie (browsers). A bad token is refused outright; a session that
// no longer holds (user deactivated, password changed elsewhere) is dropped.
func (h *Handler) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if raw, ok := strings.CutPrefix(c.Request().Header.Get(echo.HeaderAuthorization), "Bearer "); ok {
			p, err := h.principalFromToken(c, strings.TrimSpace(raw))
			if err != nil {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer error="invalid_token"`)
				if errors.Is(err, errTenantDeactivated) {
					return echo.NewHTTPError(http.StatusUnauthorized, msgTenantDeactivated)
				}
				return echo.NewHTTPError(http.StatusUnauthorized, "Invalid or expired token.")
			}
			withPrincipal(c, p)
			return next(c)
		}
		if p := h.principalFromSession(c); p != nil {
			withPrincipal(c, p)
		}
		return next(c)
	}
}

func (h *Handler) principalFromToken(c echo.Context, raw string) (*Principal, error) {
	claims, err := h.parseToken(raw)
	if err != nil {
		return nil, err
	}
	ctx := c.Request().Context()
	if revoked, err := h.store.IsTokenRevoked(ctx, claims.ID); err != nil || revoked {
		return nil, errors.Join(errBadToken, err)
	}
	p, err := h.loadPrincipal(c, claims.TenantID, claims.Subject, claims.Epoch)
	if err != nil {
		return nil, err
	}
	p.TokenID, p.TokenExpiry = claims.ID, claims.ExpiresAt.Time
	return p, nil
}

func (h *Handler) principalFromSession(c echo.Context) *Principal {
	sess, err := getSession(c)
	if err != nil {
		return nil
	}
	uid, _ := sess.Values[sessUserID].(string)
	tid, _ := sess.Values[sessTenantID].(string)
	epoch, _ := sess.Values[sessEpoch].(int)
	sid, _ := sess.Values[sessID].(string)
	if uid == "" {
		return nil
	}
	p, err := h.loadPrincipal(c, tid, uid, epoch)
	if err == nil {
		// The cookie store keeps nothing on the server: a logged-out
		// session's ID is remembered until the cookie would have expired.
		if revoked, rerr := h.store.IsTokenRevoked(c.Request().Context(), sid); rerr != nil || revoked {
			err = errors.Join(errNotSignedIn, rerr)
		}
	}
	if err != nil {
		// Not a valid sign-in any more: forget it.
		delete(sess.Values, sessUserID)
		delete(sess.Values, sessTenantID)
		delete(sess.Values, sessEpoch)
		if errors.Is(err, errTenantDeactivated) {
			sess.AddFlash("error" + flashSep + msgTenantDeactivated)
		}
		_ = sess.Save(c.Request(), c.Response())
		return nil
	}
	return p
}

var errNotSignedIn = errors.New("not signed in")

// loadPrincipal loads the user and tenant and checks they may still act:
// both active, and the auth epoch unchanged since the sign-in.
func (h *Handler) loadPrincipal(c echo.Context, tenantID, userID string, epoch int) (*Principal, error) {
	u, t, err := h.store.GetUserWithTenant(c.Request().Context(), tenantID, userID)
	if err != nil {
		return nil, err
	}
	if !u.IsActive || u.AuthEpoch != epoch || !u.PasswordHash.Valid {
		return nil, errNotSignedIn
	}
	if !t.IsActive {
		return nil, errTenantDeactivated
	}
	return &Principal{User: u, Tenant: t}, nil
}

// signIn renews the browser's session for u: old values are dropped, so
// nothing from before the log-in carries over.
func (h *Handler) signIn(c echo.Context, u models.User) error {
	sess, err := getSession(c)
	if err != nil {
		return err
	}
	for k := range sess.Values {
		delete(sess.Values, k)
	}
	sess.Values[sessUserID] = u.ID
	sess.Values[sessTenantID] = u.TenantID
	sess.Values[sessEpoch] = u.AuthEpoch
	sess.Values[sessID] = uuid.NewString()
	sess.Values["signed_in_at"] = time.Now().Unix()
	return sess.Save(c.Request(), c.Response())
}

// signOut forgets the browser's sign-in and revokes its session ID, so a
// copy of the cookie is refused too.
func (h *Handler) signOut(c echo.Context) error {
	sess, err := getSession(c)
	if err != nil {
		return err
	}
	if sid, _ := sess.Values[sessID].(string); sid != "" {
		if err := h.store.RevokeToken(c.Request().Context(), sid, time.Now().Add(sessionMaxAge*time.Second)); err != nil {
			return err
		}
	}
	for k := range sess.Values {
		delete(sess.Values, k)
	}
	return sess.Save(c.Request(), c.Response())
}

// requireRole lets the request through only for a signed-in principal with
// at least role: anonymous browsers go to the log-in page (and come back),
// anonymous API calls get 401, a weaker role gets 403.
func (h *Handler) requireRole(role string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p := principal(c)
			switch {
			case p == nil && wantsJSON(c):
				return echo.NewHTTPError(http.StatusUnauthorized, "Authentication required.")
			case p == nil:
				target := "/auth/login?next=" + url.QueryEscape(c.Request().URL.RequestURI())
				if IsHTMX(c) {
					c.Response().Header().Set(HXRedirect, target)
					return c.NoContent(http.StatusUnauthorized)
				}
				return c.Redirect(http.StatusSeeOther, target)
			case !p.Can(role):
				return echo.NewHTTPError(http.StatusForbidden, "Your role does not allow this.")
			}
			return next(c)
		}
	}
}
