package engine

import (
	"errors"
	"fmt"
	"html"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"adpilot/charts"
	"adpilot/notify"
	"adpilot/platforms"
	"adpilot/reports"
)

// EventReport is the event of a scheduled report's message.
const EventReport = "report"

var reportPeriodNames = map[string]string{
	reports.Yesterday: "Yesterday",
	reports.Last7d:    "Last 7 days",
	reports.Last30d:   "Last 30 days",
	reports.ThisMonth: "This month",
	reports.LastMonth: "Last month",
}

// ReportPeriodLabel is "Yesterday (Nov 25)", "Last 7 days (Nov 18–24)" or
// "Last 30 days (Oct 26–Nov 24)".
func ReportPeriodLabel(p reports.Period) string {
	name, ok := reportPeriodNames[p.Name]
	if !ok {
		name = p.Name
	}
	return name + " (" + reportRange(p.Since, p.Until) + ")"
}

// reportRange is "Nov 25", "Nov 18–24", "Oct 26–Nov 24" or, across years,
// "Dec 28, 2024–Jan 3, 2025".
func reportRange(since, until time.Time) string {
	switch {
	case since.Equal(until):
		return since.Format("Jan 2")
	case since.Year() != until.Year():
		return since.Format("Jan 2, 2006") + "–" + until.Format("Jan 2, 2006")
	case since.Month() == until.Month():
		return since.Format("Jan 2") + "–" + until.Format("2")
	}
	return since.Format("Jan 2") + "–" + until.Format("Jan 2")
}

// reportLabel is a metric's display name (creator metrics included).
func reportLabel(m string) string {
	if reportIsCreatorMetric(m) {
		return strings.ToUpper(m[:1]) + m[1:]
	}
	return reports.Label(m)
}

// reportFormat formats a metric value: money with 2 places and the
// currency, counts with thousands separators, ctr as a percentage, roas as
// a multiple; an undefined ratio is "n/a".
func reportFormat(m string, v decimal.Decimal, ok bool, currency string) string {
	if !ok {
		return "n/a"
	}
	switch m {
	case reports.Spend, reports.Revenue, reports.CPC, reports.CPM, reports.CPA:
		s := rsGroup(v, 2)
		if currency != "" && currency != reports.MixedCurrency {
			s += " " + currency
		}
		return s
	case reports.CTR:
		return rsGroup(v, 2) + "%"
	case reports.ROAS:
		return rsGroup(v, 2) + "x"
	case reports.Conversions:
		if v.Equal(v.Truncate(0)) {
			return rsGroup(v, 0)
		}
		return rsGroup(v, 2)
	}
	return rsGroup(v, 0)
}

// rsGroup formats v with places decimals and comma thousands separators.
func rsGroup(v decimal.Decimal, places int32) string {
	s := v.StringFixed(places)
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	intPart, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	for i, r := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	out := sign + b.String()
	if hasFrac {
		out += "." + frac
	}
	return out
}

// reportChangeText is " (+12.3%)", or "" without a comparison.
func reportChangeText(a reportAccount, m string) string {
	pct, ok := a.change(m)
	if !ok {
		return ""
	}
	s := pct.StringFixed(1)
	if pct.Sign() >= 0 {
		s = "+" + s
	}
	return " (" + s + "%)"
}

var reportLevelPlural = map[platforms.Level]string{
	platforms.LevelAccount: "accounts", platforms.LevelCampaign: "campaigns",
	platforms.LevelAdSet: "ad sets", platforms.LevelAd: "ads",
}

// reportTopItem is one line of a top list.
type reportTopItem struct{ name, value string }

// topList is a's top entities (or videos) with their heading.
func (a reportAccount) topList(cfg ReportConfig) (string, []reportTopItem) {
	if a.isCreator() {
		if len(a.creator.top) == 0 {
			return "", nil
		}
		items := make([]reportTopItem, len(a.creator.top))
		for i, v := range a.creator.top {
			name := v.Title
			if name == "" {
				name = v.ID
			}
			items[i] = reportTopItem{name, rsGroup(decimal.NewFromInt(v.Views), 0) + " views"}
		}
		return fmt.Sprintf("Top %d videos by views", len(items)), items
	}
	if len(a.top) == 0 {
		return "", nil
	}
	items := make([]reportTopItem, len(a.top))
	for i, e := range a.top {
		name := e.EntityName
		if name == "" {
			name = e.EntityID
		}
		items[i] = reportTopItem{name, reportFormat(cfg.TopBy, e.Metric(cfg.TopBy), e.Defined(cfg.TopBy), a.currency)}
	}
	return fmt.Sprintf("Top %d %s by %s", len(items), reportLevelPlural[a.breakdownLevel], strings.ToLower(reportLabel(cfg.TopBy))), items
}

// reportMessage renders the report for every channel.
func reportMessage(job Job, cfg ReportConfig, accounts []reportAccount) *notify.Message {
	title := job.Automation.Name
	if len(accounts) > 0 {
		title += ": " + ReportPeriodLabel(accounts[0].period)
	}
	var tg, text, email strings.Builder
	tg.WriteString("<b>" + notify.EscapeHTML(title) + "</b>\n")
	for i, a := range accounts {
		if i > 0 {
			text.WriteString("\n")
		}
		tg.WriteString("\n<b>" + notify.EscapeHTML(a.name) + "</b>\n")
		text.WriteString(a.name + "\n")
		email.WriteString(`<h3 style="margin:16px 0 4px">` + html.EscapeString(a.name) + "</h3>\n")
		if len(accounts) > 1 && !a.isCreator() && !a.period.Since.Equal(accounts[0].period.Since) {
			// Accounts in other zones can have other dates.
			label := ReportPeriodLabel(a.period)
			tg.WriteString("<i>" + notify.EscapeHTML(label) + "</i>\n")
			text.WriteString(label + "\n")
			email.WriteString("<p>" + html.EscapeString(label) + "</p>\n")
		}
		email.WriteString(`<table cellpadding="4" style="border-collapse:collapse">` + "\n")
		if a.prev != nil {
			email.WriteString("<tr><th align=\"left\">Metric</th><th align=\"right\">Value</th><th align=\"right\">Change</th></tr>\n")
		}
		for _, m := range a.metrics(cfg) {
			v, ok := a.value(m)
			line := reportLabel(m) + ": " + reportFormat(m, v, ok, a.currency) + reportChangeText(a, m)
			tg.WriteString(notify.EscapeHTML(line) + "\n")
			text.WriteString(line + "\n")
			email.WriteString("<tr><td>" + html.EscapeString(reportLabel(m)) + "</td><td align=\"right\">" +
				html.EscapeString(reportFormat(m, v, ok, a.currency)) + "</td>")
			if a.prev != nil {
				email.WriteString("<td align=\"right\">" + html.EscapeString(strings.Trim(reportChangeText(a, m), " ()")) + "</td>")
			}
			email.WriteString("</tr>\n")
		}
		email.WriteString("</table>\n")
		if heading, items := a.topList(cfg); len(items) > 0 {
			tg.WriteString("<i>" + notify.EscapeHTML(heading) + "</i>\n")
			text.WriteString(heading + "\n")
			email.WriteString("<p style=\"margin:8px 0 4px\"><strong>" + html.EscapeString(heading) + "</strong></p>\n<ol>\n")
			for j, it := range items {
				line := fmt.Sprintf("%d. %s: %s", j+1, it.name, it.value)
				tg.WriteString(notify.EscapeHTML(line) + "\n")
				text.WriteString(line + "\n")
				email.WriteString("<li>" + html.EscapeString(it.name) + ": " + html.EscapeString(it.value) + "</li>\n")
			}
			email.WriteString("</ol>\n")
		}
	}
	return &notify.Message{
		Event:        EventReport,
		Title:        title,
		Text:         strings.TrimRight(text.String(), "\n"),
		HTML:         email.String(),
		TelegramHTML: strings.TrimRight(tg.String(), "\n"),
		Data:         reportDataOf(job, cfg, accounts),
	}
}

// Webhook data: the issue's {automation, period, currency, totals,
// previous, rows} for the first (or only) account; with several accounts
// "accounts" lists each of them in the same shape plus connection_id and
// account_name.

type rsAutomationRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type reportDataRow struct {
	EntityID   string         `json:"entity_id"`
	EntityName string         `json:"entity_name"`
	Totals     map[string]any `json:"totals"`
}

type reportDataAccount struct {
	ConnectionID string          `json:"connection_id"`
	AccountName  string          `json:"account_name"`
	Period       reports.Period  `json:"period"`
	Currency     string          `json:"currency"`
	Totals       map[string]any  `json:"totals"`
	Previous     map[string]any  `json:"previous"`
	Rows         []reportDataRow `json:"rows"`
}

type reportData struct {
	Automation rsAutomationRef     `json:"automation"`
	Period     reports.Period      `json:"period"`
	Currency   string              `json:"currency"`
	Totals     map[string]any      `json:"totals"`
	Previous   map[string]any      `json:"previous"`
	Rows       []reportDataRow     `json:"rows"`
	Accounts   []reportDataAccount `json:"accounts,omitempty"`
}

func reportDataOf(job Job, cfg ReportConfig, accounts []reportAccount) reportData {
	d := reportData{Automation: rsAutomationRef{job.Automation.ID, job.Automation.Name}, Totals: map[string]any{}, Rows: []reportDataRow{}}
	per := make([]reportDataAccount, len(accounts))
	for i, a := range accounts {
		totals, prev := a.totalsJSON(cfg)
		per[i] = reportDataAccount{ConnectionID: a.conn.ID, AccountName: a.name, Period: a.period, Currency: a.currency,
			Totals: totals, Previous: prev, Rows: a.dataRows(cfg)}
	}
	if len(per) > 0 {
		d.Period, d.Currency, d.Totals, d.Previous, d.Rows = per[0].Period, per[0].Currency, per[0].Totals, per[0].Previous, per[0].Rows
	}
	if len(per) > 1 {
		d.Accounts = per
	}
	return d
}

// dataRows are the breakdown entities (creators: their top videos).
func (a reportAccount) dataRows(cfg ReportConfig) []reportDataRow {
	rows := []reportDataRow{}
	if a.isCreator() {
		for _, v := range a.creator.top {
			rows = append(rows, reportDataRow{EntityID: v.ID, EntityName: v.Title, Totals: map[string]any{
				MetricViews: float64(v.Views), MetricLikes: float64(v.Likes), MetricComments: float64(v.Comments), MetricShares: float64(v.Shares)}})
		}
		return rows
	}
	metrics := a.metrics(cfg)
	for _, e := range a.breakdown {
		t := map[string]any{}
		for _, m := range metrics {
			t[m] = rsNumber(e.Metric(m), e.Defined(m))
		}
		rows = append(rows, reportDataRow{EntityID: e.EntityID, EntityName: e.EntityName, Totals: t})
	}
	return rows
}

// reportChart draws the first ad account's daily spend and results.
func reportChart(job Job, accounts []reportAccount) (notify.Attachment, bool) {
	for _, a := range accounts {
		if a.isCreator() {
			continue
		}
		days := reports.ByDayFilled(a.rows, a.period)
		points := make([]charts.Point, len(days))
		for i, d := range days {
			points[i] = charts.Point{Date: d.Date, Spend: d.Spend.InexactFloat64(), Results: d.Conversions.InexactFloat64()}
		}
		png, err := charts.PNG(points, charts.Options{Title: a.name + " · " + ReportPeriodLabel(a.period), Currency: a.currency})
		if err != nil {
			if !errors.Is(err, charts.ErrNoData) {
				job.Log.Warn(job.Now, "the chart could not be drawn: "+err.Error())
			}
			return notify.Attachment{}, false
		}
		job.Log.Info(job.Now, fmt.Sprintf("chart drawn for %s (%d days)", a.name, len(points)))
		return notify.Attachment{Name: "chart.png", ContentType: "image/png", Data: png}, true
	}
	return notify.Attachment{}, false
}
