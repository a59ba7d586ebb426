package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"adpilot/models"
	"adpilot/platforms"
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
	e.GET("/metrics", h.metricsHandler())
	e.Match(getOrHead, "/static/*", h.serveStatic)
	e.Match(getOrHead, "/favicon.ico", func(c echo.Context) error {
		return c.Redirect(http.StatusMovedPermanently, static.URL("img/favicon.svg"))
	})

	// Browser pages and the auth API: session, CSRF, who is signed in.
	page := h.browser
	signedIn := h.with(h.requireRole(models.RoleViewer))
	e.Match(getOrHead, "/", h.home, page...)

	e.Match(getOrHead, "/auth/register", h.registerPage, page...)
	e.POST("/auth/register", h.register, page...)
	e.Match(getOrHead, "/auth/login", h.loginPage, page...)
	e.POST("/auth/login", h.login, page...)
	e.POST("/auth/login/tenant", h.pickTenant, page...)
	e.POST("/auth/logout", h.logout, page...)
	e.Match(getOrHead, "/auth/forgot", h.forgotPage, page...)
	e.POST("/auth/forgot", h.forgotPassword, page...)
	e.Match(getOrHead, "/auth/reset", h.resetPage, page...)
	e.POST("/auth/reset", h.resetPassword, page...)
	e.GET("/auth/verify", h.verifyEmail, page...)
	e.Match(getOrHead, "/auth/invite", h.invitePage, page...)
	e.POST("/auth/invite", h.acceptInvite, page...)
	e.POST("/auth/verify/resend", h.resendVerification, signedIn...)
	e.Match(getOrHead, "/auth/me", h.me, signedIn...)
	e.POST("/auth/change-password", h.changePassword, signedIn...)

	// Team
	admin := h.with(h.requireRole(models.RoleAdmin))
	e.Match(getOrHead, "/settings", h.settingsPage, signedIn...)
	e.POST("/settings", h.saveSettings, admin...)
	e.Match(getOrHead, "/settings/audit", h.auditPage, admin...)
	e.Match(getOrHead, "/settings/members", h.membersPage, signedIn...)
	e.POST("/settings/members/invite", h.inviteMember, admin...)
	e.POST("/settings/members/:id/role", h.changeMemberRole, admin...)
	e.POST("/settings/members/:id/deactivate", h.setMemberActive(false), admin...)
	e.POST("/settings/members/:id/activate", h.setMemberActive(true), admin...)

	// Connections
	member := h.with(h.requireRole(models.RoleUser))
	e.Match(getOrHead, "/connections", h.connectionsPage, signedIn...)
	e.POST("/connections/demo", h.connectDemo, member...)
	e.POST("/connections/:id/check", h.checkConnection, member...)
	e.POST("/connections/:id/disconnect", h.disconnectConnection, member...)
	e.POST("/connections/:id/settings", h.saveConnectionSettings, member...)
	e.Match(getOrHead, "/connections/pick/:id", h.pickPage, member...)
	e.POST("/connections/pick/:id", h.pickAccounts, member...)
	e.GET("/oauth/facebook/authorize", h.oauthAuthorize(platforms.Facebook), member...)
	e.GET("/oauth/facebook/callback", h.oauthCallback(platforms.Facebook), member...)
	e.GET("/oauth/tiktok/authorize", h.oauthAuthorize(platforms.TikTok), member...)
	e.GET("/oauth/tiktok/callback", h.oauthCallback(platforms.TikTok), member...)
	e.GET("/oauth/tiktok-ads/authorize", h.oauthAuthorize(platforms.TikTokAds), member...)
	e.GET("/oauth/tiktok-ads/callback", h.oauthCallback(platforms.TikTokAds), member...)
	// Automations and their runs
	e.Match(getOrHead, "/automations", h.automationsPage, signedIn...)
	e.Match(getOrHead, "/automations/new", h.newAutomationPage, member...)
	e.Match(getOrHead, "/automations/schedule-preview", h.schedulePreviewFragment, member...)
	e.POST("/automations", h.createAutomation, member...)
	e.Match(getOrHead, "/automations/:id", h.automationPage, signedIn...)
	e.Match(getOrHead, "/automations/:id/edit", h.editAutomationPage, member...)
	e.POST("/automations/:id", h.updateAutomation, member...)
	e.POST("/automations/:id/run", h.runAutomationNow, member...)
	e.POST("/automations/:id/preview", h.previewAutomation, member...)
	e.POST("/automations/:id/pause", h.setAutomationStatus(models.AutomationPaused), member...)
	e.POST("/automations/:id/stop", h.setAutomationStatus(models.AutomationStopped), member...)
	e.POST("/automations/:id/resume", h.resumeAutomation, member...)
	e.POST("/automations/:id/duplicate", h.duplicateAutomation, member...)
	e.POST("/automations/:id/delete", h.deleteAutomation, member...)
	e.Match(getOrHead, "/automations/:id/runs", h.automationRunsPage, signedIn...)
	e.Match(getOrHead, "/runs", h.runsPage, signedIn...)
	e.Match(getOrHead, "/runs/:id", h.runPage, signedIn...)

	// Alerts firing, from the dashboard
	e.POST("/alerts/acknowledge", h.alertAction("acknowledge"), member...)
	e.POST("/alerts/snooze", h.alertAction("snooze"), member...)

	// Webhook events the tenant received
	e.Match(getOrHead, "/events", h.eventsPage, signedIn...)
	e.Match(getOrHead, "/events/:id", h.eventPage, signedIn...)

	// Destinations
	e.Match(getOrHead, "/destinations", h.destinationsPage, signedIn...)
	e.Match(getOrHead, "/destinations/new", h.newDestinationPage, member...)
	e.POST("/destinations", h.createDestination, member...)
	e.POST("/destinations/telegram", h.startTelegramLink, member...)
	e.Match(getOrHead, "/destinations/telegram/:id/status", h.telegramLinkStatus, member...)
	e.Match(getOrHead, "/destinations/:id", h.destinationPage, signedIn...)
	e.Match(getOrHead, "/destinations/:id/edit", h.editDestinationPage, member...)
	e.POST("/destinations/:id", h.updateDestination, member...)
	e.POST("/destinations/:id/test", h.testDestination, member...)
	e.POST("/destinations/:id/rotate-secret", h.rotateDestinationSecret, member...)
	e.POST("/destinations/:id/activate", h.setDestinationActive(true), member...)
	e.POST("/destinations/:id/deactivate", h.setDestinationActive(false), member...)
	e.POST("/destinations/:id/delete", h.deleteDestination, member...)
	e.POST("/destinations/:id/deliveries/:delivery/retry", h.retryDelivery, member...)
	e.GET("/api/v1/destinations", h.apiDestinations, signedIn...)
	e.POST("/api/v1/destinations", h.apiCreateDestination, member...)
	e.GET("/api/v1/destinations/:id", h.apiDestination, signedIn...)
	e.PATCH("/api/v1/destinations/:id", h.apiPatchDestination, member...)
	e.DELETE("/api/v1/destinations/:id", h.deleteDestination, member...)
	e.GET("/api/v1/destinations/:id/deliveries", h.apiDeliveries, signedIn...)
	e.POST("/api/v1/destinations/:id/test", h.testDestination, member...)

	// Telegram's webhook mode: the secret header is the authentication.
	e.POST("/api/webhooks/telegram", h.telegramWebhook)
	// Facebook and TikTok events: the platform's signature is the authentication.
	e.GET("/api/webhooks/facebook", h.facebookWebhookVerify)
	e.POST("/api/webhooks/facebook", h.facebookWebhook)
	e.POST("/api/webhooks/tiktok", h.tiktokWebhook)
	// Facebook's server-to-server compliance callbacks: signed, no session.
	e.POST("/oauth/facebook/deauthorize", h.facebookDeauthorize)
	e.POST("/oauth/facebook/data-deletion", h.facebookDataDeletion)
	e.Match(getOrHead, "/oauth/facebook/data-deletion/:code", h.dataDeletionStatus, page...)

	// Platform operators
	operator := h.with(h.requireRole(models.RoleViewer), h.requireOperator)
	e.Match(getOrHead, "/admin/outbox", h.adminOutbox, operator...)
	e.Match(getOrHead, "/admin/outbox/:id", h.adminOutboxMessage, operator...)
	e.Match(getOrHead, "/admin/events", h.adminEventsPage, operator...)
	e.Match(getOrHead, "/admin/events/:id", h.adminEventPage, operator...)
	e.Match(getOrHead, "/admin", h.adminIndex, operator...)
	e.Match(getOrHead, "/admin/tenants", h.adminTenants, operator...)
	e.Match(getOrHead, "/admin/tenants/:id", h.adminTenant, operator...)
	e.POST("/admin/tenants/:id/deactivate", h.setTenantActive(false), operator...)
	e.POST("/admin/tenants/:id/activate", h.setTenantActive(true), operator...)
	e.Match(getOrHead, "/admin/users", h.adminUsers, operator...)
	e.POST("/admin/users/:id/deactivate", h.setUserActive(false), operator...)
	e.POST("/admin/users/:id/activate", h.setUserActive(true), operator...)
	e.POST("/admin/users/:id/reset-password", h.sendUserPasswordReset, operator...)
	e.Match(getOrHead, "/admin/connections", h.adminConnections, operator...)
	e.Match(getOrHead, "/admin/runs", h.adminRuns, operator...)
	e.POST("/admin/runs/:id/retry", h.retryRun, operator...)
	e.Match(getOrHead, "/admin/scheduler", h.adminScheduler, operator...)
	e.Match(getOrHead, "/admin/audit", h.adminAudit, operator...)
	e.Match(getOrHead, "/admin/audit.csv", h.adminAuditCSV, operator...)

	// JSON API
	e.GET("/api/tenants/current", h.currentTenant, signedIn...)
	e.PATCH("/api/tenants/current", h.patchCurrentTenant, admin...)
	e.GET("/api/tenants/current/members", h.currentMembers, signedIn...)
	e.GET("/api/tenants", h.allTenants, operator...)
	e.GET("/api/v1/automations", h.apiAutomations, signedIn...)
	e.POST("/api/v1/automations", h.apiCreateAutomation, member...)
	e.GET("/api/v1/automations/:id", h.apiAutomation, signedIn...)
	e.PATCH("/api/v1/automations/:id", h.apiPatchAutomation, member...)
	e.DELETE("/api/v1/automations/:id", h.apiDeleteAutomation, member...)
	e.POST("/api/v1/automations/:id/run", h.apiRunAutomation, member...)
	e.POST("/api/v1/automations/:id/preview", h.apiPreviewAutomation, member...)
	e.GET("/api/v1/automations/:id/runs", h.apiAutomationRuns, signedIn...)
	e.GET("/api/v1/runs/:id", h.apiRunDetail, signedIn...)
	e.GET("/api/v1/connections", h.apiConnections, signedIn...)
	e.POST("/api/v1/connections/demo", h.connectDemo, member...)
	e.POST("/api/v1/connections/:id/check", h.checkConnection, member...)
	e.DELETE("/api/v1/connections/:id", h.disconnectConnection, member...)
	e.PATCH("/api/v1/connections/:id", h.saveConnectionSettings, member...)
}

// with returns the browser middleware followed by extra (a fresh slice, so
// route lists never share a backing array).
func (h *Handler) with(extra ...echo.MiddlewareFunc) []echo.MiddlewareFunc {
	return append(append([]echo.MiddlewareFunc{}, h.browser...), extra...)
}
