package handlers_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/shopspring/decimal"

	"adpilot/models"
	"adpilot/platforms"
	"adpilot/reports"
	"adpilot/testutil"
)

// ownerOf returns the fixture's owner as a models.User.
func ownerOf(t *testing.T, app *testutil.TestApp, email string) models.User {
	t.Helper()
	ctx := context.Background()
	var tenantID, userID string
	if err := testutil.QueryRow(t, app, ctx, `SELECT tenant_id, id FROM app_user WHERE email = $1`, email).Scan(&tenantID, &userID); err != nil {
		t.Fatal(err)
	}
	u, err := app.Store.GetUser(ctx, tenantID, userID)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestDashboardChartDrawsKnownSnapshots(t *testing.T) {
	app := testutil.NewApp(t)
	registerAPI(t, app, "chart@example.com", "Chart Co")
	signInBrowser(t, app, "chart@example.com")
	empty := app.Get("/").ExpectStatus(http.StatusOK)
	if !strings.Contains(empty.Text(`[data-chart=empty]`), "connect one") || empty.Doc().Find("svg.chart").Length() != 0 {
		t.Fatalf("a team without accounts: %s", empty.Text("#chart"))
	}

	ctx := context.Background()
	owner := ownerOf(t, app, "chart@example.com")
	conns, err := app.Store.ConnectAccounts(ctx, owner, "", []models.ConnectionInput{
		{Platform: "demo", Kind: platforms.KindAdAccount, AccountRef: "demo_act_1", AccountName: "One", AccessToken: "t1"},
		{Platform: "demo", Kind: platforms.KindAdAccount, AccountRef: "demo_act_2", AccountName: "Two", AccessToken: "t2"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := app.Get("/").Text(`[data-chart=empty]`); !strings.Contains(got, "No spend in this period") {
		t.Fatalf("accounts without data: %q", got)
	}
	// 30 days for account One: spend 10+i, 2 results a day; account Two
	// spends 5 a day over the last 7 days.
	y, m, d := time.Now().UTC().Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	var snaps []models.Snapshot
	for i := range 30 {
		snaps = append(snaps, models.Snapshot{ConnectionID: conns[0].ID, Level: "account", EntityID: "demo_act_1", Day: today.AddDate(0, 0, -i),
			Currency: "USD", Spend: decimal.NewFromInt(int64(10 + i)), Conversions: decimal.NewFromInt(2)})
	}
	for i := range 7 {
		snaps = append(snaps, models.Snapshot{ConnectionID: conns[1].ID, Level: "account", EntityID: "demo_act_2", Day: today.AddDate(0, 0, -i),
			Currency: "USD", Spend: decimal.NewFromInt(5)})
	}
	if _, err := app.Store.SaveSnapshots(ctx, owner.TenantID, snaps); err != nil {
		t.Fatal(err)
	}

	page := app.Get("/").ExpectStatus(http.StatusOK)
	svg := page.Doc().Find(`svg.chart[data-chart=svg]`)
	if svg.Find("rect.bar").Length() != 30 || svg.Find("circle.dot").Length() != 30 {
		t.Fatalf("30 days drawn as %d bars and %d dots", svg.Find("rect.bar").Length(), svg.Find("circle.dot").Length())
	}
	labels := func(axis string) []string {
		var out []string
		svg.Find(`g[data-axis=` + axis + `] text`).Each(func(_ int, s *goquery.Selection) { out = append(out, strings.TrimSpace(s.Text())) })
		return out
	}
	// Spend peaks at 39 (29 days ago): the axis goes 0, 8, … 40 with its title.
	if spend := labels("spend"); strings.Join(spend, ",") != "0,8,16,24,32,40,Spend (USD)" {
		t.Fatalf("spend axis %v", spend)
	}
	if results := labels("results"); strings.Join(results, ",") != "0,1,2,3,4,5,Results" {
		t.Fatalf("results axis %v", results)
	}
	x := labels("x")
	if len(x) < 2 || x[0] != today.AddDate(0, 0, -29).Format("Jan 2") || x[len(x)-1] != today.Format("Jan 2") {
		t.Fatalf("date axis %v", x)
	}
	// The last bar is today: 10 from One and 5 from Two.
	last := svg.Find("rect.bar").Last()
	if last.AttrOr("data-date", "") != today.Format("Jan 2") || !strings.Contains(last.Find("title").Text(), "15 spent") {
		t.Fatalf("today's bar: %s %q", last.AttrOr("data-date", ""), last.Find("title").Text())
	}
	if !strings.Contains(page.Text(`[data-chart=totals]`), "770.00 USD") { // sum(10..39) + 35
		t.Fatalf("totals: %q", page.Text(`[data-chart=totals]`))
	}

	// The period switch and the account filter swap the chart alone (htmx).
	week := app.Get("/?days=7&connection="+conns[1].ID, "HX-Request", "true").ExpectStatus(http.StatusOK)
	if n := week.Doc().Find("#chart rect.bar").Length(); n != 7 || !strings.Contains(week.Text(`[data-chart=totals]`), "35.00 USD") {
		t.Fatalf("7 days of Two: %d bars, %q", n, week.Text(`[data-chart=totals]`))
	}
	// Nonsense filters fall back to the defaults.
	if n := app.Get("/?days=1000&connection=x").Doc().Find("#chart rect.bar").Length(); n != 30 {
		t.Fatalf("nonsense filters: %d bars", n)
	}
	// Accounts in different currencies are not summed: the first currency
	// is drawn, and the page says the others are left out.
	if _, err := app.Store.SaveSnapshots(ctx, owner.TenantID, []models.Snapshot{{ConnectionID: conns[1].ID, Level: "account",
		EntityID: "demo_act_2", Day: today.AddDate(0, 0, -10), Currency: "EUR", Spend: decimal.NewFromInt(5)}}); err != nil {
		t.Fatal(err)
	}
	mixed := app.Get("/")
	if !strings.Contains(mixed.Text(`[data-chart=note]`), "Showing the accounts in") || strings.Contains(mixed.Text(`[data-chart=totals]`), "775") {
		t.Fatalf("mixed currencies: %q / %q", mixed.Text(`[data-chart=note]`), mixed.Text(`[data-chart=totals]`))
	}
}

func TestDashboardHealthRunsAndAlerts(t *testing.T) {
	f := browserSession(t, newAutomationFixture(t))
	ctx := context.Background()
	owner := ownerOf(t, f.app, "owner@example.com")
	// Connecting the demo accounts backfilled their last 30 days.
	deadline := time.Now().Add(20 * time.Second)
	for {
		totals, err := f.app.Store.DailyTotals(ctx, owner.TenantID, f.connID, time.Now().AddDate(0, 0, -30), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if len(totals) >= 28 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the backfill stored %d days", len(totals))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := testutilExec(t, f.app, `UPDATE ad_token SET is_valid = false, invalid_reason = 'token revoked', invalidated_at = now() WHERE id = $1`, f.otherIDs[0]); err != nil {
		t.Fatal(err)
	}
	a := f.create(t, `{"name":"Spend watch","type":"alert","destination_id":"`+f.destID+`","connections":["`+f.connID+`"],
		"schedule":{"kind":"hourly","minute":0},"config":{"level":"campaign","window":"today","conditions":[{"metric":"spend","op":">","value":1}]}}`)
	key := f.connID + ":campaign:c1"
	if err := f.app.Store.SaveAlertState(ctx, owner.TenantID, a["id"].(string), key, reports.State{Firing: true}, time.Now()); err != nil {
		t.Fatal(err)
	}

	page := f.app.Get("/").ExpectStatus(http.StatusOK)
	if page.Text(`[data-count=valid]`) != "2 valid" || page.Text(`[data-count=invalid]`) != "1 need reconnecting" ||
		!strings.Contains(page.Text("#dash-health"), "token revoked") {
		t.Fatalf("health: %s", page.Text("#dash-health"))
	}
	if page.Doc().Find(`#dash-automations tr[data-automation="`+a["id"].(string)+`"]`).Length() != 1 {
		t.Fatalf("automations: %s", page.Text("#dash-automations"))
	}
	if page.Doc().Find("svg.chart rect.bar").Length() != 30 {
		t.Fatalf("the backfilled chart: %s", page.Text("#chart"))
	}
	alert := page.Doc().Find(`#dash-alerts li[data-alert="` + key + `"]`)
	if alert.Length() != 1 || !strings.Contains(alert.Text(), "Campaign c1 of") {
		t.Fatalf("alerts: %s", page.Text("#dash-alerts"))
	}
	destPost(t, f.app, "/alerts/acknowledge", map[string][]string{"automation_id": {a["id"].(string)}, "key": {key}}).
		ExpectStatus(http.StatusSeeOther)
	destPost(t, f.app, "/alerts/snooze", map[string][]string{"automation_id": {a["id"].(string)}, "key": {key}}).
		ExpectStatus(http.StatusSeeOther)
	after := f.app.Get("/").Doc().Find(`#dash-alerts li[data-alert="` + key + `"]`)
	if !strings.Contains(after.Text(), "acknowledged") || !strings.Contains(after.Text(), "snoozed") || after.Find("button").Length() != 0 {
		t.Fatalf("after Acknowledge and Snooze: %s", after.Text())
	}
	destPost(t, f.app, "/alerts/snooze", map[string][]string{"automation_id": {a["id"].(string)}, "key": {"nope"}}).
		ExpectStatus(http.StatusNotFound)
	var audited int
	if err := testutil.QueryRow(t, f.app, ctx, `SELECT count(*) FROM audit_log WHERE action IN ('alert.acknowledge', 'alert.snooze')`).Scan(&audited); err != nil || audited != 2 {
		t.Fatalf("%d alert actions audited (%v)", audited, err)
	}

	// A run shows among the latest runs.
	_, run := jsonCall(t, f.app, http.MethodPost, "/api/v1/automations/"+a["id"].(string)+"/run", "", f.token)
	f.waitRun(t, run["run_id"].(string))
	if f.app.Get("/").Doc().Find(`#dash-runs tr[data-run="`+run["run_id"].(string)+`"]`).Length() != 1 {
		t.Fatal("the latest runs do not list the run")
	}
}
