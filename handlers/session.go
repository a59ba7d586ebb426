package handlers

import (
	"net/http"
	"strings"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo-contrib/session"
	"github.com/labstack/echo/v4"

	"adpilot/config"
	"adpilot/views"
)

// sessionName is the cookie holding the signed, encrypted session.
const sessionName = "adpilot_session"

// sessionMaxAge is how long an idle browser session lives (14 days).
const sessionMaxAge = 14 * 24 * 3600

// newSessionStore builds the cookie store with keys derived from
// MASTER_SECRET_KEY and safe cookie options (the library's defaults are not).
func newSessionStore(cfg *config.Config) sessions.Store {
	store := sessions.NewCookieStore(
		cfg.DeriveKey(config.KeySessionHash, 64),
		cfg.DeriveKey(config.KeySessionBlock, 32),
	)
	store.Options = &sessions.Options{
		Path:     "/",
		HttpOnly: true,
		Secure:   cfg.SecureCookies(),
		SameSite: http.SameSiteLaxMode, // Lax so OAuth callbacks still carry the cookie
	}
	store.MaxAge(sessionMaxAge)
	return store
}

// flashSep separates the kind from the text in a stored flash.
const flashSep = "\x1f"

// getSession returns this browser's session. A cookie that no longer
// decodes (keys rotated, dev secrets regenerated, tampering) yields a fresh
// session, which the next save writes over the bad cookie.
func getSession(c echo.Context) (*sessions.Session, error) {
	sess, err := session.Get(sessionName, c)
	if sess == nil {
		return nil, err // no session middleware on this route
	}
	return sess, nil
}

// AddFlash queues a message for the next page this browser renders; kind is
// success, info, warning or error.
func AddFlash(c echo.Context, kind, message string) error {
	sess, err := getSession(c)
	if err != nil {
		return err
	}
	sess.AddFlash(kind + flashSep + message)
	return sess.Save(c.Request(), c.Response())
}

// popFlashes takes the queued messages; the cookie is rewritten only when
// there were some, so anonymous pages set no cookie.
func (h *Handler) popFlashes(c echo.Context) []views.Flash {
	sess, err := getSession(c)
	if err != nil {
		return nil
	}
	raw := sess.Flashes()
	if len(raw) == 0 {
		return nil
	}
	out := make([]views.Flash, 0, len(raw))
	for _, r := range raw {
		if s, ok := r.(string); ok {
			kind, msg, _ := strings.Cut(s, flashSep)
			out = append(out, views.Flash{Kind: kind, Message: msg})
		}
	}
	if err := sess.Save(c.Request(), c.Response()); err != nil {
		h.logger.Warn("saving session after reading flashes", "err", err)
	}
	return out
}
