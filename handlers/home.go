package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"adpilot/views"
)

// home shows the landing page to visitors, and the team's home to members.
func (h *Handler) home(c echo.Context) error {
	if principal(c) != nil {
		return h.dashboard(c)
	}
	return h.renderPage(c, http.StatusOK, "Facebook and TikTok marketing automation", views.Landing())
}
