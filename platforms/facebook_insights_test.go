package platforms_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"adpilot/platforms"
	"adpilot/testutil"
)

func resign(secret, payload string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)) + "." + payload
}

var (
	fbSince = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	fbUntil = time.Date(2025, 3, 7, 0, 0, 0, 0, time.UTC)
)

func cents(n int64) decimal.Decimal { return decimal.New(n, -2) }

// checkRows compares parsed rows with the fake's numbers; conv says how
// conversions and revenue follow from them.
func checkRows(t *testing.T, got []platforms.InsightRow, want []testutil.FakeInsight, conv func(testutil.FakeInsight) (int64, int64)) {
	t.Helper()
	if len(got) != len(want) || len(want) == 0 {
		t.Fatalf("got %d rows, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		c, rev := conv(w)
		exp := platforms.InsightRow{Level: platforms.Level(w.Level), EntityID: w.EntityID, EntityName: w.EntityName,
			Date: mustDate(w.Date), Currency: w.Currency, Spend: cents(w.SpendCents), Impressions: w.Impressions,
			Clicks: w.Clicks, Conversions: decimal.NewFromInt(c), Revenue: cents(rev)}
		exp.Derive()
		if g.Level != exp.Level || g.EntityID != exp.EntityID || g.EntityName != exp.EntityName || !g.Date.Equal(exp.Date) ||
			g.Date.Location() != time.UTC || g.Currency != exp.Currency || g.Impressions != exp.Impressions || g.Clicks != exp.Clicks {
			t.Fatalf("row %d = %+v, want %+v", i, g, exp)
		}
		for _, p := range [][3]any{{"spend", g.Spend, exp.Spend}, {"conversions", g.Conversions, exp.Conversions},
			{"revenue", g.Revenue, exp.Revenue}, {"ctr", g.CTR, exp.CTR}, {"cpc", g.CPC, exp.CPC}, {"cpm", g.CPM, exp.CPM},
			{"cpa", g.CostPerConversion, exp.CostPerConversion}, {"roas", g.ROAS, exp.ROAS}} {
			if !p[1].(decimal.Decimal).Equal(p[2].(decimal.Decimal)) {
				t.Fatalf("row %d %s = %s, want %s", i, p[0], p[1], p[2])
			}
		}
	}
}

func mustDate(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }

// defaultConv: DefaultConversionActions count purchase and lead, not omni_purchase.
func defaultConv(w testutil.FakeInsight) (int64, int64) {
	return w.Purchases + w.Leads, w.PurchaseValueCents
}

func TestFacebookInsightsLevels(t *testing.T) {
	h := newFB(t)
	cred := h.userCred()
	for _, level := range []platforms.Level{platforms.LevelAccount, platforms.LevelCampaign, platforms.LevelAdSet, platforms.LevelAd} {
		t.Run(string(level), func(t *testing.T) {
			before := h.fake.Calls("/act_111/insights")
			rows, err := h.c.Insights(h.ctx, cred, platforms.InsightsQuery{Level: level, Since: fbSince, Until: fbUntil})
			if err != nil {
				t.Fatal(err)
			}
			want := h.fake.Insights("act_111", string(level), "2025-03-01", "2025-03-07")
			checkRows(t, rows, want, defaultConv)
			if pages := h.fake.Calls("/act_111/insights") - before; pages != (len(want)+24)/25 {
				t.Errorf("%d insights requests for %d rows, want one per page of 25", pages, len(want))
			}
		})
	}
	reqs := h.fake.Requests()
	var first testutil.FakeRequest
	for _, r := range reqs {
		if r.Path == "/act_111/insights" && r.Form.Get("level") == "ad" && r.Form.Get("after") == "" {
			first = r
		}
	}
	f := first.Form
	if first.Version != "v24.0" || f.Get("time_range") != `{"since":"2025-03-01","until":"2025-03-07"}` ||
		f.Get("time_increment") != "1" || f.Get("limit") != "500" ||
		f.Get("fields") != "spend,impressions,clicks,actions,action_values,account_currency,ad_id,ad_name" {
		t.Errorf("ad-level request = %+v", first)
	}
}

func TestFacebookInsightsConversionChoice(t *testing.T) {
	h := newFB(t)
	cred := h.userCred()
	want := h.fake.Insights("act_222", "campaign", "2025-03-01", "2025-03-07")
	cred.AccountRef = "act_222"
	q := platforms.InsightsQuery{Level: platforms.LevelCampaign, Since: fbSince, Until: fbUntil, ConversionActions: []string{"omni_purchase"}}
	rows, err := h.c.Insights(h.ctx, cred, q)
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, rows, want, func(w testutil.FakeInsight) (int64, int64) { return w.Purchases, w.PurchaseValueCents })
	q.ConversionActions = []string{"lead"}
	rows, _ = h.c.Insights(h.ctx, cred, q)
	checkRows(t, rows, want, func(w testutil.FakeInsight) (int64, int64) { return w.Leads, 0 })
	if rows[0].Currency != "EUR" {
		t.Errorf("currency = %s", rows[0].Currency)
	}
}

func TestFacebookInsightsParsing(t *testing.T) {
	h := newFB(t)
	cred := h.userCred()
	h.fake.SetInsightRows("act_111", []map[string]any{{
		"campaign_id": "42", "campaign_name": "Spring", "date_start": "2025-03-14", "date_stop": "2025-03-14",
		"account_currency": "USD", "spend": "5339.5", "impressions": "361324", "clicks": "1234",
		"actions":       []map[string]string{{"action_type": "purchase", "value": "3"}, {"action_type": "link_click", "value": "1200"}, {"action_type": "lead", "value": "2"}},
		"action_values": []map[string]string{{"action_type": "purchase", "value": "120.25"}},
	}})
	q := platforms.InsightsQuery{Level: platforms.LevelCampaign, Since: fbSince, Until: fbUntil}
	rows, err := h.c.Insights(h.ctx, cred, q)
	if err != nil || len(rows) != 1 {
		t.Fatalf("rows = %+v, %v", rows, err)
	}
	r := rows[0]
	for _, c := range [][2]string{{r.Spend.String(), "5339.5"}, {r.Conversions.String(), "5"}, {r.Revenue.String(), "120.25"},
		{r.CTR.String(), "0.3415"}, {r.CPC.String(), "4.327"}, {r.CPM.String(), "14.7776"}, {r.CostPerConversion.String(), "1067.9"},
		{r.ROAS.String(), "0.0225"}, {r.EntityID + " " + r.EntityName, "42 Spring"}, {r.Date.String(), "2025-03-14 00:00:00 +0000 UTC"}} {
		if c[0] != c[1] {
			t.Errorf("got %s, want %s", c[0], c[1])
		}
	}
	for field, row := range map[string]map[string]any{
		"spend":       {"date_start": "2025-03-14", "spend": "12,5"},
		"impressions": {"date_start": "2025-03-14", "impressions": "1e3x"},
		"actions":     {"date_start": "2025-03-14", "actions": []map[string]string{{"action_type": "lead", "value": "two"}}},
		"date_start":  {"date_start": "14/03/2025"},
	} {
		h.fake.SetInsightRows("act_111", []map[string]any{row})
		_, err := h.c.Insights(h.ctx, cred, q)
		if pe := h.wantKind(t, err, platforms.KindInvalidRequest); !strings.Contains(pe.Message, field) {
			t.Errorf("%s: message %q does not name the field", field, pe.Message)
		}
	}
	page := platforms.Credentials{AccessToken: h.fake.Pages()[0].Token, AccountRef: h.fake.Pages()[0].ID, Kind: platforms.KindPage}
	_, err = h.c.Insights(h.ctx, page, q)
	h.wantKind(t, err, platforms.KindUnsupported)
	_, err = h.c.Insights(h.ctx, cred, platforms.InsightsQuery{Level: "week", Since: fbSince, Until: fbUntil})
	h.wantKind(t, err, platforms.KindInvalidRequest)
}

func TestFacebookInsightsAsync(t *testing.T) {
	h := newFB(t)
	cred := h.userCred()
	h.fake.ForceAsync(true)
	q := platforms.InsightsQuery{Level: platforms.LevelAdSet, Since: fbSince, Until: fbUntil}
	rows, err := h.c.Insights(h.ctx, cred, q)
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, rows, h.fake.Insights("act_111", "adset", "2025-03-01", "2025-03-07"), defaultConv)
	var posts, polls int
	for _, r := range h.fake.Requests() {
		switch {
		case r.Method == "POST" && r.Path == "/act_111/insights":
			posts++
			if r.Form.Get("level") != "adset" || r.Form.Get("time_increment") != "1" {
				t.Errorf("report run params = %v", r.Form)
			}
		case r.Method == "GET" && strings.Count(r.Path, "/") == 1 && r.Path != "/debug_token":
			polls++
		}
	}
	if posts != 1 || polls != 2 {
		t.Errorf("posts=%d polls=%d, want 1 and 2 (Running, then Completed)", posts, polls)
	}

	h.fake.SetAsyncOutcome("Job Failed")
	_, err = h.c.Insights(h.ctx, cred, q)
	if pe := h.wantKind(t, err, platforms.KindTransient); !strings.Contains(pe.Message, "Job Failed") {
		t.Errorf("message = %q", pe.Message)
	}
	h.fake.SetAsyncOutcome("Job Running")
	h.c.PollTimeout = 30 * time.Millisecond
	start := time.Now()
	_, err = h.c.Insights(h.ctx, cred, q)
	if pe := h.wantKind(t, err, platforms.KindTransient); !strings.Contains(pe.Message, "did not finish") || time.Since(start) > 2*time.Second {
		t.Errorf("timeout error = %v after %v", pe, time.Since(start))
	}
	// 2/1504038 is "too large" as well.
	h.fake.ForceAsync(false)
	h.fake.SetAsyncOutcome("Job Completed")
	h.fake.FailNextCode("/act_111/insights", 500, 2, 1504038, nil)
	if _, err := h.c.Insights(h.ctx, cred, q); err != nil {
		t.Fatalf("2/1504038 should fall back to async: %v", err)
	}
}
