package handlers_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"adpilot/models"
	"adpilot/testutil"
)

const (
	fbVerifyToken   = "fb-verify-token-for-tests"
	ttClientKey     = "tt-client-key"
	ttClientSecret  = "tt-client-secret-for-webhook-tests"
	webhookInterval = 5 * time.Second
)

// webhookApp is the server with a fake Graph API serving leads, Facebook
// and TikTok webhook secrets configured, and (with jobs) the background
// jobs on a fake clock.
type webhookApp struct {
	*testutil.TestApp
	fb    *testutil.FakeFacebookLeads
	clock *clockwork.FakeClock
}

func newWebhookApp(t *testing.T, withJobs bool, env ...string) *webhookApp {
	t.Helper()
	fb := testutil.NewFakeFacebookWithLeads(t)
	opts := []testutil.AppOption{testutil.WithEnv("FACEBOOK_WEBHOOK_VERIFY_TOKEN", fbVerifyToken,
		"TIKTOK_CLIENT_KEY", ttClientKey, "TIKTOK_CLIENT_SECRET", ttClientSecret)}
	for k, v := range fb.Env() {
		opts = append(opts, testutil.WithEnv(k, v))
	}
	opts = append(opts, testutil.WithEnv(env...))
	w := &webhookApp{fb: fb}
	if withJobs {
		w.clock = clockwork.NewFakeClockAt(time.Now())
		opts = append(opts, testutil.WithJobs(w.clock))
	}
	w.TestApp = testutil.NewApp(t, opts...)
	return w
}

func (w *webhookApp) postFacebook(body []byte, signature string) *testutil.Response {
	var headers []string
	if signature != "" {
		headers = []string{"X-Hub-Signature-256", signature}
	}
	return w.Do(http.MethodPost, "/api/webhooks/facebook", bytes.NewReader(body), append(headers, "Content-Type", "application/json")...)
}

func (w *webhookApp) postTikTok(body []byte, signature string) *testutil.Response {
	var headers []string
	if signature != "" {
		headers = []string{"TikTok-Signature", signature}
	}
	return w.Do(http.MethodPost, "/api/webhooks/tiktok", bytes.NewReader(body), append(headers, "Content-Type", "application/json")...)
}

// signTikTok is TikTok's t=…,s=hex(HMAC-SHA256(secret, t + "." + body)),
// computed here independently of the server's code.
func signTikTok(body []byte, at time.Time) string {
	ts := strconv.FormatInt(at.Unix(), 10)
	return "t=" + ts + ",s=" + hmacHex(ttClientSecret, ts+"."+string(body))
}

func (w *webhookApp) count(t *testing.T, where string, args ...any) int {
	t.Helper()
	var n int
	if err := testutil.QueryRow(t, w.TestApp, context.Background(), `SELECT count(*) FROM webhook_event WHERE `+where, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// tenantWithAdmin registers a tenant and returns its admin.
func (w *webhookApp) tenantWithAdmin(t *testing.T, name, email string) models.User {
	t.Helper()
	u, _, err := w.Store.Register(context.Background(), models.Registration{TenantName: name, Email: email, PasswordHash: "x",
		VerifyTokenHash: []byte(email), VerifyEmail: models.Email{Subject: "Verify", Text: "verify"}})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (w *webhookApp) connect(t *testing.T, admin models.User, in models.ConnectionInput) models.Connection {
	t.Helper()
	c, err := w.Store.ConnectAccounts(context.Background(), admin, "", []models.ConnectionInput{in})
	if err != nil {
		t.Fatal(err)
	}
	return c[0]
}

// process moves the fake clock until no event is left received.
func (w *webhookApp) process(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := w.clock.BlockUntilContext(ctx, 3); err != nil {
		t.Fatalf("the jobs never armed their timers: %v", err)
	}
	for w.count(t, `status = 'received'`) > 0 {
		if ctx.Err() != nil {
			t.Fatalf("events still received after 20 s:\n%s", w.Logs())
		}
		w.clock.Advance(webhookInterval)
		time.Sleep(25 * time.Millisecond)
	}
}

func TestFacebookWebhookVerification(t *testing.T) {
	w := newWebhookApp(t, false)
	tests := []struct {
		name, query string
		status      int
	}{
		{"right token", "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=" + fbVerifyToken, http.StatusOK},
		{"wrong token", "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=nope", http.StatusForbidden},
		{"token with a suffix", "hub.mode=subscribe&hub.challenge=1&hub.verify_token=" + fbVerifyToken + "x", http.StatusForbidden},
		{"no token", "hub.mode=subscribe&hub.challenge=1158201444", http.StatusForbidden},
		{"other mode", "hub.mode=unsubscribe&hub.challenge=1158201444&hub.verify_token=" + fbVerifyToken, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := w.With(t).Get("/api/webhooks/facebook?" + tt.query).ExpectStatus(tt.status)
			if tt.status == http.StatusOK && (resp.Body != "1158201444" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain")) {
				t.Fatalf("challenge answer %q (%s)", resp.Body, resp.Header.Get("Content-Type"))
			}
		})
	}
	// No token configured: the check always fails.
	bare := newWebhookApp(t, false, "FACEBOOK_WEBHOOK_VERIFY_TOKEN", "")
	bare.Get("/api/webhooks/facebook?hub.mode=subscribe&hub.challenge=1&hub.verify_token=").ExpectStatus(http.StatusForbidden)
}

func TestFacebookWebhookSignatures(t *testing.T) {
	w := newWebhookApp(t, false)
	lead := testutil.FakeLead{ID: "9001", PageID: "5550001", FormID: "77", AdID: "88"}
	body := testutil.LeadgenDelivery(lead)
	other := testutil.LeadgenDelivery(testutil.FakeLead{ID: "9002", PageID: "5550001", FormID: "77", AdID: "88"})
	tests := []struct {
		name      string
		signature string
		status    int
	}{
		{"missing", "", http.StatusUnauthorized},
		{"wrong secret", "sha256=" + hmacHex("not-the-app-secret", string(body)), http.StatusUnauthorized},
		{"over a different body", w.fb.SignWebhook(other), http.StatusUnauthorized},
		{"garbage", "sha256=xyz", http.StatusUnauthorized},
		{"valid", w.fb.SignWebhook(body), http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			(&webhookApp{TestApp: w.With(t), fb: w.fb}).postFacebook(body, tt.signature).ExpectStatus(tt.status)
		})
	}
	if n := w.count(t, `true`); n != 1 {
		t.Fatalf("%d events stored, want only the validly signed one", n)
	}

	// A signed body that is not a delivery: 400 saying why, nothing stored.
	for _, bad := range []string{`{"object":"page","entry":`, `[1,2]`, `{"object":"page","entry":"x"}`} {
		resp := w.postFacebook([]byte(bad), w.fb.SignWebhook([]byte(bad))).ExpectStatus(http.StatusBadRequest)
		if !strings.Contains(resp.Body, "not a valid event delivery") {
			t.Errorf("malformed body %q: %s", bad, resp.Body)
		}
	}
	// Over the limit: 413 before anything else.
	huge := bytes.Repeat([]byte("a"), 2<<20)
	w.postFacebook(huge, w.fb.SignWebhook(huge)).ExpectStatus(http.StatusRequestEntityTooLarge)
	if n := w.count(t, `true`); n != 1 {
		t.Fatalf("%d events stored after refused deliveries", n)
	}
}

func TestFacebookWebhookBatchAndDuplicates(t *testing.T) {
	w := newWebhookApp(t, false)
	leads := []testutil.FakeLead{
		{ID: "9001", PageID: "5550001", FormID: "77"}, {ID: "9002", PageID: "5550001", FormID: "77"}, {ID: "9003", PageID: "5550009", FormID: "78"},
	}
	body := testutil.LeadgenDelivery(leads...)
	resp := w.postFacebook(body, w.fb.SignWebhook(body)).ExpectStatus(http.StatusOK)
	if !strings.Contains(resp.Body, `"received":3`) || !strings.Contains(resp.Body, `"new":3`) {
		t.Fatalf("batch answer: %s", resp.Body)
	}
	if n := w.count(t, `event_type = 'facebook.leadgen'`); n != 3 {
		t.Fatalf("a batch of 3 changes stored %d events", n)
	}
	// Facebook delivers it again (and once more with one lead added): each lead is stored once.
	w.postFacebook(body, w.fb.SignWebhook(body)).ExpectStatus(http.StatusOK)
	more := testutil.LeadgenDelivery(append(leads, testutil.FakeLead{ID: "9004", PageID: "5550001"})...)
	resp = w.postFacebook(more, w.fb.SignWebhook(more)).ExpectStatus(http.StatusOK)
	if !strings.Contains(resp.Body, `"new":1`) {
		t.Fatalf("redelivery answer: %s", resp.Body)
	}
	if n := w.count(t, `true`); n != 4 {
		t.Fatalf("%d events after duplicate deliveries, want 4", n)
	}
	if n := w.count(t, `dedupe_key = 'leadgen:9001'`); n != 1 {
		t.Fatalf("lead 9001 stored %d times", n)
	}
}

func TestTikTokWebhookSignatures(t *testing.T) {
	w := newWebhookApp(t, false)
	body := []byte(`{"client_key":"` + ttClientKey + `","event":"post.publish.complete","create_time":` +
		strconv.FormatInt(time.Now().Unix(), 10) + `,"user_openid":"open-1","content":"{\"publish_id\":\"v_pub_1\",\"publish_type\":\"DIRECT_PUBLISH\"}"}`)
	now := time.Now()
	tests := []struct {
		name      string
		signature string
		status    int
	}{
		{"missing", "", http.StatusUnauthorized},
		{"wrong secret", "t=" + strconv.FormatInt(now.Unix(), 10) + ",s=" + hmacHex("other", strconv.FormatInt(now.Unix(), 10)+"."+string(body)), http.StatusUnauthorized},
		{"over a different body", signTikTok([]byte(`{"event":"x"}`), now), http.StatusUnauthorized},
		{"stale", signTikTok(body, now.Add(-6*time.Minute)), http.StatusUnauthorized},
		{"from the future", signTikTok(body, now.Add(3*time.Minute)), http.StatusUnauthorized},
		{"valid", signTikTok(body, now), http.StatusOK},
		{"valid again (a retry)", signTikTok(body, now.Add(-time.Minute)), http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := (&webhookApp{TestApp: w.With(t), fb: w.fb}).postTikTok(body, tt.signature).ExpectStatus(tt.status)
			if tt.name == "stale" && !strings.Contains(resp.Body, "accepted window") {
				t.Errorf("stale answer: %s", resp.Body)
			}
		})
	}
	if n := w.count(t, `platform = 'tiktok' AND event_type = 'tiktok.post.publish.complete'`); n != 1 {
		t.Fatalf("%d TikTok events stored, want 1", n)
	}
	bad := []byte(`{"event":"post.publish.complete","content":{"publish_id":1}}`)
	resp := w.postTikTok(bad, signTikTok(bad, now)).ExpectStatus(http.StatusBadRequest)
	if !strings.Contains(resp.Body, "content") {
		t.Fatalf("malformed answer: %s", resp.Body)
	}
}

func TestWebhooksOffWithoutSecrets(t *testing.T) {
	w := newWebhookApp(t, false, "FB_APP_ID", "", "FB_APP_SECRET", "", "TIKTOK_CLIENT_KEY", "", "TIKTOK_CLIENT_SECRET", "")
	body := []byte(`{"object":"page","entry":[]}`)
	w.postFacebook(body, "sha256="+hmacHex("", string(body))).ExpectStatus(http.StatusServiceUnavailable)
	w.postTikTok(body, "t=1,s=00").ExpectStatus(http.StatusServiceUnavailable)
}

// TestLeadgenEndToEnd: a signed leadgen delivery is stored, the job fetches
// the lead with each connected Page's token and records it for every tenant
// whose Page it is; a lead of an unknown Page is kept as unmatched.
func TestLeadgenEndToEnd(t *testing.T) {
	w := newWebhookApp(t, true)
	page := w.fb.Pages()[0]
	acme := w.tenantWithAdmin(t, "Acme", "ann@acme.test")
	globex := w.tenantWithAdmin(t, "Globex", "bob@globex.test")
	other := w.tenantWithAdmin(t, "Initech", "iris@initech.test")
	pageIn := models.ConnectionInput{Platform: "facebook", Kind: "page", AccountRef: page.ID, AccountName: page.Name, AccessToken: page.Token}
	acmePage := w.connect(t, acme, pageIn)
	w.connect(t, globex, pageIn)
	w.connect(t, other, models.ConnectionInput{Platform: "facebook", Kind: "ad_account", AccountRef: "act_111", AccountName: "Ads", AccessToken: "EAAF-user"})
	// Acme forwards leads of this Page's form 77; Globex only form 78.
	for _, q := range []struct{ tenant, config string }{
		{acme.TenantID, `{"trigger":"event","event":"facebook.leadgen","filters":{"page_id":"` + page.ID + `","form_id":"77"}}`},
		{globex.TenantID, `{"trigger":"event","event":"facebook.leadgen","filters":{"form_id":"78"}}`},
	} {
		if err := testutil.QueryRow(t, w.TestApp, context.Background(), `INSERT INTO automation (tenant_id, name, type, automation_config)
			VALUES ($1, 'Leads', 'alert', $2) RETURNING id`, q.tenant, q.config).Scan(new(string)); err != nil {
			t.Fatal(err)
		}
	}
	lead := testutil.FakeLead{ID: "7001", PageID: page.ID, FormID: "77", AdID: "88",
		Fields: []testutil.FakeLeadField{{Name: "full_name", Values: []string{"Jane Doe"}}, {Name: "email", Values: []string{"jane@example.com"}}}}
	w.fb.AddLead(lead)
	stray := testutil.FakeLead{ID: "7002", PageID: "9999999", FormID: "1"}
	body := testutil.LeadgenDelivery(lead, stray)
	w.postFacebook(body, w.fb.SignWebhook(body)).ExpectStatus(http.StatusOK)
	// Stored before the answer, before any processing.
	if n := w.count(t, `status = 'received'`); n != 2 {
		t.Fatalf("%d received events after the 200, want 2", n)
	}

	w.process(t)

	reads := w.fb.LeadReads(lead.ID)
	if len(reads) != 2 {
		t.Fatalf("the lead was read %d times, want once per tenant's Page connection", len(reads))
	}
	for _, r := range reads {
		if r.Form.Get("access_token") != page.Token || !strings.Contains(r.Form.Get("fields"), "field_data") {
			t.Fatalf("lead read without the Page token or field_data: %v", r.Form)
		}
	}
	var status, leadEvent string
	if err := testutil.QueryRow(t, w.TestApp, context.Background(), `SELECT status, id FROM webhook_event WHERE dedupe_key = 'leadgen:7001'`).
		Scan(&status, &leadEvent); err != nil || status != "processed" {
		t.Fatalf("lead event status %q, %v", status, err)
	}
	if n := w.count(t, `dedupe_key = 'leadgen:7002' AND status = 'unmatched'`); n != 1 {
		t.Fatal("the unknown Page's lead is not unmatched")
	}

	// Each tenant has its own record with the lead; only Acme's automation matched.
	ev, err := w.Store.GetWebhookEvent(context.Background(), acme.TenantID, leadEvent)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Match.Status != "processed" || ev.Match.ConnectionID != acmePage.ID || !strings.Contains(string(ev.Match.Data), "jane@example.com") ||
		len(ev.Match.AutomationIDs) != 1 {
		t.Fatalf("Acme's record: %+v (data %s)", ev.Match, ev.Match.Data)
	}
	gev, err := w.Store.GetWebhookEvent(context.Background(), globex.TenantID, leadEvent)
	if err != nil || gev.Match.Status != "processed" || len(gev.Match.AutomationIDs) != 0 {
		t.Fatalf("Globex's record: %+v, %v", gev.Match, err)
	}
	if _, err := w.Store.GetWebhookEvent(context.Background(), other.TenantID, leadEvent); err == nil {
		t.Fatal("a tenant without the Page sees its lead")
	}
	if strings.Contains(w.Logs(), "jane@example.com") || strings.Contains(w.Logs(), page.Token) {
		t.Fatal("the lead or the Page token was logged")
	}
}

// TestTikTokAuthorizationRemoved: the connection turns invalid with TikTok's
// reason and the tenant's admin is emailed.
func TestTikTokAuthorizationRemoved(t *testing.T) {
	w := newWebhookApp(t, true)
	admin := w.tenantWithAdmin(t, "Acme", "ann@acme.test")
	c := w.connect(t, admin, models.ConnectionInput{Platform: "tiktok", Kind: "creator", AccountRef: "open-42", AccountName: "Creator",
		AccessToken: "act.tt-token", RefreshToken: "rft.tt-refresh", PlatformUserID: "open-42", ExpiresAt: time.Now().Add(time.Hour)})
	body := []byte(`{"client_key":"` + ttClientKey + `","event":"authorization.removed","create_time":` +
		strconv.FormatInt(time.Now().Unix(), 10) + `,"user_openid":"open-42","content":"{\"reason\": 1 }"}`)
	w.postTikTok(body, signTikTok(body, time.Now())).ExpectStatus(http.StatusOK)
	w.postTikTok(body, signTikTok(body, time.Now())).ExpectStatus(http.StatusOK) // TikTok retries
	w.process(t)

	got, err := w.Store.GetConnection(context.Background(), admin.TenantID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.IsValid || !strings.Contains(got.InvalidReason, "disconnected adpilot in the TikTok app") {
		t.Fatalf("connection after authorization.removed: valid=%v reason=%q", got.IsValid, got.InvalidReason)
	}
	var mails int
	if err := testutil.QueryRow(t, w.TestApp, context.Background(), `SELECT count(*) FROM email_outbox
		WHERE to_address = 'ann@acme.test' AND subject <> 'Verify'`).Scan(&mails); err != nil || mails != 1 {
		t.Fatalf("%d notices to the admin, want 1 (%v)", mails, err)
	}
	if n := w.count(t, `platform = 'tiktok' AND status = 'processed'`); n != 1 {
		t.Fatalf("%d processed TikTok events, want the one (stored once)", n)
	}
}

func hmacHex(key, msg string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}
