package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"adpilot/views"
)

// home shows the landing page to visitors, and the team's home to members.
func (h *Handler) home(c echo.Context) error {
	if p := principal(c); p != nil {
		return h.renderPage(c, http.StatusOK, p.Tenant.Name, views.HomePage(views.Home{
			UserName: p.User.DisplayName(), TenantName: p.Tenant.Name, Role: p.User.Role}))
	}
	return h.renderPage(c, http.StatusOK, "Facebook and TikTok marketing automation", views.Landing())
}
