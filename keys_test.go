package main

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"adpilot/config"
	"adpilot/models"
	"adpilot/testutil"
	"adpilot/vault"
)

// storeWithKeys opens the database with the vault that MASTER_SECRET_KEY
// (and _PREVIOUS) give, as the server would.
func storeWithKeys(t *testing.T, dbURL, current, previous string) *models.Store {
	t.Helper()
	cfg, err := config.FromMap(map[string]string{"ENV": "test", "DATABASE_URL": dbURL,
		"MASTER_SECRET_KEY": current, "MASTER_SECRET_KEY_PREVIOUS": previous}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cur, prev := cfg.VaultKeys()
	k, err := vault.New(cur, prev...)
	if err != nil {
		t.Fatal(err)
	}
	store := testutil.OpenStore(t, dbURL)
	store.SetVault(k)
	return store
}

func TestKeysRotateReencryptsUnderTheNewKey(t *testing.T) {
	dbURL := testutil.NewMigratedDatabase(t)
	oldKey, newKey := config.GenerateSecret(), config.GenerateSecret()
	ctx := context.Background()

	old := storeWithKeys(t, dbURL, oldKey, "")
	var tenant, user string
	q, err := sql.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if err := q.QueryRow(`INSERT INTO tenant (name, slug) VALUES ('K', 'k') RETURNING id`).Scan(&tenant); err != nil {
		t.Fatal(err)
	}
	if err := q.QueryRow(`INSERT INTO app_user (tenant_id, email, role) VALUES ($1, 'k@k.test', 'admin') RETURNING id`, tenant).Scan(&user); err != nil {
		t.Fatal(err)
	}
	admin, err := old.GetUser(ctx, tenant, user)
	if err != nil {
		t.Fatal(err)
	}
	conns, err := old.ConnectAccounts(ctx, admin, "", []models.ConnectionInput{
		{Platform: "tiktok", Kind: "creator", AccountRef: "o1", AccessToken: "access-o1", RefreshToken: "refresh-o1"},
	})
	if err != nil {
		t.Fatal(err)
	}

	t.Setenv("ENV", "test")
	t.Setenv("DATABASE_URL", dbURL)
	t.Setenv("MASTER_SECRET_KEY", newKey)
	t.Setenv("MASTER_SECRET_KEY_PREVIOUS", oldKey)
	code, stdout, stderr := runCLI(t, "keys", "rotate")
	if code != 0 || !strings.Contains(stdout, "re-encrypted 2 value(s)") {
		t.Fatalf("keys rotate: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}

	// The old key is gone from the configuration: the connection still works.
	fresh := storeWithKeys(t, dbURL, newKey, "")
	_, creds, err := fresh.ConnectionCredentials(ctx, tenant, conns[0].ID)
	if err != nil || creds.AccessToken != "access-o1" || creds.RefreshToken != "refresh-o1" {
		t.Fatalf("after rotation: %+v, %v", creds, err)
	}
	// Without the rotation, the new key alone would not have opened it.
	if _, _, err := storeWithKeys(t, dbURL, config.GenerateSecret(), "").ConnectionCredentials(ctx, tenant, conns[0].ID); err == nil {
		t.Fatal("an unrelated key opened the token")
	}
}
