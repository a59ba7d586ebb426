package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"adpilot/views"
)

// home shows the landing page to visitors who are not signed in.
func (h *Handler) home(c echo.Context) error {
	return h.renderPage(c, http.StatusOK, "Facebook and TikTok marketing automation", views.Landing())
}
