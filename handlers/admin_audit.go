package handlers

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"adpilot/models"
	"adpilot/views"
)

// adminAuditFilter reads the cross-tenant audit filters; nonsense values
// are ignored, as on any read-only page. It returns the filter values to
// keep in links (only the ones in use).
func adminAuditFilter(q url.Values) (models.AdminAuditFilter, url.Values) {
	f := models.AdminAuditFilter{}
	keep := url.Values{}
	if t := q.Get("tenant"); len(t) == 36 && plainText(t) {
		f.TenantID = t
		keep.Set("tenant", t)
	}
	if a := filterText(q.Get("action"), 100); a != "" {
		f.Action = a
		keep.Set("action", a)
	}
	if a := filterText(q.Get("actor"), 100); a != "" {
		f.Actor = a
		keep.Set("actor", a)
	}
	if from, err := time.Parse(time.DateOnly, q.Get("from")); err == nil {
		f.From = from
		keep.Set("from", from.Format(time.DateOnly))
	}
	if to, err := time.Parse(time.DateOnly, q.Get("to")); err == nil {
		f.To = to.AddDate(0, 0, 1) // the whole "to" day
		keep.Set("to", to.Format(time.DateOnly))
	}
	return f, keep
}

// adminAudit is the audit log of every tenant, filtered and paged.
func (h *Handler) adminAudit(c echo.Context) error {
	ctx, q := c.Request().Context(), c.QueryParams()
	f, keep := adminAuditFilter(q)
	page := pageNumber(q)
	f.Limit, f.Offset = adminPageSize, (page-1)*adminPageSize
	records, total, err := h.store.ListAllAudit(ctx, f)
	if err != nil {
		return err
	}
	tenants, err := h.store.ListTenants(ctx)
	if err != nil {
		return err
	}
	actions, err := h.store.AuditActions(ctx)
	if err != nil {
		return err
	}
	m := views.AdminAudit{Actions: actions, Tenant: keep.Get("tenant"), Action: f.Action, Actor: f.Actor, From: keep.Get("from"),
		To: keep.Get("to"), Total: total, CSVURL: "/admin/audit.csv"}
	if len(keep) > 0 {
		m.CSVURL += "?" + keep.Encode()
	}
	for _, t := range tenants {
		m.Tenants = append(m.Tenants, views.Option{Value: t.ID, Label: t.Name + " (" + t.Slug + ")"})
	}
	for _, r := range records {
		m.Rows = append(m.Rows, views.AdminAuditRow{When: adminTime(r.CreatedAt), Tenant: r.TenantName, TenantID: deref(r.TenantID),
			Actor: r.ActorLabel, Action: r.Action, Target: strings.TrimSpace(r.TargetType + " " + r.TargetID), IP: r.IP,
			Changes: truncate(describeChange(r.AuditRecord), 500)})
	}
	m.Prev, m.Next = pager("/admin/audit", keep, page, adminPageSize, total)
	return h.renderPage(c, http.StatusOK, "Audit log", views.AdminAuditPage(m))
}

// adminAuditCSV exports the entries matching the same filters (newest
// first, at most models.MaxAuditExport) as a CSV attachment.
func (h *Handler) adminAuditCSV(c echo.Context) error {
	f, _ := adminAuditFilter(c.QueryParams())
	f.Limit = models.MaxAuditExport
	records, _, err := h.store.ListAllAudit(c.Request().Context(), f)
	if err != nil {
		return err
	}
	noStore(c)
	res := c.Response()
	res.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	res.Header().Set(echo.HeaderContentDisposition,
		`attachment; filename="adpilot-audit-`+time.Now().UTC().Format("20060102-150405")+`.csv"`)
	res.WriteHeader(http.StatusOK)
	w := csv.NewWriter(res)
	_ = w.Write([]string{"created_at", "tenant_id", "tenant", "actor_id", "actor", "action", "target_type", "target_id", "ip", "before", "after"})
	for _, r := range records {
		row := []string{r.CreatedAt.UTC().Format(time.RFC3339), deref(r.TenantID), r.TenantName, deref(r.ActorID), r.ActorLabel,
			r.Action, r.TargetType, r.TargetID, r.IP, r.Before, r.After}
		for i := range row {
			row[i] = csvSafe(row[i])
		}
		if err := w.Write(row); err != nil {
			return nil // the client went away
		}
	}
	w.Flush()
	return nil
}

// csvSafe defuses spreadsheet formulas: a cell starting with =, +, -, @,
// a tab or a carriage return is prefixed with a quote, so spreadsheets
// show it as text instead of evaluating it.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
