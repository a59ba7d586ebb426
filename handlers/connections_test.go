package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"adpilot/platforms"
	"adpilot/testutil"
)

func TestDemoConnectionsThroughTheAPI(t *testing.T) {
	app := testutil.NewApp(t, testutil.WithEnv("DEMO_PLATFORM", "true"))
	registerAPI(t, app, "owner@example.com", "Demo Team")
	token := loginAPI(t, app, `{"email":"owner@example.com","password":"`+strongPassword+`"}`)

	resp, out := jsonCall(t, app, http.MethodPost, "/api/v1/connections/demo", "", token)
	resp.ExpectStatus(http.StatusCreated)
	created := out["connections"].([]any)
	if len(created) != 3 {
		t.Fatalf("demo connect made %d connections, want 3: %v", len(created), out)
	}
	// Connecting again updates in place.
	jsonCall(t, app, http.MethodPost, "/api/v1/connections/demo", "", token)

	resp, out = jsonCall(t, app, http.MethodGet, "/api/v1/connections", "", token)
	resp.ExpectStatus(http.StatusOK)
	list := out["connections"].([]any)
	if len(list) != 3 {
		t.Fatalf("listed %d connections after reconnecting, want 3", len(list))
	}
	first := list[0].(map[string]any)
	for _, key := range []string{"id", "platform", "account_ref", "account_name", "status", "expires_at"} {
		if _, ok := first[key]; !ok {
			t.Errorf("connection JSON lacks %q: %v", key, first)
		}
	}
	if first["platform"] != "demo" || first["status"] != "valid" {
		t.Errorf("connection = %v", first)
	}
	if strings.Contains(resp.Body, "demo-token") || strings.Contains(strings.ToLower(resp.Body), "access_token") {
		t.Fatalf("the API shows a token: %s", resp.Body)
	}

	// Check now through the API, then disconnect.
	id := first["id"].(string)
	resp, out = jsonCall(t, app, http.MethodPost, "/api/v1/connections/"+id+"/check", "", token)
	resp.ExpectStatus(http.StatusOK)
	if out["status"] != "valid" || out["last_validated"] == nil {
		t.Fatalf("check answered %v", out)
	}
	call(t, app, http.MethodDelete, "/api/v1/connections/"+id, "", token).ExpectStatus(http.StatusNoContent)
	_, out = jsonCall(t, app, http.MethodGet, "/api/v1/connections", "", token)
	if n := len(out["connections"].([]any)); n != 2 {
		t.Fatalf("%d connections after disconnecting one, want 2", n)
	}
	var audited int
	if err := testutil.QueryRow(t, app, context.Background(),
		`SELECT count(*) FROM audit_log WHERE action IN ('connection.connect', 'connection.reconnect', 'connection.disconnect')`).Scan(&audited); err != nil {
		t.Fatal(err)
	}
	if audited != 7 { // 3 connects, 3 reconnects, 1 disconnect
		t.Fatalf("%d connection audit entries, want 7", audited)
	}
}

func TestStoredTokensAreEncrypted(t *testing.T) {
	app := testutil.NewApp(t, testutil.WithEnv("DEMO_PLATFORM", "true"))
	registerAPI(t, app, "owner@example.com", "Crypto Team")
	token := loginAPI(t, app, `{"email":"owner@example.com","password":"`+strongPassword+`"}`)
	call(t, app, http.MethodPost, "/api/v1/connections/demo", "", token).ExpectStatus(http.StatusCreated)

	var ref string
	var enc []byte
	if err := testutil.QueryRow(t, app, context.Background(),
		`SELECT account_ref, access_token_enc FROM ad_token ORDER BY account_ref LIMIT 1`).Scan(&ref, &enc); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(enc), platforms.DemoToken(ref)) || len(enc) < 1+12+16 {
		t.Fatalf("access_token_enc is not a ciphertext: %q", enc)
	}
}

func TestViewerCannotConnectButSeesConnections(t *testing.T) {
	app := testutil.NewApp(t, testutil.WithEnv("DEMO_PLATFORM", "true"))
	registerAPI(t, app, "owner@example.com", "Viewer Team")
	addMember(t, app, "viewer-team", "viewer@example.com", "viewer")
	viewer := loginAPI(t, app, `{"email":"viewer@example.com","password":"`+strongPassword+`"}`)
	call(t, app, http.MethodPost, "/api/v1/connections/demo", "", viewer).ExpectStatus(http.StatusForbidden)
	call(t, app, http.MethodGet, "/api/v1/connections", "", viewer).ExpectStatus(http.StatusOK)

	app.PostForm("/auth/login", url.Values{"login": {"viewer@example.com"}, "password": {strongPassword}},
		"Sec-Fetch-Site", "same-origin").ExpectStatus(http.StatusSeeOther)
	page := app.Get("/connections").ExpectStatus(http.StatusOK)
	if page.Doc().Find(`form[action="/connections/demo"]`).Length() != 0 {
		t.Fatal("a viewer is offered the demo connect button")
	}
}

func TestDemoPlatformOffOutsideDev(t *testing.T) {
	app := testutil.NewApp(t) // ENV=test, DEMO_PLATFORM unset
	registerAPI(t, app, "owner@example.com", "No Demo")
	token := loginAPI(t, app, `{"email":"owner@example.com","password":"`+strongPassword+`"}`)
	resp, out := jsonCall(t, app, http.MethodPost, "/api/v1/connections/demo", "", token)
	resp.ExpectStatus(http.StatusNotFound)
	if !strings.Contains(out["error"].(string), "DEMO_PLATFORM") {
		t.Fatalf("error does not say how to turn it on: %v", out)
	}
}

func TestUnconfiguredPlatformsShowAHint(t *testing.T) {
	app := testutil.NewApp(t)
	registerAPI(t, app, "owner@example.com", "Hints")
	app.PostForm("/auth/login", url.Values{"login": {"owner@example.com"}, "password": {strongPassword}},
		"Sec-Fetch-Site", "same-origin").ExpectStatus(http.StatusSeeOther)
	doc := app.Get("/connections").ExpectStatus(http.StatusOK).Doc()
	hints := map[string]string{"facebook": "FB_APP_ID and FB_APP_SECRET", "tiktok": "TIKTOK_CLIENT_KEY and TIKTOK_CLIENT_SECRET",
		"tiktok_ads": "TIKTOK_ADS_APP_ID and TIKTOK_ADS_APP_SECRET"}
	for key, vars := range hints {
		if doc.Find(`button[disabled][aria-describedby="hint-`+key+`"]`).Length() != 1 {
			t.Errorf("%s: no disabled button", key)
		}
		if hint := doc.Find("#hint-" + key).Text(); !strings.Contains(hint, vars) {
			t.Errorf("%s hint = %q, want the variables %s", key, hint, vars)
		}
	}
	// The authorize route says the same instead of failing.
	resp := app.Get("/oauth/facebook/authorize")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(resp.Body, "FB_APP_ID") {
		t.Fatalf("authorize on an unconfigured platform: %d %.200s", resp.StatusCode, resp.Body)
	}
}

// call is jsonCall for when only the response matters.
func call(t *testing.T, app *testutil.TestApp, method, path, body, bearer string) *testutil.Response {
	t.Helper()
	resp, _ := jsonCall(t, app, method, path, body, bearer)
	return resp
}
