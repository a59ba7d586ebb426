package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"adpilot/testutil"
)

// oauthApp is the app pointed at fake platforms, with a signed-in admin.
func oauthApp(t *testing.T, env map[string]string) *testutil.TestApp {
	t.Helper()
	var kv []string
	for k, v := range env {
		kv = append(kv, k, v)
	}
	app := testutil.NewApp(t, testutil.WithEnv(kv...))
	registerAPI(t, app, "owner@example.com", "OAuth Team")
	app.PostForm("/auth/login", url.Values{"login": {"owner@example.com"}, "password": {strongPassword}},
		"Sec-Fetch-Site", "same-origin").ExpectStatus(http.StatusSeeOther)
	return app
}

// authorize starts a connect flow and returns the platform URL it sends
// the browser to.
func authorize(t *testing.T, app *testutil.TestApp, path string) string {
	t.Helper()
	resp := app.Get(path).ExpectStatus(http.StatusFound)
	return resp.Header.Get("Location")
}

func connectionsJSON(t *testing.T, app *testutil.TestApp) []map[string]any {
	t.Helper()
	_, out := jsonCall(t, app, http.MethodGet, "/api/v1/connections", "", "")
	var list []map[string]any
	for _, c := range out["connections"].([]any) {
		list = append(list, c.(map[string]any))
	}
	return list
}

func TestTikTokCreatorConnectFlow(t *testing.T) {
	fake := testutil.NewFakeTikTok(t)
	app := oauthApp(t, fake.Env())

	target := authorize(t, app, "/oauth/tiktok/authorize")
	if !strings.HasPrefix(target, fake.URL+"/v2/auth/authorize/") {
		t.Fatalf("authorize redirects to %q, want the configured TIKTOK_AUTH_URL", target)
	}
	u, _ := url.Parse(target)
	if u.Query().Get("client_key") != fake.ClientKey || u.Query().Get("redirect_uri") != app.Config.BaseURL+"/oauth/tiktok/callback" ||
		u.Query().Get("state") == "" || u.Query().Get("response_type") != "code" {
		t.Fatalf("authorize URL query = %v", u.Query())
	}
	params := fake.Consent(t, target)
	resp := app.Get("/oauth/tiktok/callback?" + params.Encode()).ExpectStatus(http.StatusSeeOther)
	if resp.Header.Get("Location") != "/connections" {
		t.Fatalf("callback redirects to %q", resp.Header.Get("Location"))
	}
	list := connectionsJSON(t, app)
	if len(list) != 1 || list[0]["platform"] != "tiktok" || list[0]["kind"] != "creator" || list[0]["expires_at"] == nil {
		t.Fatalf("connections after the TikTok flow: %v", list)
	}
	page := app.Get("/connections").ExpectStatus(http.StatusOK)
	if !strings.Contains(page.Text("table.connections"), list[0]["account_name"].(string)) {
		t.Fatalf("the connections page does not list the creator: %s", page.Text("table.connections"))
	}

	// Replaying the same callback: the state was used up.
	resp = app.Get("/oauth/tiktok/callback?" + params.Encode())
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(resp.Body, "Try again") {
		t.Fatalf("replayed callback: %d %.300s", resp.StatusCode, resp.Body)
	}
	// A fresh state with the used code: TikTok refuses the code.
	fresh := authorize(t, app, "/oauth/tiktok/authorize")
	fu, _ := url.Parse(fresh)
	params.Set("state", fu.Query().Get("state"))
	resp = app.Get("/oauth/tiktok/callback?" + params.Encode())
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(resp.Body, "refused the authorization code") {
		t.Fatalf("replayed code: %d %.400s", resp.StatusCode, resp.Body)
	}
	assertNoTokensLogged(t, app)
}

func TestTikTokAdsConnectFlowMakesOneRowPerAdvertiser(t *testing.T) {
	fake := testutil.NewFakeTikTok(t)
	app := oauthApp(t, fake.Env())

	target := authorize(t, app, "/oauth/tiktok-ads/authorize")
	if !strings.HasPrefix(target, fake.URL+"/portal/auth") {
		t.Fatalf("authorize redirects to %q", target)
	}
	params := fake.Consent(t, target)
	if params.Get("auth_code") == "" {
		t.Fatalf("the portal sent no auth_code: %v", params)
	}
	app.Get("/oauth/tiktok-ads/callback?" + params.Encode()).ExpectStatus(http.StatusSeeOther)
	list := connectionsJSON(t, app)
	if len(list) != 2 {
		t.Fatalf("want one connection per advertiser (2), got %v", list)
	}
	for _, c := range list {
		if c["platform"] != "tiktok_ads" || c["kind"] != "advertiser" || c["currency"] == "" || c["timezone"] == "" {
			t.Errorf("advertiser connection = %v", c)
		}
	}
}

func TestOAuthFailuresArePlainPages(t *testing.T) {
	fake := testutil.NewFakeTikTok(t)
	app := oauthApp(t, fake.Env())

	// Denied consent.
	fake.SetDenyConsent(true)
	params := fake.Consent(t, authorize(t, app, "/oauth/tiktok/authorize"))
	resp := app.Get("/oauth/tiktok/callback?" + params.Encode())
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(resp.Body, "You cancelled") ||
		resp.Doc().Find(`a[href="/oauth/tiktok/authorize"]`).Length() == 0 {
		t.Fatalf("denied consent: %d %.400s", resp.StatusCode, resp.Body)
	}
	fake.SetDenyConsent(false)

	// State mismatch: a callback this session never started.
	authorize(t, app, "/oauth/tiktok/authorize")
	resp = app.Get("/oauth/tiktok/callback?code=abc&state=forged")
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(resp.Body, "could not be matched") {
		t.Fatalf("state mismatch: %d %.400s", resp.StatusCode, resp.Body)
	}

	// Platform error during the exchange.
	params = fake.Consent(t, authorize(t, app, "/oauth/tiktok/authorize"))
	// (The code exchange is tried once: a code is single-use.)
	fake.FailNext("/v2/oauth/token/", http.StatusInternalServerError, `{"error":"internal_error","error_description":"upstream down","log_id":"x"}`)
	resp = app.Get("/oauth/tiktok/callback?" + params.Encode())
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(resp.Body, "Try again") {
		t.Fatalf("platform error: %d %.400s", resp.StatusCode, resp.Body)
	}
	if n := fake.Calls("/v2/oauth/token/"); n != 1 {
		t.Fatalf("the code exchange was tried %d times, want once", n)
	}
	if n := len(connectionsJSON(t, app)); n != 0 {
		t.Fatalf("%d connections after failures, want 0", n)
	}
	assertNoTokensLogged(t, app)
}

// assertNoTokensLogged fails when any fake token appears in the app's log.
func assertNoTokensLogged(t *testing.T, app *testutil.TestApp) {
	t.Helper()
	logs := app.Logs()
	for _, marker := range []string{"act.", "rft.", "ads-tok-", "access_token"} {
		if strings.Contains(logs, marker) {
			t.Fatalf("the log contains %q:\n%s", marker, logs)
		}
	}
}

func TestDisconnectRevokesASharedTokenOnlyWithItsLastRow(t *testing.T) {
	fake := testutil.NewFakeTikTok(t)
	app := oauthApp(t, fake.Env())
	app.Get("/oauth/tiktok-ads/callback?" + fake.Consent(t, authorize(t, app, "/oauth/tiktok-ads/authorize")).Encode()).
		ExpectStatus(http.StatusSeeOther)
	token := loginAPI(t, app, `{"email":"owner@example.com","password":"`+strongPassword+`"}`)
	list := connectionsJSON(t, app)
	if len(list) != 2 {
		t.Fatalf("want two advertisers, got %v", list)
	}
	call(t, app, http.MethodDelete, "/api/v1/connections/"+list[0]["id"].(string), "", token).ExpectStatus(http.StatusNoContent)
	if n := fake.Calls("/oauth2/revoke_token/"); n != 0 {
		t.Fatalf("disconnecting one advertiser revoked the grant the other still uses (%d calls)", n)
	}
	// The other advertiser still works.
	resp, out := jsonCall(t, app, http.MethodPost, "/api/v1/connections/"+list[1]["id"].(string)+"/check", "", token)
	resp.ExpectStatus(http.StatusOK)
	if out["status"] != "valid" {
		t.Fatalf("the remaining advertiser after a sibling's disconnect: %v", out)
	}
	call(t, app, http.MethodDelete, "/api/v1/connections/"+list[1]["id"].(string), "", token).ExpectStatus(http.StatusNoContent)
	if n := fake.Calls("/oauth2/revoke_token/"); n != 1 {
		t.Fatalf("disconnecting the last advertiser revoked %d times, want 1", n)
	}
}

func TestCheckRenewsAnExpiredTikTokAccessToken(t *testing.T) {
	fake := testutil.NewFakeTikTok(t)
	app := oauthApp(t, fake.Env())
	app.Get("/oauth/tiktok/callback?" + fake.Consent(t, authorize(t, app, "/oauth/tiktok/authorize")).Encode()).
		ExpectStatus(http.StatusSeeOther)
	id := connectionsJSON(t, app)[0]["id"].(string)
	token := loginAPI(t, app, `{"email":"owner@example.com","password":"`+strongPassword+`"}`)

	fake.InvalidateAllTokens() // access tokens only: the refresh token still works
	resp, out := jsonCall(t, app, http.MethodPost, "/api/v1/connections/"+id+"/check", "", token)
	resp.ExpectStatus(http.StatusOK)
	if out["status"] != "valid" || fake.RefreshCount() != 1 {
		t.Fatalf("after a refused access token: %v, %d refreshes (want valid after 1)", out, fake.RefreshCount())
	}

	fake.InvalidateAllTokens()
	fake.RevokeRefreshTokens() // now the grant is really gone
	_, out = jsonCall(t, app, http.MethodPost, "/api/v1/connections/"+id+"/check", "", token)
	if out["status"] != "invalid" || !strings.Contains(out["invalid_reason"].(string), "refresh token was refused") {
		t.Fatalf("after a refused refresh: %v", out)
	}
	// The page offers Reconnect for it.
	page := app.Get("/connections").ExpectStatus(http.StatusOK)
	if page.Doc().Find(`tr[data-status="invalid"] a[href="/oauth/tiktok/authorize"]`).Length() != 1 {
		t.Fatalf("no Reconnect on the invalid row: %s", page.Text("table.connections"))
	}
}
