package handlers

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"adpilot/bot"
	"adpilot/models"
	"adpilot/reports"
)

// alertAction acknowledges or snoozes a firing alert from the dashboard,
// audited like the Telegram buttons.
func (h *Handler) alertAction(action string) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx, p := c.Request().Context(), principal(c)
		a, err := h.store.GetAutomation(ctx, p.Tenant.ID, c.FormValue("automation_id"))
		if err != nil {
			return err
		}
		key := c.FormValue("key")
		states, err := h.store.AlertStates(ctx, p.Tenant.ID, a.ID)
		if err != nil {
			return err
		}
		raw, ok := states[key]
		if !ok {
			return echo.NewHTTPError(http.StatusNotFound, "That alert is no longer firing.")
		}
		var st reports.State
		if err := json.Unmarshal(raw, &st); err != nil {
			return echo.NewHTTPError(http.StatusConflict, "This alert's stored state cannot be read; it is left as it is.")
		}
		now := time.Now()
		msg := "Acknowledged: no reminders until it clears."
		if action == "snooze" {
			st, msg = st.Snooze(now, bot.SnoozeFor), "Snoozed for 24 hours."
		} else {
			st = st.Acknowledge(now)
		}
		if err := h.store.RecordAudit(ctx, models.AuditEntry{TenantID: p.Tenant.ID, ActorID: p.User.ID, ActorLabel: p.User.DisplayName(),
			Action: "alert." + action, TargetType: "automation", TargetID: a.ID, IP: c.RealIP(),
			After: map[string]any{"entity": key, "via": "web"}}); err != nil {
			return err
		}
		if err := h.store.SaveAlertState(ctx, p.Tenant.ID, a.ID, key, st, now); err != nil {
			return err
		}
		_ = AddFlash(c, "success", msg)
		return c.Redirect(http.StatusSeeOther, "/")
	}
}
