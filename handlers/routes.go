package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"adpilot/static"
)

// getOrHead: every readable route answers HEAD too (monitors and load
// balancers probe with it).
var getOrHead = []string{http.MethodGet, http.MethodHead}

// Routes is the single route table of adpilot.
func (h *Handler) Routes(e *echo.Echo) {
	// Operations and assets: no session, no CSRF cookie (assets are cached
	// publicly, so they must never carry one).
	e.Match(getOrHead, "/health", h.health)
	e.Match(getOrHead, "/health/ready", h.ready)
	e.Match(getOrHead, "/static/*", h.serveStatic)
	e.Match(getOrHead, "/favicon.ico", func(c echo.Context) error {
		return c.Redirect(http.StatusMovedPermanently, static.URL("img/favicon.svg"))
	})

	// Browser pages: session and CSRF protection.
	e.Match(getOrHead, "/", h.home, h.browser...)
}
