package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"sort"
	"strings"
	"time"

	"adpilot/models"
	"adpilot/notify"
	"adpilot/platforms"
	"adpilot/webhooks"
)

// IsEventAutomation reports whether a is an event automation: an alert
// whose config says "trigger": "event". No schedule sets it off; platform
// webhook events do (see RunEvent).
func IsEventAutomation(a models.Automation) bool {
	return a.Type == TypeAlert && webhooks.IsEventConfig(a.AutomationConfig)
}

// RunEvent runs an event automation for one webhook event the tenant
// received, at most once per (automation, event): processing retried for
// the same event finds the run and does not run it again once it ended.
// The run is an ordinary run (lease, step log, deliveries committed with
// its end), so a replica that dies mid-run leaves it to another.
func (e *Engine) RunEvent(ctx context.Context, tenantID, automationID, eventID string) (models.Run, error) {
	run, created, err := e.deps.Store.QueueEventRun(ctx, tenantID, automationID, eventID, e.now(), Lease)
	if err != nil || (!created && run.Status != "queued") {
		return run, err // already run (or running elsewhere under its lease)
	}
	if !created && run.LeaseUntil != nil && run.LeaseUntil.After(e.now()) {
		return run, nil // queued by a worker that still holds it
	}
	return e.Execute(ctx, run)
}

// eventInput is what an event run formats: the stored event and this
// tenant's record of it (the fetched lead).
type eventInput struct {
	Name     string
	Payload  json.RawMessage
	Data     json.RawMessage // the lead (platforms.Lead) for facebook.leadgen
	Received time.Time
	Sample   bool // a preview without any real event
}

// runEvent formats the event run's message: a lead's fields as a readable
// list, the event as JSON for webhooks.
func (e *Engine) runEvent(ctx context.Context, job Job) (Output, error) {
	cfg, ok := webhooks.ParseEventAutomationConfig(job.Automation.AutomationConfig)
	if !ok {
		return Output{}, errors.New("the automation's config does not name an event: edit it")
	}
	in, err := e.eventFor(ctx, job, cfg)
	if err != nil {
		return Output{}, err
	}
	if in.Sample {
		job.Log.Info(job.Now, "no "+cfg.Event+" event received yet: previewing a sample")
	} else {
		job.Log.Info(job.Now, fmt.Sprintf("%s event received %s", in.Name, in.Received.UTC().Format(time.RFC3339)))
	}
	m := eventMessage(job.Automation, in)
	job.Log.Info(job.Now, "message: "+m.Title)
	return Output{Message: &m, Result: map[string]any{"event": in.Name, "event_id": derefString(job.Run.EventID)}}, nil
}

func derefString(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// eventFor reads the run's event; a preview takes the tenant's latest event
// of that name, or a sample.
func (e *Engine) eventFor(ctx context.Context, job Job, cfg webhooks.EventAutomationConfig) (eventInput, error) {
	store := e.deps.Store
	id := derefString(job.Run.EventID)
	if id == "" && job.DryRun {
		list, _, err := store.ListWebhookEvents(ctx, job.Automation.TenantID, models.WebhookEventFilter{Type: cfg.Event, Limit: 1})
		if err != nil {
			return eventInput{}, err
		}
		if len(list) == 0 {
			return sampleEvent(cfg.Event, job.Now), nil
		}
		id = list[0].ID
	}
	if id == "" {
		return eventInput{}, errors.New("this run has no event (an event automation runs only when its event arrives)")
	}
	ev, err := store.GetWebhookEvent(ctx, job.Automation.TenantID, id)
	if errors.Is(err, models.ErrNotFound) {
		return eventInput{}, errors.New("the event is gone (deleted after WEBHOOK_EVENT_RETENTION)")
	}
	if err != nil {
		return eventInput{}, err
	}
	return eventInput{Name: ev.Type, Payload: ev.Payload, Data: ev.Match.Data, Received: ev.ReceivedAt}, nil
}

// sampleEvent stands in for an event in a preview before any arrived.
func sampleEvent(name string, now time.Time) eventInput {
	in := eventInput{Name: name, Received: now, Sample: true, Payload: json.RawMessage(`{"sample":true}`)}
	if name == "facebook.leadgen" {
		in.Payload = json.RawMessage(`{"field":"leadgen","value":{"leadgen_id":"sample","page_id":"sample_page","form_id":"sample_form"}}`)
		in.Data, _ = json.Marshal(platforms.Lead{ID: "sample", CreatedTime: now.UTC().Format("2006-01-02T15:04:05-0700"),
			FormID: "sample_form", FieldData: []platforms.LeadField{{Name: "full_name", Values: []string{"Sam Sample"}},
				{Name: "email", Values: []string{"sam@example.com"}}}})
	}
	return in
}

// eventMessage renders one event for every channel.
func eventMessage(a models.Automation, in eventInput) notify.Message {
	if in.Name == "facebook.leadgen" {
		return leadMessage(a, in)
	}
	label := in.Name
	for _, e := range webhooks.EventNames {
		if e.Name == in.Name {
			label = e.Label
		}
	}
	var payload any
	_ = json.Unmarshal(in.Payload, &payload)
	facts := flatFacts(payload)
	m := notify.Message{Event: "event." + in.Name, Title: a.Name + ": " + label,
		Data: map[string]any{"automation": a.Name, "event": in.Name, "received_at": in.Received.UTC(), "payload": payload}}
	var text, tg, htm strings.Builder
	tg.WriteString("<b>" + html.EscapeString(m.Title) + "</b>\n")
	htm.WriteString("<h2>" + html.EscapeString(m.Title) + "</h2><table>")
	for _, f := range facts {
		text.WriteString(f[0] + ": " + f[1] + "\n")
		tg.WriteString("<b>" + html.EscapeString(f[0]) + ":</b> " + html.EscapeString(f[1]) + "\n")
		htm.WriteString("<tr><th align=\"left\">" + html.EscapeString(f[0]) + "</th><td>" + html.EscapeString(f[1]) + "</td></tr>")
	}
	htm.WriteString("</table>")
	m.Text, m.TelegramHTML, m.HTML = strings.TrimSpace(text.String()), strings.TrimSpace(tg.String()), htm.String()
	return m
}

// leadMessage is a lead's fields as a readable list, plus the lead as JSON.
func leadMessage(a models.Automation, in eventInput) notify.Message {
	var lead platforms.Lead
	_ = json.Unmarshal(in.Data, &lead)
	lg, _ := webhooks.LeadgenOf(in.Payload)
	if lead.ID == "" {
		lead.ID, lead.FormID, lead.AdID = lg.LeadgenID, lg.FormID, lg.AdID
	}
	fields := map[string]string{}
	title := a.Name + ": new lead"
	var text, tg, htm strings.Builder
	tg.WriteString("<b>" + html.EscapeString(title) + "</b>\n")
	htm.WriteString("<h2>" + html.EscapeString(title) + "</h2><table>")
	for _, f := range lead.FieldData {
		label, value := fieldLabel(f.Name), strings.Join(f.Values, ", ")
		fields[f.Name] = value
		text.WriteString(label + ": " + value + "\n")
		tg.WriteString("<b>" + html.EscapeString(label) + ":</b> " + html.EscapeString(value) + "\n")
		htm.WriteString("<tr><th align=\"left\">" + html.EscapeString(label) + "</th><td>" + html.EscapeString(value) + "</td></tr>")
	}
	if len(lead.FieldData) == 0 {
		text.WriteString("The lead's fields could not be read.\n")
	}
	meta := "Lead " + lead.ID
	if lead.FormID != "" {
		meta += " · form " + lead.FormID
	}
	if lead.AdID != "" {
		meta += " · ad " + lead.AdID
	}
	if lg.PageID != "" {
		meta += " · Page " + lg.PageID
	}
	text.WriteString("\n" + meta)
	tg.WriteString("\n<i>" + html.EscapeString(meta) + "</i>")
	htm.WriteString("</table><p>" + html.EscapeString(meta) + "</p>")
	return notify.Message{Event: "lead", Title: title, Text: text.String(), TelegramHTML: tg.String(), HTML: htm.String(),
		Data: map[string]any{"automation": a.Name, "event": in.Name, "received_at": in.Received.UTC(),
			"lead": map[string]any{"id": lead.ID, "created_time": lead.CreatedTime, "form_id": lead.FormID, "ad_id": lead.AdID,
				"page_id": lg.PageID, "fields": fields, "field_data": lead.FieldData}}}
}

// fieldLabel turns a form field name ("full_name") into a label ("Full name").
func fieldLabel(name string) string {
	s := strings.TrimSpace(strings.ReplaceAll(name, "_", " "))
	if s == "" {
		return "(unnamed)"
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// flatFacts lists an event payload's scalar values as "a.b: value" lines
// (sorted, at most 30), for the text of events without a format of their own.
func flatFacts(v any) [][2]string {
	var out [][2]string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch t := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(t))
			for k := range t {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				walk(p, t[k])
			}
		case []any:
			for i, x := range t {
				walk(fmt.Sprintf("%s[%d]", prefix, i), x)
			}
		case nil:
		default:
			if len(out) < 30 {
				out = append(out, [2]string{prefix, fmt.Sprint(t)})
			}
		}
	}
	walk("", v)
	return out
}
