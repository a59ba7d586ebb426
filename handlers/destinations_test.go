package handlers_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"adpilot/notify"
	"adpilot/testutil"
)

// destPost posts a browser form (same-origin, so CSRF passes).
func destPost(t *testing.T, app *testutil.TestApp, path string, form url.Values, headers ...string) *testutil.Response {
	t.Helper()
	return app.PostForm(path, form, append([]string{"Sec-Fetch-Site", "same-origin"}, headers...)...)
}

// addWebhook creates a webhook destination through the form and returns
// its id and the signing secret the page showed once.
func addWebhook(t *testing.T, app *testutil.TestApp, name, target, headers string) (string, string) {
	t.Helper()
	resp := destPost(t, app, "/destinations", url.Values{"type": {"webhook"}, "name": {name}, "url": {target}, "headers": {headers}}).
		ExpectStatus(http.StatusCreated)
	if !strings.Contains(resp.Body, "Copy it now: it will not be shown again") || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("the secret page (Cache-Control %q) says: %s", resp.Header.Get("Cache-Control"), resp.Text("main"))
	}
	secret := resp.Text("#signing-secret")
	href, _ := resp.Doc().Find(`main a[role=button][href^="/destinations/"]`).Attr("href")
	if !strings.HasPrefix(secret, "whsec_") || href == "" {
		t.Fatalf("secret page: secret %q, link %q", secret, href)
	}
	return strings.TrimPrefix(href, "/destinations/"), secret
}

// deliveries returns a destination's deliveries through the API, newest first.
func deliveries(t *testing.T, app *testutil.TestApp, id string) []map[string]any {
	t.Helper()
	resp, out := jsonCall(t, app, http.MethodGet, "/api/v1/destinations/"+id+"/deliveries", "", "")
	resp.ExpectStatus(http.StatusOK)
	var list []map[string]any
	for _, d := range out["deliveries"].([]any) {
		list = append(list, d.(map[string]any))
	}
	return list
}

// sendTestHTMX presses "Send test" as htmx does and returns the outcome box.
func sendTestHTMX(t *testing.T, app *testutil.TestApp, id string) (string, string) {
	t.Helper()
	resp := destPost(t, app, "/destinations/"+id+"/test", nil, "HX-Request", "true").ExpectStatus(http.StatusOK)
	box := resp.Doc().Find("#test-outcome-" + id)
	if resp.Doc().Find(`#deliveries[hx-swap-oob="true"]`).Length() != 1 {
		t.Errorf("the test answer does not refresh the deliveries table: %s", resp.Body)
	}
	return box.AttrOr("data-outcome", ""), strings.TrimSpace(box.Text())
}

func TestDestinationWebhookSendTestRetryAndRotate(t *testing.T) {
	app := oauthApp(t, nil)
	recv := testutil.NewWebhookReceiver(t, "")
	const token = "Bearer hunter2-header-value"
	id, secret := addWebhook(t, app, "Ops hook", recv.URL+"/hook", "Authorization: "+token+"\nX-Team: growth")
	recv.SetSecret(secret)

	page := app.Get("/destinations/" + id).ExpectStatus(http.StatusOK)
	if strings.Contains(page.Body, secret) || strings.Contains(page.Body, "hunter2") || strings.Contains(page.Body, "growth") {
		t.Fatalf("the destination page shows a secret or a header value: %s", page.Text("main"))
	}
	if !strings.Contains(page.Text("main"), "Authorization, X-Team") || !strings.Contains(page.Text("main"), recv.URL+"/hook") {
		t.Fatalf("the destination page does not describe the webhook: %s", page.Text("main"))
	}

	outcome, text := sendTestHTMX(t, app, id)
	if outcome != "delivered" || !strings.Contains(text, "Delivered") {
		t.Fatalf("Send test: outcome %q, %q", outcome, text)
	}
	reqs := recv.WaitFor(1, 5*time.Second)
	list := deliveries(t, app, id)
	if len(reqs) != 1 || !reqs[0].SignatureValid || reqs[0].Event != "test" || reqs[0].DeliveryID != list[0]["id"] ||
		reqs[0].Header.Get("Authorization") != token {
		t.Fatalf("the receiver got %d requests: %+v; deliveries %v", len(reqs), reqs, list)
	}
	page = app.Get("/destinations/" + id)
	if page.Doc().Find(`#deliveries tr[data-delivery="`+list[0]["id"].(string)+`"][data-status="delivered"]`).Length() != 1 {
		t.Fatalf("Recent deliveries does not list the test as delivered: %s", page.Text("#deliveries"))
	}

	// A 500 is retried later: the first attempt is recorded, the delivery stays pending.
	recv.RespondWith(http.StatusInternalServerError)
	outcome, text = sendTestHTMX(t, app, id)
	if outcome != "pending" || !strings.Contains(text, "Will retry") || !strings.Contains(text, "500") {
		t.Fatalf("Send test against a 500: outcome %q, %q", outcome, text)
	}
	if d := deliveries(t, app, id)[0]; d["status"] != "pending" || d["attempts"] != float64(1) || d["last_status_code"] != float64(500) {
		t.Fatalf("after a 500 the delivery is %v", d)
	}

	// A 404 is final; Retry (htmx) queues it again. Without JS the test redirects back with a flash.
	recv.RespondWith(http.StatusNotFound)
	resp := destPost(t, app, "/destinations/"+id+"/test", nil).ExpectStatus(http.StatusSeeOther)
	if resp.Header.Get("Location") != "/destinations/"+id {
		t.Fatalf("Send test without JS redirects to %q", resp.Header.Get("Location"))
	}
	if flash := app.Get("/destinations/" + id).Text("#notices"); !strings.Contains(flash, "Failed") || !strings.Contains(flash, "404") {
		t.Fatalf("flash after a failed test: %q", flash)
	}
	failed := deliveries(t, app, id)[0]
	fid := failed["id"].(string)
	if failed["status"] != "failed" {
		t.Fatalf("after a 404 the delivery is %v", failed)
	}
	retryPath := "/destinations/" + id + "/deliveries/" + fid + "/retry"
	if app.Get("/destinations/"+id).Doc().Find(`form[action="`+retryPath+`"]`).Length() != 1 {
		t.Fatal("the failed delivery has no Retry button")
	}
	resp = destPost(t, app, retryPath, nil, "HX-Request", "true").ExpectStatus(http.StatusOK)
	if resp.Doc().Find(`tr[data-delivery="`+fid+`"][data-status="pending"]`).Length() != 1 {
		t.Fatalf("the retried delivery is not pending in the refreshed table: %s", resp.Body)
	}
	destPost(t, app, retryPath, nil).ExpectStatus(http.StatusConflict) // no longer failed
	emailID := addEmailList(t, app, "Other", "x@example.com")
	destPost(t, app, "/destinations/"+emailID+"/deliveries/"+fid+"/retry", nil).ExpectStatus(http.StatusNotFound)

	// Rotate: a new secret, shown once; the next test verifies with it only.
	resp = destPost(t, app, "/destinations/"+id+"/rotate-secret", nil).ExpectStatus(http.StatusOK)
	rotated := resp.Text("#signing-secret")
	if !strings.HasPrefix(rotated, "whsec_") || rotated == secret || !strings.Contains(resp.Body, "it will not be shown again") {
		t.Fatalf("rotate shows %q (old %q)", rotated, secret)
	}
	recv.SetSecret(rotated)
	if outcome, _ = sendTestHTMX(t, app, id); outcome != "delivered" {
		t.Fatalf("test after rotation: %q", outcome)
	}
	reqs = recv.Requests()
	last := reqs[len(reqs)-1]
	sig := last.Header.Get("X-Adpilot-Signature")
	if !last.SignatureValid || notify.VerifySignature(secret, sig, last.Body, time.Now(), 5*time.Minute) == nil ||
		last.Header.Get("Authorization") != token {
		t.Fatalf("after rotation: valid with the new secret %v, the old one must fail, headers kept: %v", last.SignatureValid, last.Header)
	}
	destPost(t, app, "/destinations/"+emailID+"/rotate-secret", nil).ExpectStatus(http.StatusUnprocessableEntity)
}

func TestDestinationEditKeepsOrReplacesHeaders(t *testing.T) {
	app := oauthApp(t, nil)
	recv := testutil.NewWebhookReceiver(t, "")
	id, secret := addWebhook(t, app, "Hook", recv.URL, "X-Key: k1")
	recv.SetSecret(secret)
	edit := app.Get("/destinations/" + id + "/edit").ExpectStatus(http.StatusOK)
	if edit.Doc().Find(`#name`).AttrOr("value", "") != "Hook" || strings.Contains(edit.Body, "k1") {
		t.Fatalf("the edit form: %s", edit.Text("main"))
	}
	send := func() testutil.ReceivedWebhook {
		t.Helper()
		if outcome, text := sendTestHTMX(t, app, id); outcome != "delivered" {
			t.Fatalf("test: %q %q", outcome, text)
		}
		reqs := recv.Requests()
		return reqs[len(reqs)-1]
	}
	// An empty box keeps the headers and the secret.
	destPost(t, app, "/destinations/"+id, url.Values{"name": {"Hook 2"}, "url": {recv.URL + "/v2"}, "headers": {""}}).ExpectStatus(http.StatusSeeOther)
	if got := send(); got.Header.Get("X-Key") != "k1" || !got.SignatureValid {
		t.Fatalf("after an edit without headers: %v, signature %v", got.Header, got.SignatureValid)
	}
	// Typed lines replace them all.
	destPost(t, app, "/destinations/"+id, url.Values{"name": {"Hook 2"}, "url": {recv.URL}, "headers": {"X-Other: o"}}).ExpectStatus(http.StatusSeeOther)
	if got := send(); got.Header.Get("X-Key") != "" || got.Header.Get("X-Other") != "o" || !got.SignatureValid {
		t.Fatalf("after replacing the headers: %v", got.Header)
	}
	destPost(t, app, "/destinations/"+id, url.Values{"name": {"Hook 2"}, "url": {recv.URL}, "clear_headers": {"true"}}).ExpectStatus(http.StatusSeeOther)
	if got := send(); got.Header.Get("X-Other") != "" {
		t.Fatalf("after removing the headers: %v", got.Header)
	}
	// Invalid edits answer 422 beside the field and change nothing.
	resp := destPost(t, app, "/destinations/"+id, url.Values{"name": {""}, "url": {"ftp://x"}}).ExpectStatus(http.StatusUnprocessableEntity)
	if resp.Text("#name-error") == "" || !strings.Contains(resp.Text("#url-error"), "must start with") {
		t.Fatalf("invalid edit: %s", resp.Text("main"))
	}
	if page := app.Get("/destinations/" + id); page.Text("#destination-title") != "Hook 2" {
		t.Fatalf("title after the invalid edit: %q", page.Text("#destination-title"))
	}
}

// addEmailList creates an email destination through the form.
func addEmailList(t *testing.T, app *testutil.TestApp, name, addresses string) string {
	t.Helper()
	resp := destPost(t, app, "/destinations", url.Values{"type": {"email"}, "name": {name}, "addresses": {addresses}}).
		ExpectStatus(http.StatusSeeOther)
	return strings.TrimPrefix(resp.Header.Get("Location"), "/destinations/")
}

func TestDestinationEmailList(t *testing.T) {
	app := oauthApp(t, nil)
	id := addEmailList(t, app, "Marketing", "Ann@example.com,\nbob@example.com")
	if flash := app.Get("/destinations/" + id).Text("#notices"); !strings.Contains(flash, "Added Marketing") {
		t.Fatalf("flash after adding: %q", flash)
	}
	token := loginAPI(t, app, `{"email":"owner@example.com","password":"`+strongPassword+`"}`)
	resp, out := jsonCall(t, app, http.MethodPost, "/api/v1/destinations/"+id+"/test", "", token)
	resp.ExpectStatus(http.StatusOK)
	if out["status"] != "delivered" || out["event"] != "test" {
		t.Fatalf("test email: %v", out)
	}
	var n int
	if err := testutil.QueryRow(t, app, context.Background(), `SELECT count(*) FROM email_outbox
		WHERE to_address IN ('ann@example.com', 'bob@example.com') AND subject = 'adpilot test message'`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("outbox rows for the test: %d (%v), want 2", n, err)
	}

	resp = destPost(t, app, "/destinations", url.Values{"type": {"email"}, "name": {"Bad"}, "addresses": {"ok@example.com, not-an-address"}}).
		ExpectStatus(http.StatusUnprocessableEntity)
	if msg := resp.Text("#addresses-help.field-error"); !strings.Contains(msg, "not-an-address") {
		t.Fatalf("invalid address message: %q", msg)
	}
	if resp.Doc().Find(`#destination-form[data-type="email"] textarea[name=addresses]`).Text() != "ok@example.com, not-an-address" {
		t.Fatal("the form does not keep what was typed")
	}
	tooMany := ""
	for i := range 21 {
		tooMany += "u" + string(rune('a'+i)) + "@example.com,"
	}
	destPost(t, app, "/destinations", url.Values{"type": {"email"}, "name": {"Many"}, "addresses": {tooMany}}).ExpectStatus(http.StatusUnprocessableEntity)
	destPost(t, app, "/destinations", url.Values{"type": {"email"}, "name": {"None"}}).ExpectStatus(http.StatusUnprocessableEntity)
}

func TestDestinationValidation(t *testing.T) {
	app := oauthApp(t, nil)
	for _, tc := range []struct{ name, url, headers, field, want string }{
		{"ftp", "ftp://x", "", "url", "must start with http:// or https://"},
		{"credentials", "http://user:pw@host/", "", "url", "must not contain a user name or password"},
		{"bad header name", "http://127.0.0.1:9/", "Bad Header: x", "headers", "is not valid"},
		{"reserved header", "http://127.0.0.1:9/", "X-Adpilot-Event: x", "headers", "set by adpilot"},
		{"not a header line", "http://127.0.0.1:9/", "just text", "headers", "Line 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := destPost(t, app, "/destinations", url.Values{"type": {"webhook"}, "name": {"Hook"}, "url": {tc.url}, "headers": {tc.headers}})
			resp.ExpectStatus(http.StatusUnprocessableEntity)
			sel := "#" + tc.field + "-error"
			if tc.field == "headers" {
				sel = "#headers-help.field-error"
			}
			if msg := resp.Text(sel); !strings.Contains(msg, tc.want) {
				t.Fatalf("%s: message %q, want %q", tc.name, msg, tc.want)
			}
		})
	}
	// Other bad input: never a 500.
	for _, form := range []url.Values{
		{"type": {"sms"}, "name": {"x"}},
		{"type": {"telegram_chat"}, "name": {"x"}},
		{"type": {"webhook"}, "name": {strings.Repeat("n", 101)}, "url": {"http://127.0.0.1:9/"}},
		{"type": {"webhook"}, "name": {"a\x00b"}, "url": {"http://127.0.0.1:9/\xff"}},
		{"type": {"webhook"}, "name": {"x"}, "url": {"http://127.0.0.1:9/"}, "headers": {strings.Repeat("X-A: b\n", 21)}},
	} {
		destPost(t, app, "/destinations", form).ExpectStatus(http.StatusUnprocessableEntity)
	}
	for _, path := range []string{"/destinations/not-a-uuid", "/destinations/00000000-0000-0000-0000-000000000000", "/destinations/%ff/edit"} {
		app.Get(path).ExpectStatus(http.StatusNotFound)
	}
	call(t, app, http.MethodGet, "/api/v1/destinations/x'/deliveries", "", "").ExpectStatus(http.StatusNotFound)
	destPost(t, app, "/destinations/zzz/test", nil).ExpectStatus(http.StatusNotFound)

	// The JSON API: the same rules, 422 with fields; a webhook's secret once.
	resp, out := jsonCall(t, app, http.MethodPost, "/api/v1/destinations", `{"name":"x","type":"fax"}`, "")
	if resp.StatusCode != http.StatusUnprocessableEntity || out["fields"].(map[string]any)["type"] == nil {
		t.Fatalf("wrong type: %d %v", resp.StatusCode, out)
	}
	resp, out = jsonCall(t, app, http.MethodPost, "/api/v1/destinations", `{"name":"x","type":"webhook","url":"http://127.0.0.1:9/","headers":{"Host":"x"}}`, "")
	if resp.StatusCode != http.StatusUnprocessableEntity || out["fields"].(map[string]any)["headers"] == nil {
		t.Fatalf("reserved header: %d %v", resp.StatusCode, out)
	}
	call(t, app, http.MethodPost, "/api/v1/destinations", `{"name":`, "").ExpectStatus(http.StatusBadRequest)
	resp, out = jsonCall(t, app, http.MethodPost, "/api/v1/destinations",
		`{"name":"API hook","type":"webhook","url":"http://127.0.0.1:9/in","headers":{"X-Token":"tok-value"}}`, "")
	resp.ExpectStatus(http.StatusCreated)
	if s, _ := out["signing_secret"].(string); !strings.HasPrefix(s, "whsec_") || out["type"] != "webhook" {
		t.Fatalf("API create: %v", out)
	}
	resp, out = jsonCall(t, app, http.MethodGet, "/api/v1/destinations", "", "")
	if strings.Contains(resp.Body, "whsec_") || strings.Contains(resp.Body, "tok-value") {
		t.Fatalf("the list leaks a secret: %s", resp.Body)
	}
	cfg := out["destinations"].([]any)[0].(map[string]any)["config"].(map[string]any)
	if cfg["url"] != "http://127.0.0.1:9/in" || cfg["header_names"].([]any)[0] != "X-Token" {
		t.Fatalf("listed config: %v", cfg)
	}
	// The nested shape of the automation API's contract works the same.
	resp, out = jsonCall(t, app, http.MethodPost, "/api/v1/destinations",
		`{"name":"Nested mail","type":"email","config":{"addresses":["ops@example.com","cfo@example.com"]}}`, "")
	resp.ExpectStatus(http.StatusCreated)
	if addrs := out["config"].(map[string]any)["addresses"].([]any); len(addrs) != 2 {
		t.Fatalf("nested config create: %v", out)
	}
}

func TestDestinationRolesActivationAndDelete(t *testing.T) {
	app := oauthApp(t, nil)
	hook, _ := addWebhook(t, app, "Hook", "http://127.0.0.1:9/", "")
	mail := addEmailList(t, app, "Mail", "a@example.com")

	// Deactivate: the status says why; a test then fails without sending.
	destPost(t, app, "/destinations/"+mail+"/deactivate", nil).ExpectStatus(http.StatusSeeOther)
	if status := app.Get("/destinations").Text(`tr[data-destination="` + mail + `"] .badge`); !strings.HasPrefix(status, "inactive: deactivated by") {
		t.Fatalf("deactivated status: %q", status)
	}
	if outcome, text := sendTestHTMX(t, app, mail); outcome != "failed" || !strings.Contains(text, "inactive") {
		t.Fatalf("test of an inactive destination: %q %q", outcome, text)
	}
	destPost(t, app, "/destinations/"+mail+"/activate", nil).ExpectStatus(http.StatusSeeOther)
	if status := app.Get("/destinations").Text(`tr[data-destination="` + mail + `"] .badge`); status != "active" {
		t.Fatalf("reactivated status: %q", status)
	}

	// A viewer reads but sees no forms, and every change is refused.
	addMember(t, app, "oauth-team", "viewer@example.com", "viewer")
	owner := app.Client.Jar
	app.Client.Jar = newJar(t)
	destPost(t, app, "/auth/login", url.Values{"login": {"viewer@example.com"}, "password": {strongPassword}}).ExpectStatus(http.StatusSeeOther)
	for _, path := range []string{"/destinations", "/destinations/" + hook} {
		page := app.Get(path).ExpectStatus(http.StatusOK)
		if n := page.Doc().Find("main form, main [data-add], main [data-action]").Length(); n != 0 {
			t.Fatalf("a viewer sees %d forms or buttons on %s", n, path)
		}
	}
	if !strings.Contains(app.Get("/destinations").Text("main"), "Hook") {
		t.Fatal("a viewer does not see the destinations")
	}
	app.Get("/destinations/new").ExpectStatus(http.StatusForbidden)
	for _, path := range []string{"/destinations", "/destinations/telegram", "/destinations/" + hook + "/test", "/destinations/" + hook,
		"/destinations/" + hook + "/delete", "/destinations/" + hook + "/rotate-secret"} {
		destPost(t, app, path, url.Values{"type": {"email"}, "name": {"x"}, "addresses": {"a@example.com"}}).ExpectStatus(http.StatusForbidden)
	}
	app.Client.Jar = owner

	// Delete: gone afterwards; one an automation uses is kept with a 409.
	resp := destPost(t, app, "/destinations/"+mail+"/delete", nil).ExpectStatus(http.StatusSeeOther)
	if resp.Header.Get("Location") != "/destinations" {
		t.Fatalf("delete redirects to %q", resp.Header.Get("Location"))
	}
	app.Get("/destinations/" + mail).ExpectStatus(http.StatusNotFound)
	var automation string
	if err := testutil.QueryRow(t, app, context.Background(), `INSERT INTO automation (tenant_id, name, type, destination_id)
		SELECT tenant_id, 'Weekly report', 'scheduled_report', id FROM destination WHERE id = $1 RETURNING id`, hook).Scan(&automation); err != nil {
		t.Fatal(err)
	}
	resp = destPost(t, app, "/destinations/"+hook+"/delete", nil).ExpectStatus(http.StatusConflict)
	if !strings.Contains(resp.Body, "An automation uses this destination") {
		t.Fatalf("delete in use: %s", resp.Text("main"))
	}
	app.Get("/destinations/" + hook).ExpectStatus(http.StatusOK)
}

func TestDestinationTelegramBotOff(t *testing.T) {
	app := oauthApp(t, nil)
	page := app.Get("/destinations").ExpectStatus(http.StatusOK)
	if page.Doc().Find(`button[data-add="telegram"][disabled]`).Length() != 1 || page.Text("#hint-telegram") != "Set TELEGRAM_BOT_TOKEN to enable." {
		t.Fatalf("Add Telegram chat without a bot: %s", page.Text("main"))
	}
	resp := destPost(t, app, "/destinations/telegram", nil).ExpectStatus(http.StatusServiceUnavailable)
	if !strings.Contains(resp.Text("main"), "The Telegram bot is off or unreachable") {
		t.Fatalf("503 page: %s", resp.Text("main"))
	}
}

// telegramApp runs the app against the fake Bot API in webhook mode.
func telegramApp(t *testing.T) (*testutil.TestApp, *testutil.FakeTelegram) {
	fake := testutil.NewFakeTelegram(t)
	env := fake.Env()
	env["TELEGRAM_WEBHOOK_SECRET"] = "test-secret"
	return oauthApp(t, env), fake
}

// postTelegramUpdate is Telegram calling the app's webhook.
func postTelegramUpdate(t *testing.T, appURL string, u map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, appURL+"/api/webhooks/telegram", bytes.NewReader(testutil.FakeTelegramUpdate(u)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", "test-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("posting the update: %v %v", resp, err)
	}
	resp.Body.Close()
}

var deepLink = regexp.MustCompile(`^https://t\.me/adpilot_test_bot\?start=([A-Za-z0-9_-]{43})$`)

func TestDestinationTelegramLink(t *testing.T) {
	app, fake := telegramApp(t)
	resp := destPost(t, app, "/destinations/telegram", nil).ExpectStatus(http.StatusOK)
	m := deepLink.FindStringSubmatch(resp.Doc().Find("a[data-deep-link]").AttrOr("href", ""))
	if m == nil || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("the waiting page: %s", resp.Body)
	}
	code := m[1]
	if group := resp.Doc().Find("a[data-group-link]").AttrOr("href", ""); group != "https://t.me/adpilot_test_bot?startgroup="+code {
		t.Fatalf("group link %q", group)
	}
	src := resp.Doc().Find("img.qr").AttrOr("src", "")
	png, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(src, "data:image/png;base64,"))
	if !strings.HasPrefix(src, "data:image/png;base64,") || err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatalf("QR code src %.80q (%v)", src, err)
	}
	box := resp.Doc().Find("#telegram-link-status")
	statusPath := box.AttrOr("hx-get", "")
	if box.AttrOr("hx-trigger", "") != "every 2s" || !strings.Contains(resp.Text("main"), "expires in 15 minutes") {
		t.Fatalf("status box: %s", resp.Body)
	}
	st := app.Get(statusPath, "HX-Request", "true").ExpectStatus(http.StatusOK)
	if st.Doc().Find(`#telegram-link-status[data-state="waiting"][hx-trigger]`).Length() != 1 || strings.Contains(st.Body, "<html") {
		t.Fatalf("status while waiting: %s", st.Body)
	}

	postTelegramUpdate(t, app.URL, testutil.FakeTelegramMessageUpdate(0, -100123, "Growth Team", "group", 555, "lead", "/start "+code))
	st = app.Get(statusPath, "HX-Request", "true").ExpectStatus(http.StatusOK)
	if st.Text("#telegram-link-status") == "" || !strings.Contains(st.Text("#telegram-link-status"), "Linked: Growth Team") ||
		st.Doc().Find("[hx-trigger]").Length() != 0 {
		t.Fatalf("status after /start: %s", st.Body)
	}
	if full := app.Get(statusPath).ExpectStatus(http.StatusOK); !strings.Contains(full.Body, "<html") || !strings.Contains(full.Text("main"), "Linked: Growth Team") {
		t.Fatalf("status page without htmx: %s", full.Body)
	}
	_, out := jsonCall(t, app, http.MethodGet, "/api/v1/destinations", "", "")
	list := out["destinations"].([]any)
	if len(list) != 1 {
		t.Fatalf("destinations after linking: %v", list)
	}
	dest := list[0].(map[string]any)
	if cfg := dest["config"].(map[string]any); dest["type"] != "telegram_chat" || cfg["chat_id"] != float64(-100123) || cfg["chat_title"] != "Growth Team" {
		t.Fatalf("the linked destination: %v", dest)
	}
	var tgUser int64
	if err := testutil.QueryRow(t, app, context.Background(), `SELECT telegram_user_id FROM app_user WHERE email = 'owner@example.com'`).Scan(&tgUser); err != nil || tgUser != 555 {
		t.Fatalf("telegram_user_id = %d (%v), want 555", tgUser, err)
	}
	if sent := fake.SentTo(-100123); len(sent) != 1 || !strings.Contains(sent[0].Text, "Linked") {
		t.Fatalf("the bot's replies in the group: %+v", sent)
	}

	// The code works once.
	postTelegramUpdate(t, app.URL, testutil.FakeTelegramMessageUpdate(0, -100999, "Other", "group", 777, "other", "/start "+code))
	if sent := fake.SentTo(-100999); len(sent) != 1 || !strings.Contains(sent[0].Text, "expired or was already used") {
		t.Fatalf("a reused code got: %+v", sent)
	}
	if _, out = jsonCall(t, app, http.MethodGet, "/api/v1/destinations", "", ""); len(out["destinations"].([]any)) != 1 {
		t.Fatalf("a reused code changed the destinations: %v", out)
	}
	if strings.Contains(app.Logs(), code) {
		t.Fatal("the link code appears in the log")
	}

	// An expired code says so, and stops polling.
	resp = destPost(t, app, "/destinations/telegram", nil).ExpectStatus(http.StatusOK)
	statusPath = resp.Doc().Find("#telegram-link-status").AttrOr("hx-get", "")
	linkID := strings.TrimSuffix(strings.TrimPrefix(statusPath, "/destinations/telegram/"), "/status")
	if err := testutil.QueryRow(t, app, context.Background(), `UPDATE telegram_link SET expires_at = now() - interval '1 minute'
		WHERE id = $1 RETURNING id`, linkID).Scan(new(string)); err != nil {
		t.Fatal(err)
	}
	st = app.Get(statusPath, "HX-Request", "true")
	if st.Doc().Find(`#telegram-link-status[data-state="expired"]`).Length() != 1 || !strings.Contains(st.Body, "This link expired") {
		t.Fatalf("expired status: %s", st.Body)
	}
	app.Get("/destinations/telegram/not-a-uuid/status").ExpectStatus(http.StatusNotFound)
}

// The read routes (viewers may use them, so they are not in
// isolationRoutes) answer 404 to another tenant.
func TestDestinationReadsAreTenantScoped(t *testing.T) {
	app := oauthApp(t, nil)
	id, _ := addWebhook(t, app, "Hook A", "http://127.0.0.1:9/", "")
	registerAPI(t, app, "other@example.com", "Other Team")
	other := loginAPI(t, app, `{"email":"other@example.com","password":"`+strongPassword+`"}`)
	call(t, app, http.MethodGet, "/api/v1/destinations/"+id+"/deliveries", "", other).ExpectStatus(http.StatusNotFound)
	if _, out := jsonCall(t, app, http.MethodGet, "/api/v1/destinations", "", other); len(out["destinations"].([]any)) != 0 {
		t.Fatalf("another tenant lists %v", out)
	}
	app.Client.Jar = newJar(t)
	destPost(t, app, "/auth/login", url.Values{"login": {"other@example.com"}, "password": {strongPassword}}).ExpectStatus(http.StatusSeeOther)
	app.Get("/destinations/" + id).ExpectStatus(http.StatusNotFound)
	if strings.Contains(app.Get("/destinations").Body, "Hook A") {
		t.Fatal("another tenant's list shows the destination")
	}
}
