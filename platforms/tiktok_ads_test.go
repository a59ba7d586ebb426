package platforms_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"adpilot/platforms"
	"adpilot/testutil"
)

func TestTikTokAdsConfig(t *testing.T) {
	c := platforms.NewTikTokAds(platforms.Settings{TikTokAdsSecret: "s"})
	if c.Configured() || !slices.Equal(c.MissingConfig(), []string{"TIKTOK_ADS_APP_ID"}) || c.Name() != platforms.TikTokAds {
		t.Fatalf("Configured %v, missing %v", c.Configured(), c.MissingConfig())
	}
	ctx := context.Background()
	if _, err := c.Refresh(ctx, "x"); platforms.KindOf(err) != platforms.KindUnsupported {
		t.Fatalf("Refresh: %v", err)
	}
	if _, err := c.CreatorStats(ctx, platforms.Credentials{}); platforms.KindOf(err) != platforms.KindUnsupported {
		t.Fatalf("CreatorStats: %v", err)
	}
}

func TestTikTokAdsComplete(t *testing.T) {
	f, s, _ := ttSetup(t, 3)
	c := platforms.NewTikTokAds(s)
	ctx := context.Background()
	authURL, err := c.AuthURL("st-ads")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(authURL)
	if u.Path != "/portal/auth" || u.Query().Get("app_id") != f.AdsAppID || u.Query().Get("redirect_uri") != "https://adpilot.test/oauth/tiktok-ads/callback" {
		t.Fatalf("auth URL %s", authURL)
	}
	cb := f.Consent(t, authURL)
	if cb.Get("state") != "st-ads" || cb.Get("auth_code") == "" {
		t.Fatalf("callback %v", cb)
	}
	tok, accts, err := c.Complete(ctx, cb)
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == "" || !tok.ExpiresAt.IsZero() || tok.RefreshToken != "" || !slices.Equal(tok.AccountRefs, []string{"7001", "7002"}) ||
		!slices.Equal(tok.Scopes, []string{"1", "4", "5"}) {
		t.Fatalf("token %+v", tok)
	}
	if len(accts) != 2 {
		t.Fatalf("accounts %+v", accts)
	}
	us, uk := accts[0], accts[1]
	if us.Ref != "7001" || us.Name != "Shop US" || us.Kind != platforms.KindAdvertiser || us.Currency != "USD" || us.Timezone != "America/Los_Angeles" ||
		us.Status != "active" || us.Meta["status"] != "STATUS_ENABLE" || us.Meta["advertiser_id"] != "7001" || us.Meta["currency"] != "USD" {
		t.Fatalf("US account %+v", us)
	}
	if uk.Ref != "7002" || uk.Currency != "GBP" || uk.Timezone != "Europe/London" {
		t.Fatalf("UK account %+v", uk)
	}
	for _, r := range f.Requests() {
		if strings.HasPrefix(r.Path, "/open_api/") && r.Path != "/open_api/v1.3/oauth2/access_token/" && r.Header.Get("Access-Token") != tok.AccessToken {
			t.Fatalf("%s without Access-Token", r.Path)
		}
		if r.Path == "/open_api/v1.3/advertiser/info/" && r.Query.Get("advertiser_ids") != `["7001","7002"]` {
			t.Fatalf("advertiser_ids %q", r.Query.Get("advertiser_ids"))
		}
	}

	_, _, err = c.Complete(ctx, cb) // replayed auth_code
	ttPlatformError(t, f, err, platforms.KindInvalidRequest, cb.Get("auth_code"))

	// Some callbacks name it code; a deactivated advertiser maps to words.
	f.SetAdvertisers([]testutil.FakeTikTokAdvertiser{{ID: "7003", Name: "Shop DE", Currency: "EUR", Timezone: "Etc/GMT-1", Status: "STATUS_PENDING_CONFIRM"}})
	cb = f.Consent(t, authURL)
	_, accts, err = c.Complete(ctx, url.Values{"code": {cb.Get("auth_code")}})
	if err != nil || len(accts) != 1 || accts[0].Status != "pending confirm" || accts[0].Timezone != "Etc/GMT-1" {
		t.Fatalf("code param: %+v, %v", accts, err)
	}
}

func ttReportRequests(f *testutil.FakeTikTok) []testutil.FakeTikTokRequest {
	var out []testutil.FakeTikTokRequest
	for _, r := range f.Requests() {
		if r.Path == "/open_api/v1.3/report/integrated/get/" {
			out = append(out, r)
		}
	}
	return out
}

func TestTikTokAdsInsightsPerLevel(t *testing.T) {
	levels := []struct {
		level                platforms.Level
		dataLevel, idKey, nm string
		entity, name         string
	}{
		{platforms.LevelAccount, "AUCTION_ADVERTISER", "advertiser_id", "", "7001", "Shop US"},
		{platforms.LevelCampaign, "AUCTION_CAMPAIGN", "campaign_id", "campaign_name", "c1", "Spring"},
		{platforms.LevelAdSet, "AUCTION_ADGROUP", "adgroup_id", "adgroup_name", "g1", "Group"},
		{platforms.LevelAd, "AUCTION_AD", "ad_id", "ad_name", "a1", "Ad one"},
	}
	dec := decimal.RequireFromString
	for _, lv := range levels {
		t.Run(string(lv.level), func(t *testing.T) {
			f, s, _ := ttSetup(t, 1)
			m := map[string]string{"spend": "12.50", "impressions": "1000", "clicks": "25", "conversion": "-", "total_purchase_value": "40.00"}
			if lv.nm != "" {
				m[lv.nm] = lv.name
			}
			f.SetReportRows([]testutil.FakeTikTokReportRow{{AdvertiserID: "7001", DataLevel: lv.dataLevel, Metrics: m,
				Dimensions: map[string]string{lv.idKey: lv.entity, "stat_time_day": "2025-03-14 00:00:00"}}})
			c := platforms.NewTikTokAds(s)
			rows, err := c.Insights(context.Background(), platforms.Credentials{AccessToken: f.IssueAdsToken(), AccountRef: "7001"},
				platforms.InsightsQuery{Level: lv.level, Since: time.Date(2025, 3, 10, 15, 0, 0, 0, time.UTC), Until: time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)})
			if err != nil || len(rows) != 1 {
				t.Fatalf("rows %+v, %v", rows, err)
			}
			r := rows[0]
			if r.Level != lv.level || r.EntityID != lv.entity || r.EntityName != lv.name || !r.Date.Equal(time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)) ||
				r.Currency != "USD" || !r.Spend.Equal(dec("12.5")) || r.Impressions != 1000 || r.Clicks != 25 || !r.Conversions.IsZero() ||
				!r.Revenue.Equal(dec("40")) || !r.ROAS.Equal(dec("3.2")) || !r.CTR.Equal(dec("2.5")) || !r.CPC.Equal(dec("0.5")) ||
				!r.CPM.Equal(dec("12.5")) || !r.CostPerConversion.IsZero() {
				t.Fatalf("row %+v", r)
			}
			q := ttReportRequests(f)[0].Query
			wantMetrics := `["spend","impressions","clicks","conversion","total_purchase_value"`
			if lv.nm != "" {
				wantMetrics += `,"` + lv.nm + `"`
			}
			if q.Get("data_level") != lv.dataLevel || q.Get("dimensions") != `["`+lv.idKey+`","stat_time_day"]` || q.Get("metrics") != wantMetrics+"]" ||
				q.Get("start_date") != "2025-03-10" || q.Get("end_date") != "2025-03-14" || q.Get("service_type") != "AUCTION" || q.Get("page_size") != "1000" {
				t.Fatalf("report query %v", q)
			}
		})
	}
}

func TestTikTokAdsInsightsPagingAndWindows(t *testing.T) {
	f, s, _ := ttSetup(t, 1)
	f.SetReportPageSize(3)
	c := platforms.NewTikTokAds(s)
	cred := platforms.Credentials{AccessToken: f.IssueAdsToken(), AccountRef: "7002"}
	rows, err := c.Insights(context.Background(), cred, platforms.InsightsQuery{Level: platforms.LevelCampaign,
		Since: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC)})
	if err != nil || len(rows) != 20 || len(ttReportRequests(f)) != 7 {
		t.Fatalf("%d rows, %d calls, %v", len(rows), len(ttReportRequests(f)), err)
	}
	// Generated: entity n has spend <10n + yday%7>.50; Mar 1 2025 is day 60.
	r := rows[0]
	if r.EntityID != "700211" || r.EntityName != "campaign 1" || r.Currency != "GBP" || !r.Spend.Equal(decimal.RequireFromString("14.50")) ||
		r.Impressions != 1000 || r.Clicks != 20 || !r.Conversions.Equal(decimal.NewFromInt(2)) || !r.Revenue.Equal(decimal.RequireFromString("43.50")) {
		t.Fatalf("first row %+v", r)
	}

	// 73 days: three windows of at most 30 days.
	f2, s2, _ := ttSetup(t, 1)
	c2 := platforms.NewTikTokAds(s2)
	rows, err = c2.Insights(context.Background(), platforms.Credentials{AccessToken: f2.IssueAdsToken(), AccountRef: "7001"},
		platforms.InsightsQuery{Level: platforms.LevelAccount, Since: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)})
	reqs := ttReportRequests(f2)
	if err != nil || len(rows) != 73 || len(reqs) != 3 || reqs[1].Query.Get("start_date") != "2025-01-31" || reqs[2].Query.Get("end_date") != "2025-03-14" {
		t.Fatalf("%d rows, %d calls, %v", len(rows), len(reqs), err)
	}

	_, err = c.Insights(context.Background(), cred, platforms.InsightsQuery{Level: "bogus"})
	ttPlatformError(t, f, err, platforms.KindInvalidRequest)
	f.SetReportRows([]testutil.FakeTikTokReportRow{{AdvertiserID: "7002", DataLevel: "AUCTION_AD", Metrics: map[string]string{"spend": "abc"},
		Dimensions: map[string]string{"ad_id": "1", "stat_time_day": "2025-03-01 00:00:00"}}})
	_, err = c.Insights(context.Background(), cred, platforms.InsightsQuery{Level: platforms.LevelAd, Since: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)})
	ttPlatformError(t, f, err, platforms.KindInvalidRequest)
}

func TestTikTokAdsSetStatus(t *testing.T) {
	f, s, _ := ttSetup(t, 1)
	c := platforms.NewTikTokAds(s)
	ctx := context.Background()
	cred := platforms.Credentials{AccessToken: f.IssueAdsToken(), AccountRef: "7001"}
	for _, step := range []struct {
		level  platforms.Level
		id     string
		active bool
	}{{platforms.LevelCampaign, "c1", false}, {platforms.LevelAdSet, "g1", true}, {platforms.LevelAd, "a1", false}} {
		if err := c.SetStatus(ctx, cred, step.level, step.id, step.active); err != nil {
			t.Fatalf("%s: %v", step.level, err)
		}
	}
	want := []testutil.FakeTikTokStatusChange{
		{Level: "campaign", AdvertiserID: "7001", Status: "DISABLE", IDs: []string{"c1"}},
		{Level: "adgroup", AdvertiserID: "7001", Status: "ENABLE", IDs: []string{"g1"}},
		{Level: "ad", AdvertiserID: "7001", Status: "DISABLE", IDs: []string{"a1"}},
	}
	got := f.StatusChanges()
	if len(got) != 3 {
		t.Fatalf("changes %+v", got)
	}
	for i := range want {
		if got[i].Level != want[i].Level || got[i].AdvertiserID != want[i].AdvertiserID || got[i].Status != want[i].Status || !slices.Equal(got[i].IDs, want[i].IDs) {
			t.Fatalf("change %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if err := c.SetStatus(ctx, cred, platforms.LevelAccount, "7001", false); platforms.KindOf(err) != platforms.KindUnsupported {
		t.Fatalf("account level: %v", err)
	}
	f.InvalidateAllTokens()
	err := c.SetStatus(ctx, cred, platforms.LevelCampaign, "c1", true)
	ttPlatformError(t, f, err, platforms.KindTokenInvalid, cred.AccessToken)
}

func TestTikTokAdsTokenInfoAndRevoke(t *testing.T) {
	f, s, _ := ttSetup(t, 1)
	c := platforms.NewTikTokAds(s)
	ctx := context.Background()
	cred := platforms.Credentials{AccessToken: f.IssueAdsToken(), AccountRef: "7001"}
	if ti, err := c.TokenInfo(ctx, cred); err != nil || !ti.Valid {
		t.Fatalf("valid: %+v, %v", ti, err)
	}
	f.FailNext("/oauth2/advertiser/get/", 200, `{"code":40100,"message":"Too many requests","request_id":"r1"}`)
	_, err := c.TokenInfo(ctx, cred)
	ttPlatformError(t, f, err, platforms.KindRateLimited, cred.AccessToken)
	if err := c.Revoke(ctx, cred); err != nil {
		t.Fatal(err)
	}
	if ti, err := c.TokenInfo(ctx, cred); err != nil || ti.Valid || ti.Reason == "" {
		t.Fatalf("revoked: %+v, %v", ti, err)
	}
}

func TestTikTokAdsErrorMapping(t *testing.T) {
	env := func(code string) string {
		return `{"code":` + code + `,"message":"msg ` + code + `","request_id":"req-` + code + `","data":{}}`
	}
	cases := []struct {
		name, body string
		status     int
		header     http.Header
		kind       platforms.Kind
		code       string
		retryAfter time.Duration
	}{
		{"40105", env("40105"), 200, nil, platforms.KindTokenInvalid, "40105", 0},
		{"40104", env("40104"), 200, nil, platforms.KindTokenInvalid, "40104", 0},
		{"40100", env("40100"), 200, nil, platforms.KindRateLimited, "40100", 0},
		{"40001", env("40001"), 200, nil, platforms.KindPermission, "40001", 0},
		{"50002", env("50002"), 200, nil, platforms.KindTransient, "50002", 0},
		{"unknown", env("41234"), 200, nil, platforms.KindInvalidRequest, "41234", 0},
		{"429", "slow down", 429, http.Header{"Retry-After": {"5"}}, platforms.KindRateLimited, "", 5 * time.Second},
		{"503", "", 503, nil, platforms.KindTransient, "", 0},
		{"garbage 200", "not json", 200, nil, platforms.KindInvalidRequest, "", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, s, w := ttSetup(t, 1)
			c := platforms.NewTikTokAds(s)
			tok := f.IssueAdsToken()
			f.FailNextHeader("/oauth2/advertiser/get/", tc.status, tc.body, tc.header)
			_, err := c.Accounts(context.Background(), tok)
			pe := ttPlatformError(t, f, err, tc.kind, tok)
			if pe.Code != tc.code || pe.RetryAfter != tc.retryAfter || pe.HTTPStatus != tc.status || pe.Platform != platforms.TikTokAds {
				t.Fatalf("error %+v", pe)
			}
			if tc.code != "" && (pe.TraceID != "req-"+tc.code || pe.Message != "msg "+tc.code) {
				t.Fatalf("trace/message %+v", pe)
			}
			if len(w.all()) != 0 {
				t.Fatalf("waited %v", w.all())
			}
		})
	}
}

func TestTikTokAdsRetryAndScrubbing(t *testing.T) {
	f, s, w := ttSetup(t, 3)
	c := platforms.NewTikTokAds(s)
	ctx := context.Background()
	tok := f.IssueAdsToken()
	f.FailNext("/oauth2/advertiser/get/", 200, `{"code":50000,"message":"busy","request_id":"r"}`)
	f.FailNextHeader("/advertiser/info/", 429, ``, http.Header{"Retry-After": {"2"}})
	if accts, err := c.Accounts(ctx, tok); err != nil || len(accts) != 2 {
		t.Fatalf("%+v, %v", accts, err)
	}
	if got := w.all(); len(got) != 2 || got[1] != 2*time.Second {
		t.Fatalf("waits %v", got)
	}

	// The advertiser/get URL carries the app secret: a transport error
	// (whose *url.Error names the URL) must not show it.
	s.TikTokBusinessURL = "http://127.0.0.1:1"
	_, err := platforms.NewTikTokAds(s).Accounts(ctx, tok)
	ttPlatformError(t, f, err, platforms.KindTransient, tok)
	if !strings.Contains(err.Error(), "[redacted]") {
		t.Fatalf("transport error %q", err)
	}
}
