package jobs_test

import (
	"context"
	"database/sql"
	"log/slog"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"adpilot/config"
	"adpilot/jobs"
	"adpilot/models"
	"adpilot/testutil"
	"adpilot/webhooks"
)

// webhookFixture is one replica's jobs on a fake clock, a fake Graph API
// with leads, and a tenant with the fake's Page connected.
type webhookFixture struct {
	clock *clockwork.FakeClock
	store *models.Store
	db    *sql.DB
	fb    *testutil.FakeFacebookLeads
	admin models.User
	page  models.Connection
	logs  *testutil.LogBuffer
}

func newWebhookFixture(t *testing.T) *webhookFixture {
	t.Helper()
	f := &webhookFixture{fb: testutil.NewFakeFacebookWithLeads(t), logs: &testutil.LogBuffer{}, clock: clockwork.NewFakeClockAt(time.Now())}
	store, dbURL := testutil.NewStore(t)
	f.store = store
	vars := map[string]string{"ENV": "test", "DATABASE_URL": dbURL, "WEBHOOK_PROCESS_INTERVAL": "5s"}
	maps.Copy(vars, f.fb.Env())
	cfg, err := config.FromMap(vars, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := newScheduler(t, cfg, store, slog.New(slog.NewTextHandler(f.logs, nil)), jobs.WithClock(f.clock))
	if err != nil {
		t.Fatal(err)
	}
	if f.db, err = sql.Open("postgres", dbURL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.db.Close() })
	var tenant, user string
	if err := f.db.QueryRow(`INSERT INTO tenant (name, slug) VALUES ('Acme', 'acme') RETURNING id`).Scan(&tenant); err != nil {
		t.Fatal(err)
	}
	if err := f.db.QueryRow(`INSERT INTO app_user (tenant_id, email, role) VALUES ($1, 'boss@acme.test', 'admin') RETURNING id`, tenant).Scan(&user); err != nil {
		t.Fatal(err)
	}
	if f.admin, err = store.GetUser(context.Background(), tenant, user); err != nil {
		t.Fatal(err)
	}
	p := f.fb.Pages()[0]
	c, err := store.ConnectAccounts(context.Background(), f.admin, "", []models.ConnectionInput{{Platform: "facebook", Kind: "page",
		AccountRef: p.ID, AccountName: p.Name, AccessToken: p.Token}})
	if err != nil {
		t.Fatal(err)
	}
	f.page = c[0]
	s.Start()
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return f
}

// deliver stores a leadgen delivery as the handler does.
func (f *webhookFixture) deliver(t *testing.T, leads ...testutil.FakeLead) {
	t.Helper()
	evs, err := webhooks.ParseFacebook(testutil.LeadgenDelivery(leads...))
	if err != nil {
		t.Fatal(err)
	}
	var in []models.WebhookEventInput
	for _, e := range evs {
		in = append(in, models.WebhookEventInput{Platform: e.Platform, Type: e.Type, DedupeKey: e.DedupeKey, ObjectID: e.ObjectID, Payload: e.Payload})
	}
	if _, err := f.store.InsertWebhookEvents(context.Background(), in); err != nil {
		t.Fatal(err)
	}
}

// runUntil moves the clock one interval at a time until cond holds.
func (f *webhookFixture) runUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := f.clock.BlockUntilContext(ctx, 3); err != nil {
		t.Fatalf("timers never armed: %v", err)
	}
	for !cond() {
		if ctx.Err() != nil {
			t.Fatalf("%s did not happen:\n%s", what, f.logs.String())
		}
		f.clock.Advance(5 * time.Second)
		time.Sleep(20 * time.Millisecond)
	}
}

func (f *webhookFixture) event(t *testing.T, key string) (status, lastError string, attempts int, retryIn time.Duration) {
	t.Helper()
	var secs float64
	if err := f.db.QueryRow(`SELECT status, last_error, attempts, extract(epoch FROM next_attempt_at - now())
		FROM webhook_event WHERE dedupe_key = $1`, key).Scan(&status, &lastError, &attempts, &secs); err != nil {
		t.Fatal(err)
	}
	return status, lastError, attempts, time.Duration(secs * float64(time.Second))
}

func TestWebhookProcessingRetriesThenFails(t *testing.T) {
	f := newWebhookFixture(t)
	lead := testutil.FakeLead{ID: "5001", PageID: f.page.AccountRef, FormID: "77"}
	f.fb.AddLead(lead)
	// Facebook throttles the lead read and asks for an hour's wait.
	throttle := testutil.FakeFailure{Path: "/5001", Times: 1, Status: 400, Body: testutil.FakeGraphError(32, 0, "Page request limit reached"),
		Headers: map[string]string{"Retry-After": "3600"}}
	f.fb.Fail(throttle)
	f.deliver(t, lead)
	f.runUntil(t, "a failed first attempt", func() bool { _, e, _, _ := f.event(t, "leadgen:5001"); return e != "" })
	status, lastErr, attempts, retryIn := f.event(t, "leadgen:5001")
	if status != "received" || attempts != 1 || !strings.Contains(lastErr, "limit") || retryIn < 55*time.Minute {
		t.Fatalf("after a throttled attempt: %s, attempt %d, error %q, retry in %v (want received, retried after the hour asked)",
			status, attempts, lastErr, retryIn)
	}

	// The last try fails too: the event fails for good, error kept, never claimed again.
	if _, err := f.db.Exec(`UPDATE webhook_event SET attempts = 9, next_attempt_at = now() WHERE dedupe_key = 'leadgen:5001'`); err != nil {
		t.Fatal(err)
	}
	f.fb.Fail(throttle)
	f.runUntil(t, "the final failure", func() bool { s, _, _, _ := f.event(t, "leadgen:5001"); return s != "received" })
	status, lastErr, attempts, _ = f.event(t, "leadgen:5001")
	if status != "failed" || attempts != 10 || !strings.Contains(lastErr, "limit") {
		t.Fatalf("after the last try: %s, attempt %d, error %q", status, attempts, lastErr)
	}
	var match string
	if err := f.db.QueryRow(`SELECT m.status FROM webhook_event_match m JOIN webhook_event e ON e.id = m.event_id
		WHERE e.dedupe_key = 'leadgen:5001'`).Scan(&match); err != nil || match != "failed" {
		t.Fatalf("the tenant's match is %q (%v), want failed", match, err)
	}
	if n := len(f.fb.LeadReads("5001")); n != 2 {
		t.Fatalf("the lead was read %d times, want 2 (one per attempt)", n)
	}
}

func TestWebhookTransientFailureThenSuccess(t *testing.T) {
	f := newWebhookFixture(t)
	lead := testutil.FakeLead{ID: "5002", PageID: f.page.AccountRef, FormID: "77",
		Fields: []testutil.FakeLeadField{{Name: "email", Values: []string{"lead@example.com"}}}}
	f.fb.AddLead(lead)
	f.fb.Fail(testutil.FakeFailure{Path: "/5002", Times: 1, Status: 400, Body: testutil.FakeGraphError(32, 0, "Page request limit reached"),
		Headers: map[string]string{"Retry-After": "3600"}})
	f.deliver(t, lead)
	f.runUntil(t, "a failed first attempt", func() bool { _, e, _, _ := f.event(t, "leadgen:5002"); return e != "" })
	if _, err := f.db.Exec(`UPDATE webhook_event SET next_attempt_at = now() WHERE dedupe_key = 'leadgen:5002'`); err != nil {
		t.Fatal(err)
	}
	f.runUntil(t, "the retry", func() bool { s, _, _, _ := f.event(t, "leadgen:5002"); return s == "processed" })
	var data string
	if err := f.db.QueryRow(`SELECT m.data::text FROM webhook_event_match m JOIN webhook_event e ON e.id = m.event_id
		WHERE e.dedupe_key = 'leadgen:5002' AND m.tenant_id = $1`, f.admin.TenantID).Scan(&data); err != nil || !strings.Contains(data, "lead@example.com") {
		t.Fatalf("the tenant's lead: %s, %v", data, err)
	}
}

func TestWebhookPageTokenRefusedFailsAtOnce(t *testing.T) {
	f := newWebhookFixture(t)
	lead := testutil.FakeLead{ID: "5003", PageID: f.page.AccountRef}
	f.fb.AddLead(lead)
	f.fb.InvalidateAllTokens()
	f.deliver(t, lead)
	f.runUntil(t, "the failure", func() bool { s, _, _, _ := f.event(t, "leadgen:5003"); return s != "received" })
	status, lastErr, attempts, _ := f.event(t, "leadgen:5003")
	if status != "failed" || attempts != 1 || !strings.Contains(lastErr, "reconnect") {
		t.Fatalf("a refused Page token: %s after %d attempts, %q (want failed at once)", status, attempts, lastErr)
	}
	c, err := f.store.GetConnection(context.Background(), f.admin.TenantID, f.page.ID)
	if err != nil || c.IsValid {
		t.Fatalf("the Page connection is still valid (%v)", err)
	}
}

func TestCleanupDeletesWebhookEventsPastRetention(t *testing.T) {
	store, dbURL := testutil.NewStore(t)
	db, err := sql.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`INSERT INTO webhook_event (platform, event_type, dedupe_key, payload, received_at, status, processed_at) VALUES
		('facebook', 'facebook.feed', 'old', '{}', now() - interval '31 days', 'unmatched', now() - interval '31 days'),
		('facebook', 'facebook.feed', 'recent', '{}', now() - interval '29 days', 'unmatched', now() - interval '29 days')`); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.FromMap(map[string]string{"ENV": "test", "DATABASE_URL": dbURL, "CLEANUP_INTERVAL": "1h"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	logs := &testutil.LogBuffer{}
	clock := clockwork.NewFakeClockAt(time.Now())
	s, err := newScheduler(t, cfg, store, slog.New(slog.NewTextHandler(logs, nil)), jobs.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := clock.BlockUntilContext(ctx, 3); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour + time.Second)
	for !strings.Contains(logs.String(), "cleanup done") {
		if ctx.Err() != nil {
			t.Fatalf("cleanup did not run:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	var keys string
	if err := db.QueryRow(`SELECT string_agg(dedupe_key, ',') FROM webhook_event`).Scan(&keys); err != nil || keys != "recent" {
		t.Fatalf("events left: %q (%v); want only the one inside WEBHOOK_EVENT_RETENTION (30 days)", keys, err)
	}
	if !strings.Contains(logs.String(), "webhook_events_deleted=1") {
		t.Fatalf("cleanup log: %s", logs.String())
	}
}
