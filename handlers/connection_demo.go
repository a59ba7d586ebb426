package handlers

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"adpilot/models"
	"adpilot/platforms"
)

// connectDemo adds the demo ad accounts (POST /connections/demo and POST
// /api/v1/connections/demo). Connecting again refreshes them in place.
func (h *Handler) connectDemo(c echo.Context) error {
	if !h.platforms.DemoOffered {
		return echo.NewHTTPError(http.StatusNotFound, "The demo platform is off on this server (set DEMO_PLATFORM=true to offer it).")
	}
	p := principal(c)
	accounts := h.platforms.Demo.DemoAccounts()
	inputs := make([]models.ConnectionInput, len(accounts))
	for i, a := range accounts {
		inputs[i] = models.ConnectionInput{Platform: platforms.Demo, Kind: a.Kind, AccountRef: a.Ref, AccountName: a.Name,
			AccessToken: platforms.DemoToken(a.Ref), Scope: "demo", Meta: a.Meta}
	}
	conns, err := h.store.ConnectAccounts(c.Request().Context(), p.User, c.RealIP(), inputs)
	if err != nil {
		return err
	}
	h.backfillSnapshots(conns)
	if wantsJSON(c) {
		return c.JSON(http.StatusCreated, map[string]any{"connections": toAPIConnections(conns)})
	}
	_ = AddFlash(c, "success", "Connected "+strconv.Itoa(len(conns))+" demo account"+plural(len(conns))+". Their metrics are generated: try reports and alerts on them.")
	return c.Redirect(http.StatusSeeOther, "/connections")
}
