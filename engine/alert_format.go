package engine

import (
	"fmt"
	"html"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"

	"adpilot/models"
	"adpilot/notify"
	"adpilot/platforms"
	"adpilot/reports"
)

// alertMaxListed bounds the entities listed in a message's text; the
// webhook data always carries all of them.
const alertMaxListed = 30

// alertData is the webhook payload of an alert (a public contract).
type alertData struct {
	Automation alertDataAutomation `json:"automation"`
	Window     reports.Period      `json:"window"`
	Fired      []alertDataFired    `json:"fired"`
	Resolved   []alertDataResolved `json:"resolved"`
}

type alertDataAutomation struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type alertDataFired struct {
	ConnectionID string               `json:"connection_id"`
	EntityID     string               `json:"entity_id"`
	EntityName   string               `json:"entity_name"`
	Level        platforms.Level      `json:"level"`
	Conditions   []alertDataCondition `json:"conditions"`
	Action       string               `json:"action"`
	Paused       bool                 `json:"paused"`
}

type alertDataCondition struct {
	Metric string  `json:"metric"`
	Op     string  `json:"op"`
	Value  float64 `json:"value"`
	Actual float64 `json:"actual"`
}

type alertDataResolved struct {
	ConnectionID string `json:"connection_id"`
	EntityID     string `json:"entity_id"`
	EntityName   string `json:"entity_name"`
}

// alertMessage renders one run's notices; nil when there are none.
func alertMessage(a models.Automation, window reports.Period, fired []alertFired, resolved []alertResolved) *notify.Message {
	if len(fired) == 0 && len(resolved) == 0 {
		return nil
	}
	m := &notify.Message{Event: "alert", Title: "Alert: " + a.Name}
	if len(fired) == 0 {
		m.Event, m.Title = "alert.resolved", "Resolved: "+a.Name
	}
	windowLine := window.Name + " (" + window.String() + ")"

	var text, tg, htm strings.Builder
	text.WriteString("Window: " + windowLine + "\n")
	tg.WriteString("<b>" + notify.EscapeHTML(m.Title) + "</b>\n<i>" + notify.EscapeHTML(windowLine) + "</i>\n")
	htm.WriteString("<p><strong>" + html.EscapeString(m.Title) + "</strong><br>Window: " + html.EscapeString(windowLine) + "</p>\n")

	if len(fired) > 0 {
		text.WriteString("\n")
		tg.WriteString("\n")
		htm.WriteString("<ul>\n")
		for i, f := range fired {
			if i == alertMaxListed {
				more := fmt.Sprintf("… and %d more", len(fired)-i)
				text.WriteString(more + "\n")
				tg.WriteString(notify.EscapeHTML(more) + "\n")
				htm.WriteString("<li>" + html.EscapeString(more) + "</li>\n")
				break
			}
			detail := alertDetail(f)
			outcome := alertOutcome(f)
			text.WriteString("• " + f.EntityName + " (" + f.AccountName + "): " + detail)
			tg.WriteString("<b>" + notify.EscapeHTML(f.EntityName) + "</b> (" + notify.EscapeHTML(f.AccountName) + "): " + notify.EscapeHTML(detail))
			htm.WriteString("<li><strong>" + html.EscapeString(f.EntityName) + "</strong> (" + html.EscapeString(f.AccountName) + "): " + html.EscapeString(detail))
			if outcome != "" {
				text.WriteString(" — " + outcome)
				tg.WriteString(" — <i>" + notify.EscapeHTML(outcome) + "</i>")
				htm.WriteString(" — <em>" + html.EscapeString(outcome) + "</em>")
			}
			text.WriteString("\n")
			tg.WriteString("\n")
			htm.WriteString("</li>\n")
		}
		htm.WriteString("</ul>\n")
	}
	if len(resolved) > 0 {
		text.WriteString("\nResolved\n")
		tg.WriteString("\n<b>Resolved</b>\n")
		htm.WriteString("<p><strong>Resolved</strong></p>\n<ul>\n")
		for i, r := range resolved {
			if i == alertMaxListed {
				more := fmt.Sprintf("… and %d more", len(resolved)-i)
				text.WriteString(more + "\n")
				tg.WriteString(notify.EscapeHTML(more) + "\n")
				htm.WriteString("<li>" + html.EscapeString(more) + "</li>\n")
				break
			}
			text.WriteString("• " + r.EntityName + " (" + r.AccountName + ")\n")
			tg.WriteString("✅ <b>" + notify.EscapeHTML(r.EntityName) + "</b> (" + notify.EscapeHTML(r.AccountName) + ")\n")
			htm.WriteString("<li><strong>" + html.EscapeString(r.EntityName) + "</strong> (" + html.EscapeString(r.AccountName) + ")</li>\n")
		}
		htm.WriteString("</ul>\n")
	}
	m.Text = strings.TrimRight(text.String(), "\n")
	m.TelegramHTML = strings.TrimRight(tg.String(), "\n")
	m.HTML = htm.String()
	m.Data = alertPayload(a, window, fired, resolved)
	return m
}

func alertPayload(a models.Automation, window reports.Period, fired []alertFired, resolved []alertResolved) alertData {
	d := alertData{Automation: alertDataAutomation{ID: a.ID, Name: a.Name}, Window: window,
		Fired: []alertDataFired{}, Resolved: []alertDataResolved{}}
	for _, f := range fired {
		conds := make([]alertDataCondition, 0, len(f.Conditions))
		for _, c := range f.Conditions {
			conds = append(conds, alertDataCondition{Metric: c.Metric, Op: c.Op, Value: c.Value, Actual: c.Actual.InexactFloat64()})
		}
		d.Fired = append(d.Fired, alertDataFired{ConnectionID: f.ConnectionID, EntityID: f.EntityID, EntityName: f.EntityName,
			Level: f.Level, Conditions: conds, Action: f.Action, Paused: f.Paused})
	}
	for _, r := range resolved {
		d.Resolved = append(d.Resolved, alertDataResolved{ConnectionID: r.ConnectionID, EntityID: r.EntityID, EntityName: r.EntityName})
	}
	return d
}

func alertKeyboard(hook func(string, string, bool) [][]notify.Button, automationID string, fired []alertFired) [][]notify.Button {
	if hook == nil {
		hook = AlertButtons
	}
	if hook == nil {
		return nil
	}
	var rows [][]notify.Button
	for i, f := range fired {
		if i == alertMaxButtonEntities {
			break
		}
		canPause := f.Action == reports.ActionNotify && f.Level != platforms.LevelAccount
		rows = append(rows, hook(automationID, f.Key, canPause)...)
	}
	return rows
}

// alertOutcome is what was done about a fired entity ("" for notify).
func alertOutcome(f alertFired) string {
	switch {
	case f.Action != reports.ActionPause:
		return ""
	case f.DryRun:
		return "Would be paused (preview)"
	case f.Paused:
		return "Paused"
	case f.Attempted:
		return "Pause failed: " + f.PauseError
	}
	return ""
}

// alertDetail is "CPA 42.10 USD > 20 · spend 310.00": the conditions that
// fired, then the spend unless a condition already shows it.
func alertDetail(f alertFired) string {
	parts := make([]string, 0, len(f.Conditions)+1)
	showsSpend := false
	for _, c := range f.Conditions {
		parts = append(parts, alertCondition(c, f.Currency))
		showsSpend = showsSpend || c.Metric == reports.Spend
	}
	if !showsSpend {
		parts = append(parts, "spend "+f.Spend)
	}
	return strings.Join(parts, " · ")
}

// alertCondition formats one fired condition: "CPA 42.10 USD > 20", or for
// a change "Spend +152.3% (123.00 → 310.00 USD) > +50%".
func alertCondition(c reports.ConditionResult, currency string) string {
	label := reports.Label(c.Metric)
	if c.IsChange() {
		op := strings.TrimPrefix(c.Op, "change_pct")
		return fmt.Sprintf("%s %s%% (%s → %s) %s %s%%", label, alertSigned(c.Actual), alertValue(c.Metric, c.Previous, ""),
			alertValue(c.Metric, c.Current, currency), op, alertSignedFloat(c.Value))
	}
	return fmt.Sprintf("%s %s %s %s", label, alertValue(c.Metric, c.Actual, currency), c.Op, strconv.FormatFloat(c.Value, 'f', -1, 64))
}

// alertValue formats a metric value; money gets the currency when it is a
// single one.
func alertValue(metric string, v decimal.Decimal, currency string) string {
	switch metric {
	case reports.Spend, reports.CPC, reports.CPM, reports.CPA, reports.Revenue:
		s := v.StringFixed(2)
		if currency != "" && currency != reports.MixedCurrency {
			s += " " + currency
		}
		return s
	case reports.CTR:
		return v.StringFixed(2) + "%"
	case reports.ROAS:
		return v.StringFixed(2)
	case reports.Impressions, reports.Clicks:
		return v.StringFixed(0)
	}
	return v.Round(2).String()
}

func alertSigned(d decimal.Decimal) string {
	if d.IsPositive() {
		return "+" + d.String()
	}
	return d.String()
}

func alertSignedFloat(v float64) string {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if v > 0 {
		return "+" + s
	}
	return s
}
