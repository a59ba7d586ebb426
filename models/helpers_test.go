package models_test

import (
	"database/sql"
	"errors"
	"testing"

	"github.com/lib/pq"
)

// SQLSTATE codes the schema tests expect.
const (
	codeUnique     = "23505"
	codeCheck      = "23514"
	codeForeignKey = "23503"
)

// openDB opens a plain *sql.DB on dbURL, closed when the test ends.
func openDB(t *testing.T, dbURL string) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", dbURL)
	if err != nil {
		t.Fatalf("opening %s: %v", dbURL, err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Ping(); err != nil {
		t.Fatalf("connecting to %s: %v", dbURL, err)
	}
	return db
}

// wantSQLState fails the test unless err is a PostgreSQL error with code;
// an empty code means err must be nil.
func wantSQLState(t *testing.T, err error, code string) {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Fatalf("want success, got %v", err)
		}
		return
	}
	var pqErr *pq.Error
	if !errors.As(err, &pqErr) {
		t.Fatalf("want SQLSTATE %s, got %v", code, err)
	}
	if string(pqErr.Code) != code {
		t.Fatalf("want SQLSTATE %s, got %s (%s: %s)", code, pqErr.Code, pqErr.Code.Name(), pqErr.Message)
	}
}

// insertTenant creates a tenant and returns its id.
func insertTenant(t *testing.T, db *sql.DB, slug string) string {
	t.Helper()
	var id string
	err := db.QueryRow(`INSERT INTO tenant (name, slug) VALUES ($1, $1) RETURNING id`, slug).Scan(&id)
	if err != nil {
		t.Fatalf("inserting tenant %q: %v", slug, err)
	}
	return id
}

// insertAutomation creates an automation without destination for tenantID.
func insertAutomation(t *testing.T, db *sql.DB, tenantID string) string {
	t.Helper()
	var id string
	err := db.QueryRow(`INSERT INTO automation (tenant_id, name, type) VALUES ($1, 'daily report', 'scheduled_report') RETURNING id`,
		tenantID).Scan(&id)
	if err != nil {
		t.Fatalf("inserting automation: %v", err)
	}
	return id
}
