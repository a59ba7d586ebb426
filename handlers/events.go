package handlers

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"adpilot/models"
	"adpilot/views"
	"adpilot/webhooks"
)

const eventsPageSize = 50

// eventFilter reads the list's filters; nonsense values mean "all".
func eventFilter(q url.Values, statuses []string) (models.WebhookEventFilter, int) {
	f := models.WebhookEventFilter{Limit: eventsPageSize}
	if s := q.Get("status"); slices.Contains(statuses, s) {
		f.Status = s
	}
	if t := q.Get("type"); plainText(t) && len(t) <= 100 {
		f.Type = t
	}
	page := pageNumber(q)
	f.Offset = (page - 1) * eventsPageSize
	return f, page
}

func eventTypeOptions() []views.Option {
	out := make([]views.Option, len(webhooks.EventNames))
	for i, e := range webhooks.EventNames {
		out[i] = views.Option{Value: e.Name, Label: e.Name}
	}
	return out
}

func eventTime(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

// eventsPage is the tenant's events: those that came through its connections.
func (h *Handler) eventsPage(c echo.Context) error {
	statuses := []string{models.WebhookReceived, models.WebhookProcessed, models.WebhookFailed}
	f, page := eventFilter(c.QueryParams(), statuses)
	list, total, err := h.store.ListWebhookEvents(c.Request().Context(), principal(c).Tenant.ID, f)
	if err != nil {
		return err
	}
	m := views.EventList{Base: "/events", Status: f.Status, Type: f.Type, Statuses: statuses, Types: eventTypeOptions(), Total: total}
	for _, e := range list {
		m.Rows = append(m.Rows, views.EventRow{ID: e.ID, Type: e.Type, Platform: e.Platform, Status: e.Match.Status,
			Received: eventTime(&e.ReceivedAt), Processed: eventTime(e.Match.ProcessedAt), Automations: len(e.Match.AutomationIDs),
			Error: truncate(e.Match.Error, 200)})
	}
	m.Prev, m.Next = pager("/events", url.Values{"status": {f.Status}, "type": {f.Type}}, page, eventsPageSize, total)
	return h.renderPage(c, http.StatusOK, "Events", views.EventsPage(m))
}

// eventPage shows one of the tenant's events and what it set off.
func (h *Handler) eventPage(c echo.Context) error {
	ctx, p := c.Request().Context(), principal(c)
	e, err := h.store.GetWebhookEvent(ctx, p.Tenant.ID, c.Param("id"))
	if err != nil {
		return err
	}
	d := eventDetail(e.WebhookEvent, "/events")
	d.Status, d.Processed, d.Error = e.Match.Status, eventTime(e.Match.ProcessedAt), e.Match.Error
	if string(e.Match.Data) != "null" {
		d.Data = prettySafe(e.Match.Data)
	}
	for _, id := range e.Match.RunIDs {
		r, err := h.store.GetRun(ctx, p.Tenant.ID, id)
		if err != nil {
			continue // deleted with its automation
		}
		link := views.EventRunLink{RunID: r.ID, AutomationID: r.AutomationID, Status: r.Status, AutomationName: "(deleted)"}
		if a, err := h.store.GetAutomation(ctx, p.Tenant.ID, r.AutomationID); err == nil {
			link.AutomationName = a.Name
		}
		d.Runs = append(d.Runs, link)
	}
	return h.renderPage(c, http.StatusOK, e.Type, views.EventPage(d))
}

// adminEventsPage is every event, unmatched ones included, for operators.
func (h *Handler) adminEventsPage(c echo.Context) error {
	statuses := []string{models.WebhookReceived, models.WebhookProcessed, models.WebhookUnmatched, models.WebhookFailed}
	f, page := eventFilter(c.QueryParams(), statuses)
	list, total, err := h.store.ListAllWebhookEvents(c.Request().Context(), f)
	if err != nil {
		return err
	}
	m := views.EventList{Operator: true, Base: "/admin/events", Status: f.Status, Type: f.Type, Statuses: statuses,
		Types: eventTypeOptions(), Total: total}
	for _, e := range list {
		m.Rows = append(m.Rows, views.EventRow{ID: e.ID, Type: e.Type, Platform: e.Platform, Status: e.Status, Object: e.ObjectID,
			Received: eventTime(&e.ReceivedAt), Processed: eventTime(e.ProcessedAt), Tenants: e.Matches, Error: truncate(e.LastError, 200)})
	}
	m.Prev, m.Next = pager("/admin/events", url.Values{"status": {f.Status}, "type": {f.Type}}, page, eventsPageSize, total)
	return h.renderPage(c, http.StatusOK, "Webhook events", views.EventsPage(m))
}

// adminEventPage shows any event with every tenant's record of it (never
// the fetched lead: that is the tenant's data).
func (h *Handler) adminEventPage(c echo.Context) error {
	e, matches, err := h.store.GetAnyWebhookEvent(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	d := eventDetail(e, "/admin/events")
	for _, m := range matches {
		d.Tenants = append(d.Tenants, views.EventTenant{TenantID: m.TenantID, ConnectionID: m.ConnectionID, Status: m.Status, Error: m.Error})
	}
	return h.renderPage(c, http.StatusOK, e.Type, views.EventPage(d))
}

func eventDetail(e models.WebhookEvent, back string) views.EventDetail {
	d := views.EventDetail{Back: back, ID: e.ID, Type: e.Type, Platform: e.Platform, Status: e.Status, Object: e.ObjectID,
		Received: eventTime(&e.ReceivedAt), Processed: eventTime(e.ProcessedAt), Attempts: e.Attempts, Error: e.LastError,
		Payload: prettySafe(e.Payload)}
	if e.OccurredAt != nil {
		d.Occurred = eventTime(e.OccurredAt)
	}
	return d
}

// prettySafe pretty-prints JSON with every secret-looking value masked:
// values under keys naming a token, secret, password or signature, and
// strings shaped like Facebook or TikTok tokens.
func prettySafe(raw json.RawMessage) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return "(not JSON)"
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if enc.Encode(maskSecrets("", v)) != nil {
		return "(unreadable)"
	}
	return strings.TrimSpace(buf.String())
}

var secretKeyParts = []string{"token", "secret", "password", "signature", "access_key", "api_key", "appsecret",
	"authorization", "credential", "cookie", "private_key"}

// secretKeys are whole key names that hold secrets (an OAuth "code"; a
// "status_code" is not one).
var secretKeys = []string{"code", "auth"}

// tokenInText finds platform tokens inside longer strings ("Bearer EAA…",
// "…?access_token=EAA…").
var tokenInText = regexp.MustCompile(`(EAA|act\.|rft\.)[A-Za-z0-9._~+/=-]{20,}`)

func maskSecrets(key string, v any) any {
	k := strings.ToLower(key)
	if slices.Contains(secretKeys, k) {
		return "••••••"
	}
	for _, part := range secretKeyParts {
		if strings.Contains(k, part) {
			return "••••••"
		}
	}
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for kk, vv := range t {
			out[kk] = maskSecrets(kk, vv)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, vv := range t {
			out[i] = maskSecrets(key, vv)
		}
		return out
	case string:
		if looksLikeToken(t) {
			return "••••••"
		}
		return tokenInText.ReplaceAllString(t, "••••••")
	}
	return v
}

// looksLikeToken: Facebook user and Page tokens start with EAA, TikTok's
// with act. or rft.; all are long.
func looksLikeToken(s string) bool {
	return len(s) >= 30 && !strings.ContainsAny(s, " \n") &&
		(strings.HasPrefix(s, "EAA") || strings.HasPrefix(s, "act.") || strings.HasPrefix(s, "rft."))
}
