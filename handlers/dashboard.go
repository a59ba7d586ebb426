package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/shopspring/decimal"

	"adpilot/charts"
	"adpilot/models"
	"adpilot/platforms"
	"adpilot/reports"
	"adpilot/views"
)

// chartPeriods are the dashboard chart's period switch, in days.
var chartPeriods = []int{7, 30, 90}

const defaultChartDays = 30

// dashboard is a signed-in member's home: connection health, automations,
// latest runs, firing alerts and the spend chart.
func (h *Handler) dashboard(c echo.Context) error {
	ctx, p := c.Request().Context(), principal(c)
	now := time.Now()
	loc := tenantLocation(p.Tenant)
	d := views.Dashboard{TenantName: p.Tenant.Name, UserName: p.User.DisplayName(), Role: p.User.Role, CSRFToken: csrfToken(c),
		CanAct: p.Can(models.RoleUser)}
	conns, err := h.store.ListConnections(ctx, p.Tenant.ID)
	if err != nil {
		return err
	}
	for _, conn := range conns {
		switch st := conn.Status(now); st {
		case models.ConnectionValid:
			d.Valid++
		case models.ConnectionExpiring:
			d.Expiring++
			d.Problems = append(d.Problems, views.ConnectionProblem{ID: conn.ID, Name: nameOr(conn.AccountName, conn.AccountRef),
				Platform: platforms.Label(conn.Platform), Status: "expires soon"})
		default:
			d.Invalid++
			d.Problems = append(d.Problems, views.ConnectionProblem{ID: conn.ID, Name: nameOr(conn.AccountName, conn.AccountRef),
				Platform: platforms.Label(conn.Platform), Status: st, Reason: conn.InvalidReason})
		}
	}
	autos, err := h.store.ListAutomations(ctx, p.Tenant.ID)
	if err != nil {
		return err
	}
	for _, a := range autos {
		if a.Status != models.AutomationActive && a.Status != models.AutomationError {
			continue
		}
		row := views.DashAutomation{ID: a.ID, Name: a.Name, TypeLabel: automationTypeLabel(a.Type), Status: a.Status, NextRun: "on events"}
		if a.Status == models.AutomationError {
			d.Failing++
			row.NextRun = "stopped"
		} else if a.NextRun != nil {
			row.NextRun = listTime(a.NextRun, loc)
		}
		d.Automations = append(d.Automations, row)
	}
	if d.Runs, err = h.runList(c, "", 1, 10); err != nil {
		return err
	}
	d.Runs.Prev, d.Runs.Next, d.Runs.RefreshURL = "", "", "/"
	d.Runs.EmptyNotice = "No runs yet."
	if d.Alerts, err = h.firingAlerts(ctx, p.Tenant.ID, now, loc); err != nil {
		return err
	}
	if d.Chart, err = h.dashChart(c, conns, now, loc); err != nil {
		return err
	}
	return h.renderPage(c, http.StatusOK, p.Tenant.Name, views.DashboardPage(d))
}

func (h *Handler) firingAlerts(ctx context.Context, tenantID string, now time.Time, loc *time.Location) ([]views.DashAlert, error) {
	list, err := h.store.FiringAlerts(ctx, tenantID, 20)
	if err != nil {
		return nil, err
	}
	out := make([]views.DashAlert, 0, len(list))
	for _, f := range list {
		var st reports.State
		_ = json.Unmarshal(f.State, &st)
		entity := f.EntityKey
		if parts := strings.SplitN(f.EntityKey, ":", 3); len(parts) == 3 {
			entity = levelLabel(parts[1]) + " " + parts[2]
			if f.AccountName != "" {
				entity += " of " + f.AccountName
			}
		}
		since := f.ChangedAt
		if st.LastFiredAt != nil {
			since = *st.LastFiredAt
		}
		out = append(out, views.DashAlert{AutomationID: f.AutomationID, AutomationName: f.AutomationName, Key: f.EntityKey,
			Entity: entity, Since: since.In(loc).Format("2 Jan 15:04"), Snoozed: st.Snoozed(now), Acknowledged: st.AcknowledgedAt != nil})
	}
	return out, nil
}

// dashChart is the chart of daily spend and results from the account-level
// snapshots, for one connection or all, over the chosen period.
func (h *Handler) dashChart(c echo.Context, conns []models.Connection, now time.Time, loc *time.Location) (views.DashChart, error) {
	q := c.QueryParams()
	ch := views.DashChart{Periods: chartPeriods, Days: defaultChartDays}
	if n, err := strconv.Atoi(q.Get("days")); err == nil && slices.Contains(chartPeriods, n) {
		ch.Days = n
	}
	for _, conn := range conns {
		if conn.Kind == platforms.KindAdAccount || conn.Kind == platforms.KindAdvertiser {
			ch.Connections = append(ch.Connections, views.Option{Value: conn.ID, Label: nameOr(conn.AccountName, conn.AccountRef)})
			if conn.ID == q.Get("connection") {
				ch.Connection = conn.ID
			}
		}
	}
	if len(ch.Connections) == 0 {
		ch.Empty = "No ad account yet: connect one on the connections page (or the demo platform) and its last 30 days appear here within a minute."
		return ch, nil
	}
	y, m, d := now.In(loc).Date()
	until := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	since := until.AddDate(0, 0, 1-ch.Days)
	totals, err := h.store.DailyTotals(c.Request().Context(), principal(c).Tenant.ID, ch.Connection, since, until)
	if err != nil {
		return ch, err
	}
	currencies := map[string]bool{}
	first := ""
	for _, t := range totals {
		if t.Currency != "" {
			currencies[t.Currency] = true
			if first == "" {
				first = t.Currency
			}
		}
	}
	if len(currencies) > 1 {
		// Sums across currencies mean nothing: draw the accounts in one
		// currency and say so.
		ch.Note = "Showing the accounts in " + first + " only: the others spend in other currencies; choose one above to see it."
		currencies = map[string]bool{first: true}
	}
	byDay := map[time.Time]charts.Point{}
	var spend, results decimal.Decimal
	for _, t := range totals {
		if t.Currency != "" && !currencies[t.Currency] {
			continue
		}
		day := t.Day.UTC()
		pt := byDay[day]
		pt.Date = day
		pt.Spend += t.Spend.InexactFloat64()
		pt.Results += t.Conversions.InexactFloat64()
		byDay[day] = pt
		spend, results = spend.Add(t.Spend), results.Add(t.Conversions)
	}
	if len(totals) == 0 || (spend.IsZero() && results.IsZero()) {
		ch.Empty = "No spend in this period yet. Data arrives within a minute of connecting an account, is refreshed hourly, and data syncs add to it."
		return ch, nil
	}
	for cur := range currencies {
		ch.Currency = cur
	}
	// Every day of the period is drawn, days without data as zero.
	points := make([]charts.Point, 0, ch.Days)
	for day := since; !day.After(until); day = day.AddDate(0, 0, 1) {
		pt := byDay[day]
		pt.Date = day
		points = append(points, pt)
	}
	plot, err := charts.Layout(points, charts.Options{Currency: ch.Currency, Width: 900, Height: 320})
	if err != nil {
		return ch, err
	}
	ch.Plot = &plot
	ch.Since, ch.Until = since.Format("2 Jan"), until.Format("2 Jan 2006")
	ch.TotalSpend = strings.TrimSpace(spend.StringFixed(2) + " " + ch.Currency)
	ch.TotalResult = results.Round(2).String()
	return ch, nil
}
