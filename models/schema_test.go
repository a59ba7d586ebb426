package models_test

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"adpilot/testutil"
)

// Fixed ids of the schema fixture; SQL in these tests names them :tenantA etc.
var fixtureIDs = map[string]string{
	":tenantA": "0000000a-0000-4000-8000-000000000000",
	":tenantB": "0000000b-0000-4000-8000-000000000000",
	":destA":   "0000000a-0000-4000-8000-0000000000d1",
	":destB":   "0000000b-0000-4000-8000-0000000000d1",
	":autoA":   "0000000a-0000-4000-8000-0000000000a1",
	":autoB":   "0000000b-0000-4000-8000-0000000000a1",
}

// fixtureSQL replaces :names in q with the quoted fixture ids.
func fixtureSQL(q string) string {
	pairs := make([]string, 0, 2*len(fixtureIDs))
	for name, id := range fixtureIDs {
		pairs = append(pairs, name, "'"+id+"'")
	}
	return strings.NewReplacer(pairs...).Replace(q)
}

// schemaFixture is the same set of rows in tenants A (acme) and B (globex):
// a user, a token, a destination, an automation using it, and a run.
var schemaFixture = []string{
	`INSERT INTO tenant (id, name, slug) VALUES (:tenantA, 'Acme', 'acme'), (:tenantB, 'Globex', 'globex')`,
	`INSERT INTO app_user (tenant_id, email, username, telegram_user_id, role) VALUES
		(:tenantA, 'ann@example.com', 'Ann', 1001, 'admin'),
		(:tenantB, 'bob@example.com', 'Bob', 2001, 'user')`,
	`INSERT INTO ad_token (tenant_id, platform, account_ref, access_token_enc) VALUES
		(:tenantA, 'facebook', 'act_1', '\x01'), (:tenantB, 'facebook', 'act_2', '\x01')`,
	`INSERT INTO destination (id, tenant_id, name, type) VALUES
		(:destA, :tenantA, 'Team chat', 'telegram_chat'), (:destB, :tenantB, 'Hook', 'webhook')`,
	`INSERT INTO automation (id, tenant_id, destination_id, name, type) VALUES
		(:autoA, :tenantA, :destA, 'Daily', 'scheduled_report'), (:autoB, :tenantB, :destB, 'Spend', 'alert')`,
	`INSERT INTO automation_run (tenant_id, automation_id, status) VALUES
		(:tenantA, :autoA, 'completed'), (:tenantB, :autoB, 'failed')`,
}

// newSchemaDB returns a connection to a fresh migrated database holding the fixture.
func newSchemaDB(t *testing.T) *sql.DB {
	t.Helper()
	db := openDB(t, testutil.NewMigratedDatabase(t))
	for _, q := range schemaFixture {
		if _, err := db.Exec(fixtureSQL(q)); err != nil {
			t.Fatalf("loading fixture: %v\n%s", err, q)
		}
	}
	return db
}

func TestSchemaConstraints(t *testing.T) {
	t.Parallel()
	db := newSchemaDB(t)
	tests := []struct {
		name  string
		setup []string // must succeed first
		stmt  string
		want  string // SQLSTATE, or "" for success
	}{
		// tenant
		{name: "tenant slug unique", stmt: `INSERT INTO tenant (name, slug) VALUES ('Other', 'acme')`, want: codeUnique},
		{name: "tenant slug with dashes", stmt: `INSERT INTO tenant (name, slug) VALUES ('Other', 'acme-2-eu')`},
		{name: "tenant slug upper case", stmt: `INSERT INTO tenant (name, slug) VALUES ('Other', 'Acme2')`, want: codeCheck},
		{name: "tenant slug with space", stmt: `INSERT INTO tenant (name, slug) VALUES ('Other', 'acme corp')`, want: codeCheck},
		{name: "tenant slug leading dash", stmt: `INSERT INTO tenant (name, slug) VALUES ('Other', '-acme2')`, want: codeCheck},
		{name: "tenant slug trailing dash", stmt: `INSERT INTO tenant (name, slug) VALUES ('Other', 'acme2-')`, want: codeCheck},
		{name: "tenant slug double dash", stmt: `INSERT INTO tenant (name, slug) VALUES ('Other', 'acme--2')`, want: codeCheck},
		{name: "tenant slug empty", stmt: `INSERT INTO tenant (name, slug) VALUES ('Other', '')`, want: codeCheck},
		{name: "tenant blank name", stmt: `INSERT INTO tenant (name, slug) VALUES ('  ', 'other')`, want: codeCheck},

		// app_user
		{name: "user role admin", stmt: `INSERT INTO app_user (tenant_id, role) VALUES (:tenantA, 'admin')`},
		{name: "user role user", stmt: `INSERT INTO app_user (tenant_id, role) VALUES (:tenantA, 'user')`},
		{name: "user role viewer", stmt: `INSERT INTO app_user (tenant_id, role) VALUES (:tenantA, 'viewer')`},
		{name: "user role unknown", stmt: `INSERT INTO app_user (tenant_id, role) VALUES (:tenantA, 'owner')`, want: codeCheck},
		{name: "user role case", stmt: `INSERT INTO app_user (tenant_id, role) VALUES (:tenantA, 'Admin')`, want: codeCheck},
		{name: "user email unique in tenant", stmt: `INSERT INTO app_user (tenant_id, email) VALUES (:tenantA, 'ann@example.com')`, want: codeUnique},
		{name: "user email reused in other tenant", stmt: `INSERT INTO app_user (tenant_id, email) VALUES (:tenantB, 'ann@example.com')`},
		{name: "user email must be lower case", stmt: `INSERT INTO app_user (tenant_id, email) VALUES (:tenantA, 'Carol@example.com')`, want: codeCheck},
		{name: "user email must look like one", stmt: `INSERT INTO app_user (tenant_id, email) VALUES (:tenantA, 'carol')`, want: codeCheck},
		{name: "user email lowered by update", stmt: `UPDATE app_user SET email = 'ANN@example.com' WHERE email = 'ann@example.com'`, want: codeCheck},
		{name: "user telegram id unique in tenant", stmt: `INSERT INTO app_user (tenant_id, telegram_user_id) VALUES (:tenantA, 1001)`, want: codeUnique},
		{name: "user telegram id reused in other tenant", stmt: `INSERT INTO app_user (tenant_id, telegram_user_id) VALUES (:tenantB, 1001)`},
		{name: "user username unique ignoring case", stmt: `INSERT INTO app_user (tenant_id, username) VALUES (:tenantA, 'aNN')`, want: codeUnique},
		{name: "user username reused in other tenant", stmt: `INSERT INTO app_user (tenant_id, username) VALUES (:tenantB, 'ann')`},
		{name: "users without email, username or telegram id",
			setup: []string{`INSERT INTO app_user (tenant_id) VALUES (:tenantA)`},
			stmt:  `INSERT INTO app_user (tenant_id) VALUES (:tenantA)`},

		// ad_token
		{name: "token account unique per tenant and platform",
			stmt: `INSERT INTO ad_token (tenant_id, platform, account_ref, access_token_enc) VALUES (:tenantA, 'facebook', 'act_1', '\x02')`,
			want: codeUnique},
		{name: "token account on another platform",
			stmt: `INSERT INTO ad_token (tenant_id, platform, account_ref, access_token_enc) VALUES (:tenantA, 'tiktok', 'act_1', '\x02')`},
		{name: "token account in another tenant",
			stmt: `INSERT INTO ad_token (tenant_id, platform, account_ref, access_token_enc) VALUES (:tenantB, 'facebook', 'act_1', '\x02')`},
		{name: "token platform unknown",
			stmt: `INSERT INTO ad_token (tenant_id, platform, account_ref, access_token_enc) VALUES (:tenantA, 'google', 'act_9', '\x02')`,
			want: codeCheck},

		// destination
		{name: "destination type unknown", stmt: `INSERT INTO destination (tenant_id, name, type) VALUES (:tenantA, 'Text', 'sms')`, want: codeCheck},

		// cross-tenant references
		{name: "automation using another tenant's destination",
			stmt: `INSERT INTO automation (tenant_id, destination_id, name, type) VALUES (:tenantA, :destB, 'Steal', 'alert')`,
			want: codeForeignKey},
		{name: "automation moved onto another tenant's destination",
			stmt: `UPDATE automation SET destination_id = :destB WHERE id = :autoA`,
			want: codeForeignKey},
		{name: "run of tenant A's automation filed under tenant B",
			stmt: `INSERT INTO automation_run (tenant_id, automation_id) VALUES (:tenantB, :autoA)`,
			want: codeForeignKey},
		{name: "run filed under its own tenant",
			stmt: `INSERT INTO automation_run (tenant_id, automation_id) VALUES (:tenantA, :autoA)`},

		// deleting referenced rows
		{name: "destination in use cannot be deleted", stmt: `DELETE FROM destination WHERE id = :destA`, want: codeForeignKey},
		{name: "destination no longer in use can be deleted",
			setup: []string{`UPDATE automation SET destination_id = NULL WHERE id = :autoA`},
			stmt:  `DELETE FROM destination WHERE id = :destA`},

		// automation and run enums
		{name: "automation status paused", stmt: `UPDATE automation SET status = 'paused' WHERE id = :autoA`},
		{name: "automation status unknown", stmt: `UPDATE automation SET status = 'running' WHERE id = :autoA`, want: codeCheck},
		{name: "automation type data_sync", stmt: `INSERT INTO automation (tenant_id, name, type) VALUES (:tenantA, 'Sync', 'data_sync')`},
		{name: "automation type unknown", stmt: `INSERT INTO automation (tenant_id, name, type) VALUES (:tenantA, 'Report', 'report')`, want: codeCheck},
		{name: "automation negative run count", stmt: `UPDATE automation SET run_count = -1 WHERE id = :autoA`, want: codeCheck},
		{name: "run status unknown",
			stmt: `INSERT INTO automation_run (tenant_id, automation_id, status) VALUES (:tenantA, :autoA, 'pending')`,
			want: codeCheck},
		{name: "run completed before it started",
			stmt: `INSERT INTO automation_run (tenant_id, automation_id, status, completed_at) VALUES (:tenantA, :autoA, 'completed', now() - interval '1 minute')`,
			want: codeCheck},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Each case runs in a transaction rolled back afterwards, so
			// cases see the fixture and never each other.
			tx, err := db.Begin()
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			for _, q := range tt.setup {
				if _, err := tx.Exec(fixtureSQL(q)); err != nil {
					t.Fatalf("setup %q: %v", q, err)
				}
			}
			res, err := tx.Exec(fixtureSQL(tt.stmt))
			wantSQLState(t, err, tt.want)
			if err == nil {
				// An UPDATE or DELETE matching nothing would prove nothing.
				if n, _ := res.RowsAffected(); n == 0 {
					t.Fatalf("%q affected no row", tt.stmt)
				}
			}
		})
	}
}

// tenantColumn names the column holding a row's tenant.
func tenantColumn(table string) string {
	if table == "tenant" {
		return "id"
	}
	return "tenant_id"
}

// countByTenant counts the rows of table belonging to tenant ref (:tenantA...).
func countByTenant(t *testing.T, db *sql.DB, table, ref string) int {
	t.Helper()
	var n int
	q := fixtureSQL(fmt.Sprintf(`SELECT count(*) FROM %s WHERE %s = %s`, table, tenantColumn(table), ref))
	if err := db.QueryRow(q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func TestDeleteTenantCascades(t *testing.T) {
	t.Parallel()
	db := newSchemaDB(t)
	before := map[string]int{}
	for _, table := range appTables {
		if countByTenant(t, db, table, ":tenantA") == 0 {
			t.Fatalf("fixture has no %s row for tenant A", table)
		}
		before[table] = countByTenant(t, db, table, ":tenantB")
	}

	if _, err := db.Exec(fixtureSQL(`DELETE FROM tenant WHERE id = :tenantA`)); err != nil {
		t.Fatalf("deleting tenant A: %v", err)
	}

	for _, table := range appTables {
		if n := countByTenant(t, db, table, ":tenantA"); n != 0 {
			t.Errorf("%s: %d rows of the deleted tenant remain", table, n)
		}
		if n := countByTenant(t, db, table, ":tenantB"); n != before[table] {
			t.Errorf("%s: tenant B has %d rows, had %d", table, n, before[table])
		}
	}
}
