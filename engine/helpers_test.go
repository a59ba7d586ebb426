package engine_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"sort"
	"testing"
	"time"

	"adpilot/connections"
	"adpilot/engine"
	"adpilot/models"
	"adpilot/platforms"
	"adpilot/testutil"
	"adpilot/vault"
)

// rsNow is the fixed instant of the report and sync tests: 10:00 in New
// York (the shop account), 07:00 in Los Angeles, 01:00 next day in Brisbane.
var rsNow = time.Date(2024, 11, 26, 15, 0, 0, 0, time.UTC)

// rsEnv is one tenant with the three demo accounts connected, on its own
// database, with a demo platform frozen at rsNow.
type rsEnv struct {
	t        *testing.T
	store    *models.Store
	db       *sql.DB
	reg      *platforms.Registry
	deps     engine.Deps
	tenantID string
	conns    map[string]models.Connection // by account ref
}

func rsSetup(t *testing.T) *rsEnv {
	t.Helper()
	ctx := context.Background()
	store, dbURL := testutil.NewStore(t)
	k, err := vault.New(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	store.SetVault(k)
	db, err := sql.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &rsEnv{t: t, store: store, db: db, conns: map[string]models.Connection{}}
	e.reg = platforms.NewRegistry(platforms.Settings{Now: func() time.Time { return rsNow }}, true)
	if err := db.QueryRow(`INSERT INTO tenant (name, slug) VALUES ('Report Co', 'report-co') RETURNING id`).Scan(&e.tenantID); err != nil {
		t.Fatal(err)
	}
	var inputs []models.ConnectionInput
	for _, acc := range e.reg.Demo.DemoAccounts() {
		inputs = append(inputs, models.ConnectionInput{Platform: platforms.Demo, Kind: acc.Kind, AccountRef: acc.Ref,
			AccountName: acc.Name, AccessToken: platforms.DemoToken(acc.Ref), Meta: acc.Meta})
	}
	conns, err := store.ConnectAccounts(ctx, models.User{TenantID: e.tenantID}, "", inputs)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range conns {
		e.conns[c.AccountRef] = c
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	e.deps = engine.Deps{Store: store, Platforms: e.reg, Connections: connections.New(store, e.reg, logger, "https://adpilot.test"),
		Logger: logger, BaseURL: "https://adpilot.test"}
	return e
}

// job builds a job for the given account refs, with their stored
// credentials, of an automation with this type and config.
func (e *rsEnv) job(typ, config string, refs ...string) engine.Job {
	e.t.Helper()
	ctx := context.Background()
	tenant, err := e.store.GetTenant(ctx, e.tenantID)
	if err != nil {
		e.t.Fatal(err)
	}
	j := engine.Job{Automation: models.Automation{ID: "0b7c4e2a-1111-4222-8333-444455556666", TenantID: e.tenantID,
		Name: "Daily <spend> & co", Type: typ, AutomationConfig: json.RawMessage(config)},
		Tenant: tenant, Now: rsNow, Log: &engine.Log{}}
	for _, ref := range refs {
		c, creds, err := e.store.ConnectionCredentials(ctx, e.tenantID, e.conns[ref].ID)
		if err != nil {
			e.t.Fatal(err)
		}
		j.Connections = append(j.Connections, c)
		j.Credentials = append(j.Credentials, creds)
	}
	return j
}

// rsJSON round-trips v through JSON into a generic value.
func rsJSON(t *testing.T, v any) map[string]any {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func rsKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
