package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"adpilot/testutil"
)

// facebookPick runs authorize → dialog → callback and returns the pick page.
func facebookPick(t *testing.T, app *testutil.TestApp, fake *testutil.FakeFacebook) *testutil.Response {
	t.Helper()
	target := authorize(t, app, "/oauth/facebook/authorize")
	if !strings.HasPrefix(target, fake.URL+"/v24.0/dialog/oauth?") {
		t.Fatalf("authorize redirects to %q, want FB_DIALOG_URL/v24.0/dialog/oauth", target)
	}
	u, _ := url.Parse(target)
	if scope := u.Query().Get("scope"); !strings.Contains(scope, "ads_read") || !strings.Contains(scope, "pages_show_list") {
		t.Fatalf("dialog scope = %q, want FB_SCOPES", scope)
	}
	resp := app.Get("/oauth/facebook/callback?" + fake.Consent(t, target).Encode()).ExpectStatus(http.StatusSeeOther)
	pick := resp.Header.Get("Location")
	if !strings.HasPrefix(pick, "/connections/pick/") {
		t.Fatalf("callback redirects to %q, want the pick page", pick)
	}
	return app.Get(pick).ExpectStatus(http.StatusOK)
}

func TestFacebookConnectFlowPicksAccounts(t *testing.T) {
	fake := testutil.NewFakeFacebook(t)
	fake.ExtraAdAccounts(30) // more than one page of /me/adaccounts
	app := oauthApp(t, fake.Env())

	page := facebookPick(t, app, fake)
	doc := page.Doc()
	boxes := doc.Find(`input[type=checkbox][name=account]`)
	if boxes.Length() != 2+30+1 {
		t.Fatalf("the checklist offers %d accounts, want 33 (every page of ad accounts, and the Page)", boxes.Length())
	}
	if boxes.Filter("[checked]").Length() != 0 {
		t.Fatal("accounts are ticked before anything is connected")
	}
	action, _ := doc.Find(`form[action^="/connections/pick/"]`).Attr("action")

	// Nothing ticked: 422 with the list kept.
	resp := app.PostForm(action, url.Values{}, "Sec-Fetch-Site", "same-origin").ExpectStatus(http.StatusUnprocessableEntity)
	if !strings.Contains(resp.Body, "Tick at least one account") {
		t.Fatalf("empty pick: %.300s", resp.Body)
	}
	pageID := fake.Pages()[0].ID
	app.PostForm(action, url.Values{"account": {"act_111", pageID, "act_not_offered"}}, "Sec-Fetch-Site", "same-origin").
		ExpectStatus(http.StatusSeeOther)
	list := connectionsJSON(t, app)
	if len(list) != 2 {
		t.Fatalf("connected %d accounts, want the 2 picked: %v", len(list), list)
	}
	byRef := map[string]map[string]any{}
	for _, c := range list {
		byRef[c["account_ref"].(string)] = c
	}
	ad, pg := byRef["act_111"], byRef[pageID]
	if ad == nil || ad["kind"] != "ad_account" || ad["currency"] != "USD" || ad["timezone"] != "America/New_York" || ad["expires_at"] == nil {
		t.Fatalf("ad account connection = %v", ad)
	}
	if pg == nil || pg["kind"] != "page" || pg["expires_at"] != nil {
		t.Fatalf("Page connection = %v (Page tokens do not expire)", pg)
	}
	// The pick is used up.
	app.Get(action).ExpectStatus(http.StatusNotFound)

	// meta keeps what the issue asks for; the Page row holds the Page token.
	var meta string
	if err := testutil.QueryRow(t, app, context.Background(), `SELECT meta::text FROM ad_token WHERE account_ref = 'act_111'`).Scan(&meta); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.Unmarshal([]byte(meta), &m)
	for _, key := range []string{"currency", "timezone_name", "account_status", "platform_user_id"} {
		if _, ok := m[key]; !ok {
			t.Errorf("meta lacks %q: %s", key, meta)
		}
	}
	_, creds := connectionCreds(t, app, pg["id"].(string))
	if creds != fake.Pages()[0].Token {
		t.Fatal("the Page connection does not use the Page token")
	}

	// Reconnecting updates the rows in place: same ids, ticked in the list.
	page = facebookPick(t, app, fake)
	if n := page.Doc().Find(`input[name=account][checked]`).Length(); n != 2 {
		t.Fatalf("reconnect ticks %d accounts, want the 2 connected", n)
	}
	action, _ = page.Doc().Find(`form[action^="/connections/pick/"]`).Attr("action")
	app.PostForm(action, url.Values{"account": {"act_111"}}, "Sec-Fetch-Site", "same-origin").ExpectStatus(http.StatusSeeOther)
	after := connectionsJSON(t, app)
	if len(after) != 2 {
		t.Fatalf("reconnect changed the number of connections: %v", after)
	}
	for _, c := range after {
		if c["id"] != byRef[c["account_ref"].(string)]["id"] {
			t.Fatalf("reconnect made a new row for %v", c["account_ref"])
		}
	}
	assertNoTokensLogged(t, app)
}

// connectionCreds reads a connection's decrypted access token through the store.
func connectionCreds(t *testing.T, app *testutil.TestApp, id string) (string, string) {
	t.Helper()
	var tenant string
	if err := testutil.QueryRow(t, app, context.Background(), `SELECT tenant_id FROM ad_token WHERE id = $1`, id).Scan(&tenant); err != nil {
		t.Fatal(err)
	}
	_, creds, err := app.Store.ConnectionCredentials(context.Background(), tenant, id)
	if err != nil {
		t.Fatal(err)
	}
	return tenant, creds.AccessToken
}

func TestPickPageBelongsToItsUser(t *testing.T) {
	fake := testutil.NewFakeFacebook(t)
	app := oauthApp(t, fake.Env())
	target := authorize(t, app, "/oauth/facebook/authorize")
	pick := app.Get("/oauth/facebook/callback?" + fake.Consent(t, target).Encode()).Header.Get("Location")

	// Someone else in the same tenant cannot see or use it.
	addMember(t, app, "oauth-team", "colleague@example.com", "admin")
	app.Client.Jar = newJar(t)
	app.PostForm("/auth/login", url.Values{"login": {"colleague@example.com"}, "password": {strongPassword}},
		"Sec-Fetch-Site", "same-origin").ExpectStatus(http.StatusSeeOther)
	app.Get(pick).ExpectStatus(http.StatusNotFound)
	app.PostForm(pick, url.Values{"account": {"act_111"}}, "Sec-Fetch-Site", "same-origin").ExpectStatus(http.StatusNotFound)
	app.Get("/connections/pick/not-a-uuid").ExpectStatus(http.StatusNotFound)
}

func TestFacebookDataDeletionAndDeauthorize(t *testing.T) {
	fake := testutil.NewFakeFacebook(t)
	app := oauthApp(t, fake.Env())
	page := facebookPick(t, app, fake)
	action, _ := page.Doc().Find(`form[action^="/connections/pick/"]`).Attr("action")
	app.PostForm(action, url.Values{"account": {"act_111", "act_222"}}, "Sec-Fetch-Site", "same-origin").ExpectStatus(http.StatusSeeOther)
	userID := "10001" // the fake's default Facebook user

	post := func(path, signed string) *testutil.Response {
		return app.Do(http.MethodPost, path, strings.NewReader(url.Values{"signed_request": {signed}}.Encode()),
			"Content-Type", "application/x-www-form-urlencoded")
	}
	// Forged: signed with the wrong secret, or tampered, or garbage.
	good := fake.SignedRequest(userID)
	sig, payload, _ := strings.Cut(good, ".")
	for name, forged := range map[string]string{
		"tampered payload": sig + "." + payload + "x",
		"wrong signature":  "AAAA" + sig[4:] + "." + payload,
		"no dot":           "garbage",
		"empty":            "",
	} {
		if resp := post("/oauth/facebook/data-deletion", forged); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: data deletion answered %d, want 400", name, resp.StatusCode)
		}
	}
	if n := len(connectionsJSON(t, app)); n != 2 {
		t.Fatalf("forged requests deleted connections: %d left", n)
	}

	resp := post("/oauth/facebook/data-deletion", good).ExpectStatus(http.StatusOK)
	var out struct {
		URL  string `json:"url"`
		Code string `json:"confirmation_code"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &out); err != nil || out.Code == "" || !strings.HasSuffix(out.URL, "/"+out.Code) {
		t.Fatalf("data deletion answer = %s (%v)", resp.Body, err)
	}
	if n := len(connectionsJSON(t, app)); n != 0 {
		t.Fatalf("%d connections left after data deletion", n)
	}
	status := app.Get(strings.TrimPrefix(out.URL, app.Config.BaseURL)).ExpectStatus(http.StatusOK)
	if !strings.Contains(status.Text("main"), "completed") || !strings.Contains(status.Text("main"), "2 connections") {
		t.Fatalf("status page: %s", status.Text("main"))
	}
	app.Get("/oauth/facebook/data-deletion/NOSUCHCODE0000000000").ExpectStatus(http.StatusNotFound)

	// Deauthorize: same verification, deletes again (nothing left: still 200).
	post("/oauth/facebook/deauthorize", "bad.sig").ExpectStatus(http.StatusBadRequest)
	post("/oauth/facebook/deauthorize", good).ExpectStatus(http.StatusOK)
	var audited int
	if err := testutil.QueryRow(t, app, context.Background(),
		`SELECT count(*) FROM audit_log WHERE action = 'connection.data_deletion'`).Scan(&audited); err != nil || audited != 2 {
		t.Fatalf("data deletion audited %d times (%v), want 2", audited, err)
	}
}

func TestConversionActionsPerConnection(t *testing.T) {
	fake := testutil.NewFakeFacebook(t)
	app := oauthApp(t, fake.Env())
	page := facebookPick(t, app, fake)
	action, _ := page.Doc().Find(`form[action^="/connections/pick/"]`).Attr("action")
	app.PostForm(action, url.Values{"account": {"act_111"}}, "Sec-Fetch-Site", "same-origin").ExpectStatus(http.StatusSeeOther)
	id := connectionsJSON(t, app)[0]["id"].(string)
	token := loginAPI(t, app, `{"email":"owner@example.com","password":"`+strongPassword+`"}`)

	// The form: comma-separated, deduplicated, lower-cased.
	app.PostForm("/connections/"+id+"/settings", url.Values{"conversion_actions": {"Purchase, lead,purchase offsite_conversion.fb_pixel_custom"}},
		"Sec-Fetch-Site", "same-origin").ExpectStatus(http.StatusSeeOther)
	got := connectionsJSON(t, app)[0]["conversion_actions"]
	if want := []any{"purchase", "lead", "offsite_conversion.fb_pixel_custom"}; len(got.([]any)) != 3 || got.([]any)[2] != want[2] {
		t.Fatalf("conversion_actions = %v, want %v", got, want)
	}
	// Bad input: 422, nothing changed.
	resp := app.PostForm("/connections/"+id+"/settings", url.Values{"conversion_actions": {"purchase, <script>"}}, "Sec-Fetch-Site", "same-origin")
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(resp.Body, "not an action type") {
		t.Fatalf("bad action type: %d %.300s", resp.StatusCode, resp.Body)
	}
	resp, out := jsonCall(t, app, http.MethodPatch, "/api/v1/connections/"+id, `{"conversion_actions":["a b c d"]}`, token)
	if resp.StatusCode != http.StatusUnprocessableEntity || out["fields"] == nil {
		t.Fatalf("bad API input: %d %v", resp.StatusCode, out)
	}
	call(t, app, http.MethodPatch, "/api/v1/connections/"+id, `{"conversion_actions":`, token).ExpectStatus(http.StatusBadRequest)
	// Back to the default through the API.
	resp, out = jsonCall(t, app, http.MethodPatch, "/api/v1/connections/"+id, `{"conversion_actions":[]}`, token)
	resp.ExpectStatus(http.StatusOK)
	if _, ok := out["conversion_actions"]; ok {
		t.Fatalf("after clearing: %v", out)
	}
	var audited int
	if err := testutil.QueryRow(t, app, context.Background(), `SELECT count(*) FROM audit_log WHERE action = 'connection.settings'`).Scan(&audited); err != nil || audited != 2 {
		t.Fatalf("settings audited %d times (%v), want 2", audited, err)
	}
}
