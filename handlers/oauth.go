package handlers

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"adpilot/platforms"
	"adpilot/views"
)

// oauthStateTTL bounds how long a consent screen may stay open.
const oauthStateTTL = 15 * time.Minute

func oauthStateKey(platform string) string { return "oauth_state_" + platform }

// newOAuthState is a random nonce plus an HMAC (OAUTH_STATE_SECRET) binding
// it to the platform, tenant and user, so a state can never be replayed
// into someone else's session even if one leaked.
func (h *Handler) newOAuthState(platform, tenantID, userID string) string {
	nonce := make([]byte, 24)
	_, _ = rand.Read(nonce)
	n := base64.RawURLEncoding.EncodeToString(nonce)
	return n + "." + h.stateMAC(platform, tenantID, userID, n)
}

func (h *Handler) stateMAC(platform, tenantID, userID, nonce string) string {
	m := hmac.New(sha256.New, []byte(h.cfg.OAuthStateSecret.Reveal()))
	m.Write([]byte(platform + "\x00" + tenantID + "\x00" + userID + "\x00" + nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// oauthAuthorize starts a connect flow: a fresh state in the session, then
// the platform's consent screen.
func (h *Handler) oauthAuthorize(platform string) echo.HandlerFunc {
	return func(c echo.Context) error {
		conn, _ := h.platforms.Connector(platform)
		if !conn.Configured() {
			return h.oauthFailed(c, platform, http.StatusServiceUnavailable, "Not set up yet",
				platforms.Label(platform)+" is not configured on this server: set "+strings.Join(conn.MissingConfig(), " and ")+".")
		}
		p := principal(c)
		state := h.newOAuthState(platform, p.Tenant.ID, p.User.ID)
		target, err := conn.AuthURL(state)
		if err != nil {
			return err
		}
		sess, err := getSession(c)
		if err != nil {
			return err
		}
		sess.Values[oauthStateKey(platform)] = state + "|" + strconv.FormatInt(time.Now().Unix(), 10)
		if err := sess.Save(c.Request(), c.Response()); err != nil {
			return err
		}
		noStore(c)
		return c.Redirect(http.StatusFound, target)
	}
}

// takeOAuthState checks the callback's state against the session's, in
// constant time, and removes it: a state works once.
func (h *Handler) takeOAuthState(c echo.Context, platform string) bool {
	sess, err := getSession(c)
	if err != nil {
		return false
	}
	stored, _ := sess.Values[oauthStateKey(platform)].(string)
	delete(sess.Values, oauthStateKey(platform))
	if err := sess.Save(c.Request(), c.Response()); err != nil {
		h.logger.Warn("saving session after OAuth state check", "err", err)
	}
	state, issued, ok := strings.Cut(stored, "|")
	got := c.QueryParam("state")
	if !ok || got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(state)) != 1 {
		return false
	}
	at, err := strconv.ParseInt(issued, 10, 64)
	if err != nil || time.Since(time.Unix(at, 0)) > oauthStateTTL {
		return false
	}
	nonce, mac, _ := strings.Cut(state, ".")
	p := principal(c)
	want := h.stateMAC(platform, p.Tenant.ID, p.User.ID, nonce)
	return subtle.ConstantTimeCompare([]byte(mac), []byte(want)) == 1
}

// oauthFailed shows what went wrong in a connect flow, with a retry.
func (h *Handler) oauthFailed(c echo.Context, platform string, status int, title, message string) error {
	retry := authorizePath(platform)
	if status == http.StatusServiceUnavailable {
		retry = ""
	}
	return h.renderPage(c, status, title, views.OAuthFailurePage(views.OAuthFailure{
		PlatformLabel: platforms.Label(platform), Title: title, Message: message, RetryURL: retry}))
}
