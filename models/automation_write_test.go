package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"adpilot/models"
)

func TestAutomationWritesStayInTheirTenant(t *testing.T) {
	store, dbURL, admin := connectionFixture(t)
	ctx := context.Background()
	conns, err := store.ConnectAccounts(ctx, admin, "", []models.ConnectionInput{{Platform: "demo", Kind: "ad_account", AccountRef: "d1", AccessToken: "t"}})
	if err != nil {
		t.Fatal(err)
	}
	in := models.AutomationInput{Name: "Daily", Type: "scheduled_report", ConnectionIDs: []string{conns[0].ID},
		Schedule: []byte(`{"kind":"daily","time":"09:00"}`), Config: []byte(`{"level":"account"}`), Status: "active", NextRun: time.Now().Add(time.Hour)}
	a, err := store.CreateAutomation(ctx, admin, in, "")
	if err != nil {
		t.Fatal(err)
	}
	if ids, _ := store.AutomationConnectionIDs(ctx, admin.TenantID, a.ID); len(ids) != 1 || ids[0] != conns[0].ID {
		t.Fatalf("connections = %v", ids)
	}
	// Another tenant's connection or destination is not found, and nothing is written.
	db := openDB(t, dbURL)
	other := insertTenant(t, db, "other")
	var otherConn, otherDest string
	if err := db.QueryRow(`INSERT INTO ad_token (tenant_id, platform, account_ref, access_token_enc) VALUES ($1, 'demo', 'x', '\x00') RETURNING id`, other).Scan(&otherConn); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`INSERT INTO destination (tenant_id, name, type) VALUES ($1, 'd', 'email') RETURNING id`, other).Scan(&otherDest); err != nil {
		t.Fatal(err)
	}
	bad := in
	bad.ConnectionIDs = []string{otherConn}
	if _, err := store.CreateAutomation(ctx, admin, bad, ""); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("another tenant's connection: %v", err)
	}
	bad = in
	bad.DestinationID = otherDest
	if _, err := store.UpdateAutomation(ctx, admin, a.ID, bad, ""); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("another tenant's destination: %v", err)
	}
	if list, _ := store.ListAutomations(ctx, admin.TenantID); len(list) != 1 {
		t.Fatalf("%d automations after refused writes, want 1", len(list))
	}
	if _, err := store.DeleteAutomation(ctx, models.User{TenantID: other}, a.ID, ""); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("another tenant deleted it: %v", err)
	}
	if _, err := store.DeleteAutomation(ctx, admin, a.ID, ""); err != nil {
		t.Fatal(err)
	}
}

func TestAutomationsWaitWhileAConnectionIsInvalid(t *testing.T) {
	store, _, admin := connectionFixture(t)
	ctx := context.Background()
	conns, err := store.ConnectAccounts(ctx, admin, "", []models.ConnectionInput{{Platform: "demo", Kind: "ad_account", AccountRef: "d1", AccessToken: "t"}})
	if err != nil {
		t.Fatal(err)
	}
	in := models.AutomationInput{Name: "Hourly", Type: "alert", ConnectionIDs: []string{conns[0].ID},
		Schedule: []byte(`{"kind":"hourly","minute":0}`), Config: []byte(`{}`), Status: "active", NextRun: time.Now().Add(-time.Minute)}
	if _, err := store.CreateAutomation(ctx, admin, in, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := store.InvalidateConnection(ctx, admin.TenantID, conns[0].ID, "revoked", nil); err != nil {
		t.Fatal(err)
	}
	next := func(models.Automation, time.Time) (time.Time, error) { return time.Now().Add(time.Hour), nil }
	if runs, _ := store.ClaimDueRuns(ctx, time.Now(), 10, time.Minute, next); len(runs) != 0 {
		t.Fatal("an automation on an invalid connection was claimed")
	}
	// Reconnected: it runs (once) at the next tick.
	if _, err := store.ConnectAccounts(ctx, admin, "", []models.ConnectionInput{{Platform: "demo", Kind: "ad_account", AccountRef: "d1", AccessToken: "t2"}}); err != nil {
		t.Fatal(err)
	}
	if runs, _ := store.ClaimDueRuns(ctx, time.Now(), 10, time.Minute, next); len(runs) != 1 {
		t.Fatalf("after reconnecting, %d runs, want 1", len(runs))
	}
}
