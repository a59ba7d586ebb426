package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"adpilot/models"
	"adpilot/testutil"
)

// TestLeadReachesTelegramEmailAndWebhook: a signed leadgen event for a
// connected Page sets off the tenant's three lead-forwarding automations;
// the lead, fetched with the Page token, arrives as a readable list in the
// fake Telegram and in the outbox, and as JSON at the webhook sink. The
// event retried by Facebook runs nothing twice.
func TestLeadReachesTelegramEmailAndWebhook(t *testing.T) {
	fb := testutil.NewFakeFacebookWithLeads(t)
	tg := testutil.NewFakeTelegram(t)
	var kv []string
	for k, v := range fb.Env() {
		kv = append(kv, k, v)
	}
	for k, v := range tg.Env() {
		kv = append(kv, k, v)
	}
	app := testutil.NewApp(t, testutil.WithJobs(clockwork.NewRealClock()),
		testutil.WithEnv(append(kv, "TELEGRAM_WEBHOOK_SECRET", "test-secret", "WEBHOOK_PROCESS_INTERVAL", "1s")...))
	ctx := context.Background()
	admin, _, err := app.Store.Register(ctx, models.Registration{TenantName: "Leads Co", Email: "sales@leads.test", PasswordHash: "x",
		VerifyTokenHash: []byte("v"), VerifyEmail: models.Email{Subject: "Verify", Text: "verify"}})
	if err != nil {
		t.Fatal(err)
	}
	page := fb.Pages()[0]
	if _, err := app.Store.ConnectAccounts(ctx, admin, "", []models.ConnectionInput{{Platform: "facebook", Kind: "page",
		AccountRef: page.ID, AccountName: page.Name, AccessToken: page.Token}}); err != nil {
		t.Fatal(err)
	}
	recv := testutil.NewWebhookReceiver(t, "")
	dests := map[string]models.DestinationInput{
		"telegram": {Name: "Sales chat", Type: models.DestinationTelegram, Config: models.TelegramConfig{ChatID: 4242, ChatTitle: "Sales", ChatType: "group"}},
		"email":    {Name: "Sales list", Type: models.DestinationEmail, Config: models.EmailConfig{Addresses: []string{"team@leads.test"}}},
		"webhook": {Name: "CRM", Type: models.DestinationWebhook, Config: models.WebhookConfig{URL: recv.URL},
			Secrets: &models.WebhookSecrets{SigningSecret: "whsec_leads"}},
	}
	recv.SetSecret("whsec_leads")
	for name, in := range dests {
		d, err := app.Store.CreateDestination(ctx, admin, in, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := app.Store.CreateAutomation(ctx, admin, models.AutomationInput{Name: "Leads to " + name, Type: "alert",
			Status: models.AutomationActive, DestinationID: d.ID, Schedule: json.RawMessage(`{}`),
			Config: json.RawMessage(`{"trigger":"event","event":"facebook.leadgen","filters":{"page_id":"` + page.ID + `"}}`)}, ""); err != nil {
			t.Fatal(err)
		}
	}
	lead := testutil.FakeLead{ID: "9001", PageID: page.ID, FormID: "77", AdID: "88",
		Fields: []testutil.FakeLeadField{{Name: "full_name", Values: []string{"Jane Doe"}}, {Name: "phone_number", Values: []string{"+49 30 1234"}}}}
	fb.AddLead(lead)
	body := testutil.LeadgenDelivery(lead)
	for range 2 { // Facebook delivers again: stored and run once
		app.Do(http.MethodPost, "/api/webhooks/facebook", strings.NewReader(string(body)),
			"X-Hub-Signature-256", fb.SignWebhook(body), "Content-Type", "application/json").ExpectStatus(http.StatusOK)
	}

	got := recv.WaitFor(1, 20*time.Second)
	if len(got) != 1 || !got[0].SignatureValid {
		t.Fatalf("the CRM webhook received %+v", got)
	}
	var payload struct {
		Event string `json:"event"`
		Data  struct {
			Lead struct {
				ID     string            `json:"id"`
				FormID string            `json:"form_id"`
				Fields map[string]string `json:"fields"`
			} `json:"lead"`
		} `json:"data"`
	}
	if err := json.Unmarshal(got[0].Body, &payload); err != nil || payload.Data.Lead.ID != "9001" || payload.Data.Lead.FormID != "77" ||
		payload.Data.Lead.Fields["full_name"] != "Jane Doe" {
		t.Fatalf("webhook body %s (%v)", got[0].Body, err)
	}
	deadline := time.Now().Add(20 * time.Second)
	var text string
	for time.Now().Before(deadline) && text == "" {
		for _, m := range tg.SentTo(4242) {
			text = m.Text
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(text, "<b>Full name:</b> Jane Doe") || !strings.Contains(text, "<b>Phone number:</b> +49 30 1234") {
		t.Fatalf("Telegram got %q", text)
	}
	mail := testutil.EmailAbout(t, app.Store, "team@leads.test", "new lead")
	if !strings.Contains(mail.Text, "Full name: Jane Doe") {
		t.Fatalf("the email says %q", mail.Text)
	}
	var runs, events int
	if err := testutil.QueryRow(t, app, ctx, `SELECT (SELECT count(*) FROM automation_run WHERE trigger = 'event' AND status = 'completed'),
		(SELECT count(*) FROM webhook_event)`).Scan(&runs, &events); err != nil || runs != 3 || events != 1 {
		t.Fatalf("%d event runs and %d events (%v), want 3 and 1", runs, events, err)
	}
	time.Sleep(1500 * time.Millisecond) // a processing round more: nothing new is sent
	if n := len(recv.Requests()); n != 1 {
		t.Fatalf("the webhook received the lead %d times", n)
	}
}
