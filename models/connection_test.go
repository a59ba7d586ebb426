package models_test

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"adpilot/models"
	"adpilot/testutil"
	"adpilot/vault"
)

func keyring(t *testing.T, current byte, previous ...byte) *vault.Keyring {
	t.Helper()
	var prev [][]byte
	for _, p := range previous {
		prev = append(prev, bytes.Repeat([]byte{p}, 32))
	}
	k, err := vault.New(bytes.Repeat([]byte{current}, 32), prev...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// connectionFixture is a store with a vault, a tenant and its admin.
func connectionFixture(t *testing.T) (*models.Store, string, models.User) {
	t.Helper()
	store, dbURL := testutil.NewStore(t)
	store.SetVault(keyring(t, 1))
	db := openDB(t, dbURL)
	tenant := insertTenant(t, db, "acme")
	var userID string
	if err := db.QueryRow(`INSERT INTO app_user (tenant_id, email, role) VALUES ($1, 'admin@acme.test', 'admin') RETURNING id`,
		tenant).Scan(&userID); err != nil {
		t.Fatal(err)
	}
	u, err := store.GetUser(context.Background(), tenant, userID)
	if err != nil {
		t.Fatal(err)
	}
	return store, dbURL, u
}

const secretToken = "EAAB-very-secret-user-token-0123456789"

func TestConnectAccountsEncryptsAndReconnectsInPlace(t *testing.T) {
	store, dbURL, admin := connectionFixture(t)
	ctx := context.Background()
	in := models.ConnectionInput{Platform: "tiktok", Kind: "creator", AccountRef: "open-1", AccountName: "Creator",
		AccessToken: secretToken, RefreshToken: "rft-secret-refresh-token", ExpiresAt: time.Now().Add(24 * time.Hour),
		PlatformUserID: "open-1", Meta: map[string]any{"display_name": "Creator"}}
	first, err := store.ConnectAccounts(ctx, admin, "127.0.0.1", []models.ConnectionInput{in})
	if err != nil {
		t.Fatal(err)
	}
	// The token is invalidated, then the account reconnected without a
	// refresh token: the row comes back valid, same id, refresh token kept.
	if _, err := store.InvalidateConnection(ctx, admin.TenantID, first[0].ID, "revoked", nil); err != nil {
		t.Fatal(err)
	}
	in.AccessToken, in.RefreshToken = "second-access-token-xyz", ""
	again, err := store.ConnectAccounts(ctx, admin, "127.0.0.1", []models.ConnectionInput{in})
	if err != nil {
		t.Fatal(err)
	}
	if again[0].ID != first[0].ID || !again[0].IsValid || again[0].InvalidReason != "" {
		t.Fatalf("reconnect = %+v, want the same valid row %s", again[0], first[0].ID)
	}
	_, creds, err := store.ConnectionCredentials(ctx, admin.TenantID, first[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if creds.AccessToken != "second-access-token-xyz" || creds.RefreshToken != "rft-secret-refresh-token" {
		t.Fatalf("credentials = %+v", creds)
	}

	// pg_dump of the whole database holds no token in plain text.
	out, err := exec.Command("pg_dump", "--data-only", dbURL).CombinedOutput()
	if err != nil {
		t.Fatalf("pg_dump: %v: %s", err, out)
	}
	for _, secret := range []string{secretToken, "second-access-token-xyz", "rft-secret-refresh-token"} {
		if strings.Contains(string(out), secret) {
			t.Fatalf("the database dump contains %q in plain text", secret)
		}
	}
	if !strings.Contains(string(out), "open-1") {
		t.Fatal("the dump does not contain the connection at all: the check above proves nothing")
	}
}

func TestCiphertextCopiedToAnotherRowFailsToDecrypt(t *testing.T) {
	store, dbURL, admin := connectionFixture(t)
	ctx := context.Background()
	conns, err := store.ConnectAccounts(ctx, admin, "", []models.ConnectionInput{
		{Platform: "demo", Kind: "ad_account", AccountRef: "a", AccessToken: "token-a"},
		{Platform: "demo", Kind: "ad_account", AccountRef: "b", AccessToken: "token-b"},
	})
	if err != nil {
		t.Fatal(err)
	}
	db := openDB(t, dbURL)
	if _, err := db.Exec(`UPDATE ad_token SET access_token_enc = (SELECT access_token_enc FROM ad_token WHERE id = $1) WHERE id = $2`,
		conns[0].ID, conns[1].ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.ConnectionCredentials(ctx, admin.TenantID, conns[1].ID); !errors.Is(err, vault.ErrDecrypt) {
		t.Fatalf("a ciphertext copied from another row decrypted: err = %v", err)
	}
	if _, creds, err := store.ConnectionCredentials(ctx, admin.TenantID, conns[0].ID); err != nil || creds.AccessToken != "token-a" {
		t.Fatalf("the original row: %+v, %v", creds, err)
	}
}

func TestRotateVaultKeepsEveryConnectionWorking(t *testing.T) {
	store, dbURL, admin := connectionFixture(t) // sealed under key 1
	ctx := context.Background()
	conns, err := store.ConnectAccounts(ctx, admin, "", []models.ConnectionInput{
		{Platform: "tiktok", Kind: "creator", AccountRef: "c1", AccessToken: "access-1", RefreshToken: "refresh-1"},
		{Platform: "demo", Kind: "ad_account", AccountRef: "d1", AccessToken: "access-2"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.SaveOAuthPending(ctx, admin.TenantID, admin.ID, "facebook", []byte(`{"token":"pending"}`), time.Now()); err != nil {
		t.Fatal(err)
	}

	store.SetVault(keyring(t, 2, 1)) // new key, old one still opens
	n, err := store.RotateVault(ctx)
	if err != nil || n != 4 { // two access, one refresh, one pending payload
		t.Fatalf("RotateVault = %d, %v; want 4", n, err)
	}
	if n, err := store.RotateVault(ctx); err != nil || n != 0 {
		t.Fatalf("second RotateVault = %d, %v; want 0 (already current)", n, err)
	}

	// With only the new key, everything still opens.
	fresh := testutil.OpenStore(t, dbURL)
	fresh.SetVault(keyring(t, 2))
	for i, want := range []string{"access-1", "access-2"} {
		_, creds, err := fresh.ConnectionCredentials(ctx, admin.TenantID, conns[i].ID)
		if err != nil || creds.AccessToken != want {
			t.Fatalf("after rotation connection %d: %+v, %v", i, creds, err)
		}
	}
	_, creds, _ := fresh.ConnectionCredentials(ctx, admin.TenantID, conns[0].ID)
	if creds.RefreshToken != "refresh-1" {
		t.Fatalf("refresh token after rotation = %q", creds.RefreshToken)
	}
}

func TestInvalidateNotifiesAdminsOnce(t *testing.T) {
	store, dbURL, admin := connectionFixture(t)
	ctx := context.Background()
	conns, err := store.ConnectAccounts(ctx, admin, "", []models.ConnectionInput{{Platform: "demo", Kind: "ad_account", AccountRef: "x", AccessToken: "t"}})
	if err != nil {
		t.Fatal(err)
	}
	notice := func(c models.Connection) models.Email {
		return models.Email{Subject: "invalid " + c.AccountRef, Text: "t", HTML: "h"}
	}
	for i, want := range []bool{true, false, false} {
		changed, err := store.InvalidateConnection(ctx, admin.TenantID, conns[0].ID, "token expired", notice)
		if err != nil || changed != want {
			t.Fatalf("invalidation %d: changed=%v err=%v, want %v", i, changed, err, want)
		}
	}
	var mails int
	if err := openDB(t, dbURL).QueryRow(`SELECT count(*) FROM email_outbox WHERE subject = 'invalid x' AND to_address = 'admin@acme.test'`).Scan(&mails); err != nil {
		t.Fatal(err)
	}
	if mails != 1 {
		t.Fatalf("%d notices queued, want exactly 1", mails)
	}
	c, err := store.GetConnection(ctx, admin.TenantID, conns[0].ID)
	if err != nil || c.IsValid || c.InvalidReason != "token expired" || c.InvalidatedAt == nil {
		t.Fatalf("connection after invalidation: %+v, %v", c, err)
	}
	// Another tenant cannot touch it.
	other := insertTenant(t, openDB(t, dbURL), "other")
	if _, err := store.GetConnection(ctx, other, conns[0].ID); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("another tenant reads the connection: %v", err)
	}
}

func TestDeleteDeadConnectionsAfterThirtyDays(t *testing.T) {
	store, dbURL, admin := connectionFixture(t)
	ctx := context.Background()
	conns, err := store.ConnectAccounts(ctx, admin, "", []models.ConnectionInput{
		{Platform: "demo", Kind: "ad_account", AccountRef: "alive", AccessToken: "t"},
		{Platform: "demo", Kind: "ad_account", AccountRef: "invalid-long-ago", AccessToken: "t"},
		{Platform: "demo", Kind: "ad_account", AccountRef: "invalid-recently", AccessToken: "t"},
		{Platform: "facebook", Kind: "ad_account", AccountRef: "expired-long-ago", AccessToken: "t", ExpiresAt: time.Now().Add(-40 * 24 * time.Hour)},
	})
	if err != nil {
		t.Fatal(err)
	}
	db := openDB(t, dbURL)
	for _, c := range conns[1:3] {
		if _, err := store.InvalidateConnection(ctx, admin.TenantID, c.ID, "revoked", nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`UPDATE ad_token SET invalidated_at = now() - interval '31 days' WHERE account_ref = 'invalid-long-ago'`); err != nil {
		t.Fatal(err)
	}
	n, err := store.DeleteDeadConnections(ctx, time.Now().Add(-30*24*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("DeleteDeadConnections = %d, %v; want 2", n, err)
	}
	left, _ := store.ListConnections(ctx, admin.TenantID)
	var refs []string
	for _, c := range left {
		refs = append(refs, c.AccountRef)
	}
	if strings.Join(refs, ",") != "alive,invalid-recently" {
		t.Fatalf("left: %v", refs)
	}
	var audited int
	if err := db.QueryRow(`SELECT count(*) FROM audit_log WHERE action = 'connection.cleanup' AND tenant_id = $1`, admin.TenantID).Scan(&audited); err != nil || audited != 2 {
		t.Fatalf("cleanup audited %d (%v), want 2", audited, err)
	}
}
