package models_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"adpilot/models"
)

func leadEvent(id string) models.WebhookEventInput {
	return models.WebhookEventInput{Platform: "facebook", Type: "facebook.leadgen", DedupeKey: "leadgen:" + id, ObjectID: "5550001",
		OccurredAt: time.Unix(1700000000, 0), Payload: []byte(`{"field":"leadgen","value":{"leadgen_id":"` + id + `"}}`)}
}

func TestWebhookEventsAreStoredOnce(t *testing.T) {
	store, _, _ := connectionFixture(t)
	ctx := context.Background()
	n, err := store.InsertWebhookEvents(ctx, []models.WebhookEventInput{leadEvent("1"), leadEvent("2"), leadEvent("1")})
	if err != nil || n != 2 {
		t.Fatalf("first delivery: %d new, %v; want 2 (a key repeated in a batch is stored once)", n, err)
	}
	n, err = store.InsertWebhookEvents(ctx, []models.WebhookEventInput{leadEvent("2"), leadEvent("3")})
	if err != nil || n != 1 {
		t.Fatalf("retried delivery: %d new, %v; want 1", n, err)
	}
	// The same key on the other platform is another event.
	tt := leadEvent("1")
	tt.Platform = "tiktok"
	if n, err := store.InsertWebhookEvents(ctx, []models.WebhookEventInput{tt}); err != nil || n != 1 {
		t.Fatalf("same key, other platform: %d new, %v", n, err)
	}
	all, total, err := store.ListAllWebhookEvents(ctx, models.WebhookEventFilter{Platform: "facebook"})
	if err != nil || total != 3 || len(all) != 3 {
		t.Fatalf("operator list: %d of %d, %v", len(all), total, err)
	}
	if all[0].Status != models.WebhookReceived || all[0].OccurredAt == nil || !all[0].OccurredAt.Equal(time.Unix(1700000000, 0)) {
		t.Fatalf("stored event = %+v", all[0])
	}
}

func TestWebhookEventClaimRetryAndFailure(t *testing.T) {
	store, _, admin := connectionFixture(t)
	ctx := context.Background()
	if _, err := store.InsertWebhookEvents(ctx, []models.WebhookEventInput{leadEvent("1")}); err != nil {
		t.Fatal(err)
	}
	// Two replicas claim at once: the event goes to one of them.
	var mu sync.Mutex
	var claimed []models.WebhookEvent
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			evs, err := store.ClaimWebhookEvents(ctx, 10, time.Minute)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			claimed = append(claimed, evs...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(claimed) != 1 || claimed[0].Attempts != 1 {
		t.Fatalf("claimed %d times (%+v), want once with attempt 1", len(claimed), claimed)
	}
	ev := claimed[0]
	if again, _ := store.ClaimWebhookEvents(ctx, 10, time.Minute); len(again) != 0 {
		t.Fatal("a leased event was claimed again")
	}
	// A failed attempt waits for its retry, then comes back.
	if err := store.RetryWebhookEvent(ctx, ev, "graph down", 0); err != nil {
		t.Fatal(err)
	}
	retry, err := store.ClaimWebhookEvents(ctx, 10, time.Minute)
	if err != nil || len(retry) != 1 || retry[0].Attempts != 2 || retry[0].LastError != "graph down" {
		t.Fatalf("retry claim = %+v, %v", retry, err)
	}
	// The first claim lost its lease: it can no longer finish the event.
	if err := store.MarkWebhookEventProcessed(ctx, ev); !errors.Is(err, models.ErrWebhookLeaseLost) {
		t.Fatalf("stale claim finishing: %v, want ErrWebhookLeaseLost", err)
	}

	// A match for the tenant; the last try fails the event and its match.
	c, err := store.ConnectAccounts(ctx, admin, "", []models.ConnectionInput{{Platform: "facebook", Kind: "page",
		AccountRef: "5550001", AccountName: "Bakery", AccessToken: "page-token"}})
	if err != nil {
		t.Fatal(err)
	}
	found, err := store.WebhookConnections(ctx, "facebook", "page", "5550001", false)
	if err != nil || len(found) != 1 || found[0].ID != c[0].ID {
		t.Fatalf("WebhookConnections = %v, %v", found, err)
	}
	if none, _ := store.WebhookConnections(ctx, "facebook", "ad_account", "5550001", false); len(none) != 0 {
		t.Fatal("kind is ignored")
	}
	if err := store.AddWebhookEventMatches(ctx, ev.ID, found); err != nil {
		t.Fatal(err)
	}
	if err := store.AddWebhookEventMatches(ctx, ev.ID, found); err != nil {
		t.Fatalf("adding the match again: %v", err)
	}
	if err := store.FailWebhookEvent(ctx, retry[0], "Graph API kept failing"); err != nil {
		t.Fatal(err)
	}
	got, err := store.GetWebhookEvent(ctx, admin.TenantID, ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != models.WebhookFailed || got.LastError != "Graph API kept failing" || got.ProcessedAt == nil ||
		got.Match.Status != models.WebhookFailed || got.Match.Error != "Graph API kept failing" {
		t.Fatalf("failed event = %+v", got)
	}
	if evs, _ := store.ClaimWebhookEvents(ctx, 10, 0); len(evs) != 0 {
		t.Fatal("a failed event is claimed again")
	}
}

func TestWebhookEventsAreTenantScoped(t *testing.T) {
	store, dbURL, admin := connectionFixture(t)
	ctx := context.Background()
	other := insertTenant(t, openDB(t, dbURL), "globex")
	if _, err := store.InsertWebhookEvents(ctx, []models.WebhookEventInput{leadEvent("1"), leadEvent("2")}); err != nil {
		t.Fatal(err)
	}
	evs, err := store.ClaimWebhookEvents(ctx, 10, time.Minute)
	if err != nil || len(evs) != 2 {
		t.Fatalf("claimed %d, %v", len(evs), err)
	}
	c, err := store.ConnectAccounts(ctx, admin, "", []models.ConnectionInput{{Platform: "facebook", Kind: "page",
		AccountRef: "5550001", AccountName: "Bakery", AccessToken: "page-token"}})
	if err != nil {
		t.Fatal(err)
	}
	// Event 1 concerns the tenant and is processed; event 2 concerns nobody.
	if err := store.AddWebhookEventMatches(ctx, evs[0].ID, c); err != nil {
		t.Fatal(err)
	}
	if err := store.SaveWebhookMatchData(ctx, admin.TenantID, evs[0].ID, c[0].ID, map[string]any{"field_data": []any{}}); err != nil {
		t.Fatal(err)
	}
	if err := store.MarkWebhookMatchProcessed(ctx, admin.TenantID, evs[0].ID, c[0].ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := store.MarkWebhookEventProcessed(ctx, evs[0]); err != nil {
		t.Fatal(err)
	}
	if err := store.MarkWebhookEventUnmatched(ctx, evs[1]); err != nil {
		t.Fatal(err)
	}
	// Another tenant cannot mark this tenant's match.
	if err := store.MarkWebhookMatchFailed(ctx, other, evs[0].ID, c[0].ID, "x"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("cross-tenant match update: %v", err)
	}

	list, total, err := store.ListWebhookEvents(ctx, admin.TenantID, models.WebhookEventFilter{})
	if err != nil || total != 1 || len(list) != 1 || list[0].ID != evs[0].ID || list[0].Match.Status != models.WebhookProcessed ||
		string(list[0].Match.Data) != `{"field_data": []}` {
		t.Fatalf("tenant list = %+v (%d), %v", list, total, err)
	}
	if list, total, _ := store.ListWebhookEvents(ctx, other, models.WebhookEventFilter{}); total != 0 || len(list) != 0 {
		t.Fatalf("the other tenant sees %d events", total)
	}
	if _, err := store.GetWebhookEvent(ctx, other, evs[0].ID); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("other tenant's get: %v", err)
	}
	if _, err := store.GetWebhookEvent(ctx, admin.TenantID, evs[1].ID); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("an unmatched event is visible to a tenant: %v", err)
	}
	unmatched, total, err := store.ListAllWebhookEvents(ctx, models.WebhookEventFilter{Status: models.WebhookUnmatched})
	if err != nil || total != 1 || unmatched[0].ID != evs[1].ID {
		t.Fatalf("operators' unmatched list = %+v, %v", unmatched, err)
	}
	ev, matches, err := store.GetAnyWebhookEvent(ctx, evs[0].ID)
	if err != nil || ev.Matches != 1 || len(matches) != 1 || matches[0].TenantID != admin.TenantID {
		t.Fatalf("operator get = %+v %+v, %v", ev, matches, err)
	}

	// Retention: everything received before the cutoff goes, matches too.
	if n, err := store.DeleteWebhookEventsBefore(ctx, time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("deleted %d recent events, %v", n, err)
	}
	if n, err := store.DeleteWebhookEventsBefore(ctx, time.Now().Add(time.Hour)); err != nil || n != 2 {
		t.Fatalf("deleted %d events, %v; want 2", n, err)
	}
	if list, _, _ := store.ListWebhookEvents(ctx, admin.TenantID, models.WebhookEventFilter{}); len(list) != 0 {
		t.Fatal("the tenant's record outlived its event")
	}
}

func TestEventAutomations(t *testing.T) {
	store, dbURL, admin := connectionFixture(t)
	db := openDB(t, dbURL)
	for _, q := range []string{
		`INSERT INTO automation (tenant_id, name, type, automation_config) VALUES ($1, 'leads', 'alert', '{"trigger":"event","event":"facebook.leadgen"}')`,
		`INSERT INTO automation (tenant_id, name, type, automation_config, status) VALUES ($1, 'paused', 'alert', '{"trigger":"event","event":"facebook.leadgen"}', 'paused')`,
		`INSERT INTO automation (tenant_id, name, type, automation_config) VALUES ($1, 'feed', 'alert', '{"trigger":"event","event":"facebook.feed"}')`,
		`INSERT INTO automation (tenant_id, name, type, automation_config) VALUES ($1, 'spend', 'alert', '{"metric":"spend"}')`,
	} {
		if _, err := db.Exec(q, admin.TenantID); err != nil {
			t.Fatal(err)
		}
	}
	got, err := store.EventAutomations(context.Background(), admin.TenantID, "facebook.leadgen")
	if err != nil || len(got) != 1 || got[0].Name != "leads" {
		t.Fatalf("EventAutomations = %+v, %v", got, err)
	}
	// A deactivated tenant's event automations do not run.
	if _, err := db.Exec(`UPDATE tenant SET is_active = false WHERE id = $1`, admin.TenantID); err != nil {
		t.Fatal(err)
	}
	if got, err := store.EventAutomations(context.Background(), admin.TenantID, "facebook.leadgen"); err != nil || len(got) != 0 {
		t.Fatalf("a deactivated tenant's event automations: %+v, %v", got, err)
	}
}
