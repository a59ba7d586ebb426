package handlers_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"adpilot/handlers"
	"adpilot/models"
	"adpilot/testutil"
)

// leadApp is a running app (jobs on the real clock) with the fake Graph
// API serving leads, and a team that connected the fake's first Page.
type leadApp struct {
	*testutil.TestApp
	fb    *testutil.FakeFacebookLeads
	token string
	page  testutil.FakePage
}

func newLeadApp(t *testing.T, env ...string) *leadApp {
	t.Helper()
	fb := testutil.NewFakeFacebookWithLeads(t)
	var kv []string
	for k, v := range fb.Env() {
		kv = append(kv, k, v)
	}
	app := testutil.NewApp(t, testutil.WithJobs(clockwork.NewRealClock()),
		testutil.WithEnv(append(append(kv, "WEBHOOK_PROCESS_INTERVAL", "1s"), env...)...))
	registerAPI(t, app, "owner@leads.test", "Lead Team")
	token := loginAPI(t, app, `{"email":"owner@leads.test","password":"`+strongPassword+`"}`)
	ctx := context.Background()
	var tenantID, userID string
	if err := testutil.QueryRow(t, app, ctx, `SELECT tenant_id, id FROM app_user WHERE email = 'owner@leads.test'`).Scan(&tenantID, &userID); err != nil {
		t.Fatal(err)
	}
	owner, err := app.Store.GetUser(ctx, tenantID, userID)
	if err != nil {
		t.Fatal(err)
	}
	page := fb.Pages()[0]
	if _, err := app.Store.ConnectAccounts(ctx, owner, "", []models.ConnectionInput{{Platform: "facebook", Kind: "page",
		AccountRef: page.ID, AccountName: page.Name, AccessToken: page.Token}}); err != nil {
		t.Fatal(err)
	}
	return &leadApp{TestApp: app, fb: fb, token: token, page: page}
}

// postLead has Facebook deliver a signed leadgen event for leads.
func (a *leadApp) postLead(t *testing.T, leads ...testutil.FakeLead) {
	t.Helper()
	body := testutil.LeadgenDelivery(leads...)
	a.Do(http.MethodPost, "/api/webhooks/facebook", strings.NewReader(string(body)),
		"X-Hub-Signature-256", a.fb.SignWebhook(body), "Content-Type", "application/json").ExpectStatus(http.StatusOK)
}

// waitProcessed waits until no event is left to process.
func (a *leadApp) waitProcessed(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var n int
		if err := testutil.QueryRow(t, a.TestApp, context.Background(), `SELECT count(*) FROM webhook_event WHERE status = 'received'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events still unprocessed", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestEventsPages(t *testing.T) {
	a := newLeadApp(t)
	resp, auto := jsonCall(t, a.TestApp, http.MethodPost, "/api/v1/automations", `{"name":"Lead forward","type":"alert",
		"config":{"trigger":"event","event":"facebook.leadgen","filters":{"page_id":"`+a.page.ID+`"}}}`, a.token)
	resp.ExpectStatus(http.StatusCreated)
	lead := testutil.FakeLead{ID: "5005", PageID: a.page.ID, FormID: "77",
		Fields: []testutil.FakeLeadField{{Name: "email", Values: []string{"lead@example.com"}}}}
	a.fb.AddLead(lead)
	a.postLead(t, lead, testutil.FakeLead{ID: "5006", PageID: "not-ours", FormID: "1"})
	a.waitProcessed(t)

	signInBrowser(t, a.TestApp, "owner@leads.test")
	list := a.Get("/events").ExpectStatus(http.StatusOK)
	rows := list.Doc().Find("tr[data-event]")
	if rows.Length() != 1 || rows.AttrOr("data-status", "") != "processed" || !strings.Contains(rows.Text(), "facebook.leadgen") {
		t.Fatalf("the tenant's events: %s", list.Text("#event-results"))
	}
	id := rows.AttrOr("data-event", "")
	page := a.Get("/events/" + id).ExpectStatus(http.StatusOK)
	if !strings.Contains(page.Text("[data-payload]"), `"leadgen_id": "5005"`) || !strings.Contains(page.Text("[data-fetched]"), "lead@example.com") {
		t.Fatalf("the event page: %s", page.Text("main"))
	}
	runLink := page.Doc().Find(".event-runs li")
	if runLink.Length() != 1 || !strings.Contains(runLink.Text(), "Lead forward") {
		t.Fatalf("the automations it set off: %s", page.Text(".event-runs"))
	}
	run := a.Get("/runs/" + runLink.AttrOr("data-run", "")).ExpectStatus(http.StatusOK)
	if !strings.Contains(run.Text("#run-detail"), "event") || run.Doc().Find(`#run-detail[data-status=completed]`).Length() != 1 {
		t.Fatalf("the event run: %s", run.Text("#run-detail"))
	}
	_, runs := jsonCall(t, a.TestApp, http.MethodGet, "/api/v1/automations/"+auto["id"].(string)+"/runs", "", a.token)
	if list := runs["runs"].([]any); len(list) != 1 || list[0].(map[string]any)["trigger"] != "event" {
		t.Fatalf("the automation's runs: %v", list)
	}
	// The filter keeps to the URL; a nonsense filter shows everything.
	if n := a.Get("/events?status=failed").Doc().Find("tr[data-event]").Length(); n != 0 {
		t.Fatalf("%d failed events listed", n)
	}
	a.Get("/events?status=%00&type=%ff").ExpectStatus(http.StatusOK)

	// The operator (the instance's first user) sees the unmatched one too,
	// and who each event concerns, but not the fetched lead.
	all := a.Get("/admin/events").ExpectStatus(http.StatusOK)
	if all.Doc().Find(`tr[data-status=unmatched]`).Length() != 1 || all.Doc().Find("tr[data-event]").Length() != 2 {
		t.Fatalf("the operator's events: %s", all.Text("#event-results"))
	}
	op := a.Get("/admin/events/" + id).ExpectStatus(http.StatusOK)
	if strings.Contains(op.Body, "lead@example.com") || op.Doc().Find("[data-fetched]").Length() != 0 {
		t.Fatal("the operator's view shows the tenant's lead")
	}

	// Another team sees none of it; a tenant admin is not an operator.
	registerAPI(t, a.TestApp, "other@else.test", "Else")
	signInBrowser(t, a.TestApp, "other@else.test")
	a.Get("/events/" + id).ExpectStatus(http.StatusNotFound)
	if n := a.Get("/events").Doc().Find("tr[data-event]").Length(); n != 0 {
		t.Fatalf("another team lists %d events", n)
	}
	a.Get("/admin/events").ExpectStatus(http.StatusForbidden)
}

func TestEventPayloadMasksSecrets(t *testing.T) {
	got := handlers.PrettySafe([]byte(`{"access_token":"abc","nested":{"client_secret":"s","list":["EAABwzLixnjYBAKZCZBZAxyz1234567890abcdef"]},
		"message":"hello","Authorization":"Bearer zzsecret","code":"oauth-code-1","private_key":"pk",
		"link":"https://x.test/?access_token=EAABwzLixnjYBAKZCZBZAxyz1234567890abcdef&a=1","note":"Bearer act.1234567890abcdefghijklmnopqrstuv"}`))
	for _, leak := range []string{"abc", `"s"`, "EAABwz", "zzsecret", "oauth-code-1", `"pk"`, "act.123"} {
		if strings.Contains(got, leak) {
			t.Errorf("the masked payload still shows %s:\n%s", leak, got)
		}
	}
	if !strings.Contains(got, "hello") || !strings.Contains(got, "https://x.test/?access_token=") {
		t.Fatalf("masked payload:\n%s", got)
	}
}
