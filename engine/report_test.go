package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"image/png"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"adpilot/engine"
	"adpilot/platforms"
	"adpilot/reports"
)

const shopRef = "demo_act_1001"

// rsInsights asks the demo platform itself, independently of the runner.
func (e *rsEnv) rsInsights(ref string, level platforms.Level, since, until time.Time) []platforms.InsightRow {
	e.t.Helper()
	rows, err := e.reg.Demo.Insights(context.Background(), platforms.Credentials{AccessToken: platforms.DemoToken(ref), AccountRef: ref,
		Kind: platforms.KindAdAccount}, platforms.InsightsQuery{Level: level, Since: since, Until: until})
	if err != nil {
		e.t.Fatal(err)
	}
	return rows
}

// checkTelegramHTML parses s as Telegram HTML: well formed, only b and i
// tags, every name escaped. It returns the text content.
func checkTelegramHTML(t *testing.T, s string) string {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader("<root>" + s + "</root>"))
	dec.Strict = true
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("telegram HTML does not parse: %v\n%s", err, s)
		}
		switch v := tok.(type) {
		case xml.StartElement:
			if n := v.Name.Local; n != "root" && n != "b" && n != "i" {
				t.Fatalf("unexpected tag <%s> in telegram HTML:\n%s", n, s)
			}
		case xml.CharData:
			text.Write(v)
		}
	}
	return text.String()
}

func TestReportYesterdayAccountLevelWithCompareTopAndChart(t *testing.T) {
	e := rsSetup(t)
	cfg := `{"level":"account","period":"yesterday","metrics":["spend","impressions","clicks","conversions","cpa","roas"],
		"compare":true,"top":3,"top_by":"spend","chart":true}`
	job := e.job(engine.TypeReport, cfg, shopRef)
	job.Connections[0].AccountName = "Demo <Shop> & Co"
	out, err := engine.NewReportRunner(e.deps).Run(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	m := out.Message
	if m == nil {
		t.Fatal("no message")
	}

	// Independently: yesterday in New York is Nov 25 (10:00 there).
	day := time.Date(2024, 11, 25, 0, 0, 0, 0, time.UTC)
	cur := reports.Sum(e.rsInsights(shopRef, platforms.LevelAccount, day, day))
	prev := reports.Sum(e.rsInsights(shopRef, platforms.LevelAccount, day.AddDate(0, 0, -1), day.AddDate(0, 0, -1)))
	if cur.Spend.IsZero() || prev.Spend.IsZero() {
		t.Fatal("demo data has no spend; the test needs some")
	}

	if want := "Daily <spend> & co: Yesterday (Nov 25)"; m.Title != want {
		t.Errorf("title = %q, want %q", m.Title, want)
	}

	// Webhook data: exactly the keys.
	data := rsJSON(t, m.Data)
	if got, want := rsKeys(data), []string{"automation", "currency", "period", "previous", "rows", "totals"}; !slices.Equal(got, want) {
		t.Fatalf("data keys = %v, want %v", got, want)
	}
	if a := data["automation"].(map[string]any); a["id"] != job.Automation.ID || a["name"] != job.Automation.Name {
		t.Errorf("automation = %v", a)
	}
	if p := data["period"].(map[string]any); p["name"] != "yesterday" || p["since"] != "2024-11-25" || p["until"] != "2024-11-25" {
		t.Errorf("period = %v", p)
	}
	if data["currency"] != "USD" {
		t.Errorf("currency = %v", data["currency"])
	}
	totals, previous := data["totals"].(map[string]any), data["previous"].(map[string]any)
	for _, metric := range []string{"spend", "impressions", "clicks", "conversions", "cpa", "roas"} {
		if got, want := totals[metric], cur.Metric(metric).Round(4).InexactFloat64(); got != want {
			t.Errorf("totals.%s = %v, want %v", metric, got, want)
		}
		if got, want := previous[metric], prev.Metric(metric).Round(4).InexactFloat64(); got != want {
			t.Errorf("previous.%s = %v, want %v", metric, got, want)
		}
	}
	if len(totals) != 6 {
		t.Errorf("totals = %v, want the 6 chosen metrics", totals)
	}
	campaigns := reports.ByEntity(e.rsInsights(shopRef, platforms.LevelCampaign, day, day))
	rows := data["rows"].([]any)
	if len(rows) != len(campaigns) {
		t.Fatalf("rows = %d, want one per campaign (%d)", len(rows), len(campaigns))
	}
	for i, r := range rows {
		row := r.(map[string]any)
		if got := rsKeys(row); !slices.Equal(got, []string{"entity_id", "entity_name", "totals"}) {
			t.Fatalf("row keys = %v", got)
		}
		if row["entity_id"] != campaigns[i].EntityID {
			t.Errorf("row %d = %v, want %s", i, row["entity_id"], campaigns[i].EntityID)
		}
	}

	// Telegram: parses, names escaped, the change shown, the top 3 campaigns.
	text := checkTelegramHTML(t, m.TelegramHTML)
	if !strings.Contains(text, "Demo <Shop> & Co") || !strings.Contains(m.TelegramHTML, "Demo &lt;Shop&gt; &amp; Co") {
		t.Errorf("account name missing or unescaped:\n%s", m.TelegramHTML)
	}
	pct, ok := reports.Change(cur.Spend, prev.Spend)
	if !ok {
		t.Fatal("no change")
	}
	sign := ""
	if pct.Sign() >= 0 {
		sign = "+"
	}
	wantSpend := "Spend: "
	if !strings.Contains(text, wantSpend) || !strings.Contains(text, " USD ("+sign+pct.StringFixed(1)+"%)") {
		t.Errorf("telegram text lacks the spend change %s%s%%:\n%s", sign, pct.StringFixed(1), text)
	}
	top := reports.Top(campaigns, "spend", 3)
	if !strings.Contains(text, "Top 3 campaigns by spend") {
		t.Errorf("no top heading:\n%s", text)
	}
	last := -1
	for _, c := range top {
		i := strings.Index(text, c.EntityName)
		if i < 0 || i < last {
			t.Errorf("top campaign %q missing or out of order:\n%s", c.EntityName, text)
		}
		last = i
	}
	if !strings.Contains(m.Text, "Demo <Shop> & Co") || !strings.Contains(m.Text, "Top 3 campaigns by spend") {
		t.Errorf("plain text:\n%s", m.Text)
	}
	if !strings.Contains(m.HTML, "Demo &lt;Shop&gt; &amp; Co") || strings.Contains(m.HTML, "<Shop>") || !strings.Contains(m.HTML, "<table") {
		t.Errorf("email HTML:\n%s", m.HTML)
	}

	// Chart.
	if len(m.Images) != 1 || m.Images[0].Name != "chart.png" || m.Images[0].ContentType != "image/png" {
		t.Fatalf("images = %+v", m.Images)
	}
	if _, err := png.Decode(bytes.NewReader(m.Images[0].Data)); err != nil {
		t.Fatalf("chart does not decode: %v", err)
	}

	// Result (run history).
	res := rsJSON(t, out.Result)
	if got := rsKeys(res); !slices.Equal(got, []string{"accounts", "period"}) {
		t.Fatalf("result keys = %v", got)
	}
	acc := res["accounts"].([]any)[0].(map[string]any)
	if got := rsKeys(acc); !slices.Equal(got, []string{"account_name", "connection_id", "currency", "previous", "totals"}) {
		t.Fatalf("result account keys = %v", got)
	}
	if acc["connection_id"] != job.Connections[0].ID || acc["totals"].(map[string]any)["spend"] != cur.Spend.InexactFloat64() {
		t.Errorf("result account = %v", acc)
	}
	if len(job.Log.Entries()) == 0 {
		t.Error("no step log")
	}
}

func TestReportYesterdayFollowsTheAccountZone(t *testing.T) {
	e := rsSetup(t)
	cfg := `{"level":"campaign","period":"yesterday","metrics":["spend"]}`
	periodFor := func(zone string) (string, string) {
		job := e.job(engine.TypeReport, cfg, shopRef)
		meta := job.Connections[0].MetaMap()
		meta["timezone_name"] = zone
		raw, _ := json.Marshal(meta)
		job.Connections[0].Meta = raw
		out, err := engine.NewReportRunner(e.deps).Run(context.Background(), job)
		if err != nil {
			t.Fatal(err)
		}
		p := rsJSON(t, out.Result)["period"].(map[string]any)
		return p["since"].(string), out.Message.Title
	}
	// 15:00 UTC: 07:00 on Nov 26 in Los Angeles (UTC−8), 01:00 on Nov 27 in
	// Brisbane (UTC+10).
	la, laTitle := periodFor("America/Los_Angeles")
	bne, bneTitle := periodFor("Australia/Brisbane")
	if la != "2024-11-25" || !strings.HasSuffix(laTitle, "Yesterday (Nov 25)") {
		t.Errorf("UTC−8 yesterday = %s (%q), want 2024-11-25", la, laTitle)
	}
	if bne != "2024-11-26" || !strings.HasSuffix(bneTitle, "Yesterday (Nov 26)") {
		t.Errorf("UTC+10 yesterday = %s (%q), want 2024-11-26", bne, bneTitle)
	}
}

func TestReportSeveralAccounts(t *testing.T) {
	e := rsSetup(t)
	cfg := `{"level":"campaign","period":"last_7d","metrics":["spend","ctr"],"compare":true,"top":2,"top_by":"ctr"}`
	job := e.job(engine.TypeReport, cfg, shopRef, "demo_act_1002", "demo_act_1003")
	out, err := engine.NewReportRunner(e.deps).Run(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	if want := "Daily <spend> & co: Last 7 days (Nov 19–25)"; out.Message.Title != want {
		t.Errorf("title = %q, want %q", out.Message.Title, want)
	}
	data := rsJSON(t, out.Message.Data)
	accounts := data["accounts"].([]any)
	if len(accounts) != 3 {
		t.Fatalf("accounts = %d", len(accounts))
	}
	first := accounts[0].(map[string]any)
	if first["connection_id"] != job.Connections[0].ID || data["currency"] != "USD" ||
		first["totals"].(map[string]any)["spend"] != data["totals"].(map[string]any)["spend"] {
		t.Errorf("top level does not mirror the first account: %v", data)
	}
	if accounts[1].(map[string]any)["currency"] != "EUR" || accounts[2].(map[string]any)["currency"] != "GBP" {
		t.Errorf("currencies: %v", accounts)
	}
	text := checkTelegramHTML(t, out.Message.TelegramHTML)
	for _, name := range []string{"Demo Shop (USD)", "Demo Leads EU", "Demo App Installs", "Top 2 campaigns by ctr"} {
		if !strings.Contains(text, name) {
			t.Errorf("telegram lacks %q:\n%s", name, text)
		}
	}
	if len(out.Message.Images) != 0 {
		t.Error("a chart without chart:true")
	}
}

func TestReportInvalidConnectionFailsAtOnce(t *testing.T) {
	e := rsSetup(t)
	ctx := context.Background()
	if _, err := e.store.InvalidateConnection(ctx, e.tenantID, e.conns[shopRef].ID, "revoked", nil); err != nil {
		t.Fatal(err)
	}
	job := e.job(engine.TypeReport, `{"level":"account","period":"yesterday","metrics":["spend"]}`, "demo_act_1002", shopRef)
	_, err := engine.NewReportRunner(e.deps).Run(ctx, job)
	if err == nil || err.Error() != "Demo Shop (USD) needs to be reconnected" {
		t.Fatalf("err = %v", err)
	}
}

func TestReportDeadTokenInvalidatesTheConnection(t *testing.T) {
	e := rsSetup(t)
	ctx := context.Background()
	job := e.job(engine.TypeReport, `{"level":"account","period":"yesterday","metrics":["spend"]}`, shopRef)
	job.Credentials[0].AccessToken = "demo-token-wrong"
	_, err := engine.NewReportRunner(e.deps).Run(ctx, job)
	if err == nil || !strings.HasPrefix(err.Error(), "Demo Shop (USD): token invalid: ") {
		t.Fatalf("err = %v", err)
	}
	c, err := e.store.GetConnection(ctx, e.tenantID, e.conns[shopRef].ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.IsValid {
		t.Error("the connection is still valid after the platform refused its token")
	}
}

func TestReportConfigValidate(t *testing.T) {
	ok := engine.ReportConfig{Level: "ad", Period: "last_30d", Metrics: []string{"spend", "cpa"}, Top: 5, TopBy: "cpa"}
	if errs := ok.Validate(); errs != nil {
		t.Fatalf("valid config: %v", errs)
	}
	cases := map[string]engine.ReportConfig{
		"level":   {Level: "country", Period: "yesterday", Metrics: []string{"spend"}},
		"period":  {Level: "ad", Period: "last_90d", Metrics: []string{"spend"}},
		"metrics": {Level: "ad", Period: "yesterday", Metrics: []string{"spend", "bogus"}},
		"top":     {Level: "ad", Period: "yesterday", Metrics: []string{"spend"}, Top: 51, TopBy: "spend"},
		"top_by":  {Level: "ad", Period: "yesterday", Metrics: []string{"spend"}, Top: 3},
	}
	for field, c := range cases {
		if errs := c.Validate(); errs[field] == "" {
			t.Errorf("%s: errors = %v, want one on %s", field, errs, field)
		}
	}
	if errs := (engine.ReportConfig{Level: "ad", Period: "yesterday"}).Validate(); errs["metrics"] == "" {
		t.Error("no metrics accepted")
	}
	eleven := engine.ReportConfig{Level: "ad", Period: "yesterday", Metrics: append(slices.Clone(reports.Metrics), "followers")}
	if errs := eleven.Validate(); errs["metrics"] == "" {
		t.Error("11 metrics accepted")
	}
	var c engine.ReportConfig
	if err := json.Unmarshal([]byte(`{"level":"ad","period":"yesterday","metrics":["spend"],"compare":true,"top":3,"top_by":"spend","chart":true}`), &c); err != nil {
		t.Fatal(err)
	}
	if !c.Compare || !c.Chart || c.Top != 3 || c.TopBy != "spend" {
		t.Errorf("json tags: %+v", c)
	}
}
