package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"adpilot/static"
)

// Routes is the single route table of adpilot.
func (h *Handler) Routes(e *echo.Echo) {
	// Public pages
	e.GET("/", h.home)

	// Operations
	e.GET("/health", h.health)
	e.GET("/health/ready", h.ready)

	// Assets
	e.GET("/static/*", h.serveStatic)
	e.GET("/favicon.ico", func(c echo.Context) error {
		return c.Redirect(http.StatusMovedPermanently, static.URL("img/favicon.svg"))
	})
}
