package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"adpilot/models"
	"adpilot/views"
)

// auditActions are the actions the filter offers.
var auditActions = []string{"auth.login", "auth.login_failed", "auth.logout", "auth.register", "auth.password_change",
	"auth.password_reset_requested", "auth.password_reset", "member.invite", "member.join", "member.role_change",
	"member.deactivate", "member.activate", "tenant.settings_change"}

const auditPageSize = 50

// auditPage is the tenant's audit log for its admins. Bad filter values are
// ignored rather than refused: it is a read-only page.
func (h *Handler) auditPage(c echo.Context) error {
	q := c.QueryParams()
	f := models.AuditFilter{Limit: auditPageSize}
	if a := q.Get("action"); slices.Contains(auditActions, a) {
		f.Action = a
	}
	f.Actor = filterText(q.Get("actor"), 100)
	from, fromErr := time.Parse(time.DateOnly, q.Get("from"))
	if fromErr == nil {
		f.From = from
	}
	to, toErr := time.Parse(time.DateOnly, q.Get("to"))
	if toErr == nil {
		f.To = to.AddDate(0, 0, 1) // the whole "to" day
	}
	page := pageNumber(q)
	f.Offset = (page - 1) * auditPageSize

	records, total, err := h.store.ListAudit(c.Request().Context(), principal(c).Tenant.ID, f)
	if err != nil {
		return err
	}
	view := views.Audit{Actions: auditActions, Action: f.Action, Actor: f.Actor, Total: total}
	if fromErr == nil {
		view.From = from.Format(time.DateOnly)
	}
	if toErr == nil {
		view.To = to.Format(time.DateOnly)
	}
	for _, r := range records {
		view.Rows = append(view.Rows, views.AuditRow{
			When: r.CreatedAt.UTC().Format("2006-01-02 15:04:05"), Actor: r.ActorLabel, Action: r.Action,
			Target: r.TargetType, IP: r.IP, Changes: describeChange(r),
		})
	}
	view.Prev, view.Next = pager("/settings/audit", url.Values{"action": {q.Get("action")}, "actor": {q.Get("actor")},
		"from": {q.Get("from")}, "to": {q.Get("to")}}, page, auditPageSize, total)
	return h.renderPage(c, http.StatusOK, "Audit log", views.AuditPage(view))
}

func describeChange(r models.AuditRecord) string {
	switch {
	case r.Before != "" && r.After != "":
		return fmt.Sprintf("%s → %s", r.Before, r.After)
	default:
		return r.After
	}
}
