package handlers

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"adpilot/models"
	"adpilot/platforms"
	"adpilot/views"
)

// loadPick returns the user's pending pick, or a 404 page when it expired
// or is someone else's.
func (h *Handler) loadPick(c echo.Context) (string, pendingPick, error) {
	p := principal(c)
	platform, payload, err := h.store.OAuthPending(c.Request().Context(), p.Tenant.ID, p.User.ID, c.Param("id"), time.Now())
	if errors.Is(err, models.ErrNotFound) {
		return "", pendingPick{}, echo.NewHTTPError(http.StatusNotFound, "This choice has expired (it lasts 30 minutes). Connect again from the connections page.")
	}
	if err != nil {
		return "", pendingPick{}, err
	}
	var pick pendingPick
	if err := json.Unmarshal(payload, &pick); err != nil {
		return "", pendingPick{}, err
	}
	return platform, pick, nil
}

// pickPage shows the accounts the consent reached, connected ones ticked.
func (h *Handler) pickPage(c echo.Context) error {
	platform, pick, err := h.loadPick(c)
	if err != nil {
		return err
	}
	return h.renderPick(c, http.StatusOK, platform, pick, "")
}

func (h *Handler) renderPick(c echo.Context, status int, platform string, pick pendingPick, formErr string) error {
	existing, err := h.store.ListConnections(c.Request().Context(), principal(c).Tenant.ID)
	if err != nil {
		return err
	}
	connected := map[string]bool{}
	for _, e := range existing {
		if e.Platform == platform {
			connected[e.AccountRef] = true
		}
	}
	m := views.PickAccounts{CSRFToken: csrfToken(c), PendingID: c.Param("id"), PlatformLabel: platforms.Label(platform), Error: formErr}
	for _, a := range pick.Accounts {
		v := views.PickAccount{Ref: a.Ref, Name: nameOr(a.Name, a.Ref), KindLabel: kindLabel(a.Kind), Connected: connected[a.Ref]}
		var details []string
		if a.Kind == platforms.KindPage {
			if tasks, ok := a.Meta["tasks"].([]any); ok {
				for _, t := range tasks {
					if s, ok := t.(string); ok {
						details = append(details, s)
					}
				}
			}
			v.Details = a.Ref + " · tasks: " + strings.Join(details, ", ")
			m.Pages = append(m.Pages, v)
			continue
		}
		for _, d := range []string{a.Ref, a.Currency, a.Timezone, a.Status} {
			if d != "" {
				details = append(details, d)
			}
		}
		v.Details = strings.Join(details, " · ")
		m.AdAccounts = append(m.AdAccounts, v)
	}
	return h.renderPage(c, status, "Choose accounts", views.PickAccountsPage(m))
}

// pickAccounts connects the ticked accounts.
func (h *Handler) pickAccounts(c echo.Context) error {
	platform, pick, err := h.loadPick(c)
	if err != nil {
		return err
	}
	form, err := c.FormParams()
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "The form could not be read.")
	}
	chosen := form["account"]
	var inputs []models.ConnectionInput
	for _, a := range pick.Accounts {
		if slices.Contains(chosen, a.Ref) {
			inputs = append(inputs, connectionInput(platform, pick.Token, a))
		}
	}
	if len(inputs) == 0 {
		return h.renderPick(c, http.StatusUnprocessableEntity, platform, pick, "Tick at least one account to connect.")
	}
	p := principal(c)
	conns, err := h.store.ConnectAccounts(c.Request().Context(), p.User, c.RealIP(), inputs)
	if err != nil {
		return err
	}
	h.backfillSnapshots(conns)
	if err := h.store.DeleteOAuthPending(c.Request().Context(), p.Tenant.ID, c.Param("id")); err != nil {
		h.logger.Warn("deleting a used OAuth pick", "err", err)
	}
	names := make([]string, len(conns))
	for i, cn := range conns {
		names[i] = nameOr(cn.AccountName, cn.AccountRef)
	}
	_ = AddFlash(c, "success", "Connected "+strings.Join(names, ", ")+".")
	return c.Redirect(http.StatusSeeOther, "/connections")
}
