package handlers

import (
	"net/http"
	"net/url"
	"slices"

	"github.com/labstack/echo/v4"

	"adpilot/models"
	"adpilot/views"
)

const outboxPageSize = 50

func outboxRow(e models.OutboxEmail) views.OutboxRow {
	return views.OutboxRow{ID: e.ID, To: e.To, Subject: e.Subject, Status: e.Status, Attempts: e.Attempts,
		Created: e.CreatedAt.UTC().Format("2006-01-02 15:04:05"), Error: e.LastError}
}

// adminOutbox lists emails across tenants for platform operators.
func (h *Handler) adminOutbox(c echo.Context) error {
	q := c.QueryParams()
	f := models.OutboxFilter{Search: filterText(q.Get("q"), 100), Limit: outboxPageSize}
	if s := q.Get("status"); slices.Contains([]string{"pending", "sent", "failed"}, s) {
		f.Status = s
	}
	page := pageNumber(q)
	f.Offset = (page - 1) * outboxPageSize
	list, total, err := h.store.ListOutbox(c.Request().Context(), f)
	if err != nil {
		return err
	}
	view := views.Outbox{Status: f.Status, Search: f.Search, Total: total, MailConfigured: h.cfg.MailEnabled()}
	for _, e := range list {
		view.Rows = append(view.Rows, outboxRow(e))
	}
	view.Prev, view.Next = pager("/admin/outbox", url.Values{"status": {f.Status}, "q": {f.Search}}, page, outboxPageSize, total)
	return h.renderPage(c, http.StatusOK, "Email outbox", views.OutboxPage(view))
}

// adminOutboxMessage shows one email in full.
func (h *Handler) adminOutboxMessage(c echo.Context) error {
	e, err := h.store.GetOutboxEmail(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	m := views.OutboxMessage{Row: outboxRow(e), Text: e.Text, HTML: e.HTML}
	if e.SentAt != nil {
		m.Sent = e.SentAt.UTC().Format("2006-01-02 15:04:05")
	}
	return h.renderPage(c, http.StatusOK, e.Subject, views.OutboxMessagePage(m))
}
