package handlers_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"adpilot/testutil"
)

// Issue 8's benchmark: the signed-in dashboard of a busy tenant against
// /health, on the same server in the same run.
const (
	dashAutomations = 50
	dashRuns        = 1000
	dashSnapshots   = 20000 // 3 accounts × 90 days of account rows, the rest campaign rows
	dashClients     = 8     // closed loop: enough to keep 2 cores and the pool busy
	dashRound       = 3 * time.Second
	dashOpenRate    = 200 // requests per second, open loop
	dashOpenTime    = 10 * time.Second
	dashTargetP99   = 50 * time.Millisecond
)

// BenchmarkDashboard measures GET / for a signed-in member of a tenant with
// 50 automations, 1,000 runs and 20,000 snapshots, and GET /health on the
// same server: the closed-loop throughput of both and their ratio, then
// p50/p99 of the dashboard at a constant 200 req/s (open loop, latency
// from each request's scheduled time). Target: p99 under 50 ms.
// Run alone: go test -run '^$' -bench Dashboard ./handlers/
func BenchmarkDashboard(b *testing.B) {
	for i := 0; i < b.N; i++ {
		runDashboardBenchmark(b)
	}
}

func runDashboardBenchmark(b *testing.B) {
	b.StopTimer()
	ctx := b.Context()
	app := testutil.NewApp(b, testutil.WithEnv("LOG_LEVEL", "warn"))
	cookie := seedDashboardTenant(b, app)
	client := testutil.NewLoadClient(dashClients * 2)
	get := func(path string, wantBody string) func(context.Context) error {
		return func(ctx context.Context) error {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, app.URL+path, nil)
			req.Header.Set("Cookie", cookie)
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch {
			case err != nil:
				return err
			case resp.StatusCode != http.StatusOK:
				return fmt.Errorf("GET %s: %d", path, resp.StatusCode)
			case !strings.Contains(string(body), wantBody):
				return fmt.Errorf("GET %s: the answer lacks %q", path, wantBody)
			}
			return nil
		}
	}
	dashboard, health := get("/", `data-chart="svg"`), get("/health", `"database":"ok"`)
	b.StartTimer()
	mustClean(b, "warm-up", testutil.ClosedLoop(ctx, dashClients, time.Second, dashboard))
	var dash, hl testutil.ClosedLoopResult
	for r := range 2 { // alternating, so a neighbour's load falls on both
		if r%2 == 0 {
			dash = dash.Add(mustClean(b, "dashboard", testutil.ClosedLoop(ctx, dashClients, dashRound, dashboard)))
			hl = hl.Add(mustClean(b, "health", testutil.ClosedLoop(ctx, dashClients, dashRound, health)))
		} else {
			hl = hl.Add(mustClean(b, "health", testutil.ClosedLoop(ctx, dashClients, dashRound, health)))
			dash = dash.Add(mustClean(b, "dashboard", testutil.ClosedLoop(ctx, dashClients, dashRound, dashboard)))
		}
	}
	open := testutil.OpenLoop(ctx, dashOpenRate, dashOpenTime, dashboard)
	b.StopTimer()
	if open.Failed > 0 {
		b.Fatalf("open loop: %d of %d requests failed, first: %v", open.Failed, open.Sent, open.FirstErr)
	}
	p50, p99 := open.Latencies.Percentile(50), open.Latencies.Percentile(99)
	ratio := dash.PerSecond() / hl.PerSecond()
	b.ReportMetric(dash.PerSecond(), "dashboard/s")
	b.ReportMetric(hl.PerSecond(), "health/s")
	b.ReportMetric(ratio, "ratio")
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99_ms")
	verdict := "met"
	if p99 >= dashTargetP99 {
		verdict = "MISSED"
	}
	b.Logf("dashboard (%d automations, %d runs, %d snapshots): %.0f req/s vs /health %.0f req/s (ratio %.2f, %d clients); "+
		"at %d req/s p50 %s p99 %s (target p99 < %s: %s; generator lag at most %s)",
		dashAutomations, dashRuns, dashSnapshots, dash.PerSecond(), hl.PerSecond(), ratio, dashClients,
		dashOpenRate, p50.Round(10*time.Microsecond), p99.Round(10*time.Microsecond), dashTargetP99, verdict, open.MaxLag.Round(time.Millisecond))
}

// seedDashboardTenant signs a member up, connects three accounts and fills
// the tenant with automations, runs and snapshots in bulk; it returns the
// member's session cookie.
func seedDashboardTenant(b *testing.B, app *testutil.TestApp) string {
	b.Helper()
	resp := app.Do(http.MethodPost, "/auth/register", strings.NewReader(
		`{"email":"dash@example.com","password":"`+strongPassword+`","tenant_name":"Dash Co"}`), "Content-Type", "application/json")
	if resp.StatusCode != http.StatusCreated {
		b.Fatalf("register: %d %s", resp.StatusCode, resp.Body)
	}
	ctx := context.Background()
	exec := func(q string, args ...any) {
		if err := testutil.QueryRow(b, app, ctx, q+` RETURNING 1`, args...).Scan(new(int)); err != nil && !strings.Contains(err.Error(), "no rows") {
			b.Fatalf("seeding: %v", err)
		}
	}
	var tenant string
	if err := testutil.QueryRow(b, app, ctx, `SELECT tenant_id FROM app_user WHERE email = 'dash@example.com'`).Scan(&tenant); err != nil {
		b.Fatal(err)
	}
	exec(`INSERT INTO ad_token (tenant_id, platform, kind, account_ref, account_name, access_token_enc, is_valid)
		SELECT $1, 'demo', 'ad_account', 'demo_act_' || g, 'Account ' || g, '\x00', true FROM generate_series(1, 3) g`, tenant)
	exec(`INSERT INTO automation (tenant_id, name, type, status, schedule_config, automation_config, next_run)
		SELECT $1, 'Automation ' || g, CASE g % 3 WHEN 0 THEN 'scheduled_report' WHEN 1 THEN 'alert' ELSE 'data_sync' END,
			CASE WHEN g % 10 = 0 THEN 'error' ELSE 'active' END, '{"kind":"daily","time":"09:00"}', '{}',
			now() + g * interval '1 hour'
		FROM generate_series(1, $2) g`, tenant, dashAutomations)
	exec(`INSERT INTO automation_run (tenant_id, automation_id, status, trigger, started_at, completed_at, result)
		SELECT a.tenant_id, a.id, CASE WHEN g % 20 = 0 THEN 'failed' ELSE 'completed' END, 'schedule',
			now() - g * interval '10 minutes', now() - g * interval '10 minutes' + interval '2 seconds', '{}'
		FROM generate_series(1, $2) g
		JOIN LATERAL (SELECT * FROM automation WHERE tenant_id = $1 ORDER BY name OFFSET g % $3 LIMIT 1) a ON true`,
		tenant, dashRuns, dashAutomations)
	// 3 accounts × 90 days at account level (the chart), the rest campaign rows.
	exec(`INSERT INTO metric_snapshot (tenant_id, connection_id, level, entity_id, day, currency, spend, impressions, clicks, conversions)
		SELECT c.tenant_id, c.id, 'account', c.account_ref, current_date - d, 'USD', 100 + d, 10000, 300, 5 + d % 7
		FROM ad_token c, generate_series(0, 89) d WHERE c.tenant_id = $1`, tenant)
	exec(`INSERT INTO metric_snapshot (tenant_id, connection_id, level, entity_id, day, currency, spend, impressions, clicks, conversions)
		SELECT c.tenant_id, c.id, 'campaign', 'c' || e, current_date - d, 'USD', 10 + e, 1000, 30, 1
		FROM ad_token c, generate_series(1, 73) e, generate_series(0, 90) d WHERE c.tenant_id = $1
		LIMIT $2`, tenant, dashSnapshots-3*90)
	exec(`INSERT INTO alert_state (tenant_id, automation_id, entity_key, state)
		SELECT a.tenant_id, a.id, c.id || ':campaign:c1', '{"firing":true}'
		FROM automation a JOIN ad_token c ON c.tenant_id = a.tenant_id WHERE a.tenant_id = $1 AND a.type = 'alert' LIMIT 5`, tenant)
	var n int
	if err := testutil.QueryRow(b, app, ctx, `SELECT (SELECT count(*) FROM automation WHERE tenant_id = $1) +
		(SELECT count(*) FROM automation_run WHERE tenant_id = $1) + (SELECT count(*) FROM metric_snapshot WHERE tenant_id = $1)`, tenant).Scan(&n); err != nil ||
		n != dashAutomations+dashRuns+dashSnapshots {
		b.Fatalf("seeded %d rows, want %d (%v)", n, dashAutomations+dashRuns+dashSnapshots, err)
	}
	jar, _ := cookiejar.New(nil)
	app.Client.Jar = jar
	login := app.PostForm("/auth/login", url.Values{"login": {"dash@example.com"}, "password": {strongPassword}}, "Sec-Fetch-Site", "same-origin")
	u, _ := url.Parse(app.URL)
	var pairs []string
	for _, c := range jar.Cookies(u) {
		pairs = append(pairs, c.Name+"="+c.Value)
	}
	if login.StatusCode != http.StatusSeeOther || len(pairs) == 0 {
		b.Fatalf("log-in: %d, cookies %v", login.StatusCode, pairs)
	}
	return strings.Join(pairs, "; ")
}
