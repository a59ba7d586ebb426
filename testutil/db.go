// Package testutil is the test harness every package shares: fresh
// PostgreSQL databases cloned from a migrated template, the whole app on
// httptest with a cookie jar and goquery, and headless Chromium via chromedp.
// Tests that need PostgreSQL or Chromium fail loudly without them; they never skip.
package testutil

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	_ "github.com/lib/pq"

	"adpilot/migrations"
	"adpilot/models"
)

// adminURLEnv names the variable holding a URL of a maintenance database
// (usually "postgres") on the test server; `make test` sets it.
const adminURLEnv = "ADPILOT_TEST_DATABASE_URL"

const defaultAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// templateLockKey serialises template creation between test processes.
const templateLockKey int64 = 0x6164_7069_6c6f_7454

var (
	adminOnce sync.Once
	adminDB   *sql.DB
	adminErr  error
	tmplOnce  sync.Once
	tmplName  string
	tmplErr   error
)

// AdminURL is the maintenance-database URL used to create test databases.
func AdminURL() string {
	if u := os.Getenv(adminURLEnv); u != "" {
		return u
	}
	return defaultAdminURL
}

// DatabaseURL returns AdminURL with its database replaced by name.
func DatabaseURL(name string) string {
	u, err := url.Parse(AdminURL())
	if err != nil {
		panic(fmt.Sprintf("%s is not a URL: %v", adminURLEnv, err))
	}
	u.Path = "/" + name
	return u.String()
}

func admin(t testing.TB) *sql.DB {
	t.Helper()
	adminOnce.Do(func() {
		adminDB, adminErr = sql.Open("postgres", AdminURL())
		if adminErr == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			adminErr = adminDB.PingContext(ctx)
		}
	})
	if adminErr != nil {
		t.Fatalf("tests need PostgreSQL, and none answers at %s (%v). Run `make test`, which starts one, or set %s.",
			AdminURL(), adminErr, adminURLEnv)
	}
	return adminDB
}

// NewDatabase creates an empty database for this test and drops it afterwards.
func NewDatabase(t testing.TB) string {
	t.Helper()
	return createDatabase(t, "")
}

// NewMigratedDatabase creates a database with the full schema, cloned from a
// template migrated once per schema version, and drops it afterwards.
func NewMigratedDatabase(t testing.TB) string {
	t.Helper()
	db := admin(t)
	tmplOnce.Do(func() { tmplName, tmplErr = ensureTemplate(db) })
	if tmplErr != nil {
		t.Fatalf("preparing the template database: %v", tmplErr)
	}
	return createDatabase(t, tmplName)
}

// NewStore opens a store on a fresh migrated database.
func NewStore(t testing.TB) (*models.Store, string) {
	t.Helper()
	dbURL := NewMigratedDatabase(t)
	return OpenStore(t, dbURL), dbURL
}

// OpenStore opens a store on dbURL and closes it when the test ends.
func OpenStore(t testing.TB, dbURL string) *models.Store {
	t.Helper()
	store, err := models.Open(context.Background(), dbURL, models.PoolConfig{MaxOpenConns: 10, MaxIdleConns: 5, ConnMaxLifetime: time.Minute})
	if err != nil {
		t.Fatalf("opening test database: %v", err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

func createDatabase(t testing.TB, template string) string {
	t.Helper()
	db := admin(t)
	name := "adpilot_t_" + randomHex(8)
	q := "CREATE DATABASE " + name
	if template != "" {
		q += " TEMPLATE " + template
	}
	if _, err := db.Exec(q); err != nil {
		t.Fatalf("creating test database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("dropping test database %s: %v", name, err)
		}
	})
	return DatabaseURL(name)
}

// ensureTemplate returns the name of a migrated template database for the
// current migrations, building it once across all test processes: it is
// built under another name and renamed, so a crash never leaves half a template.
func ensureTemplate(db *sql.DB) (string, error) {
	name := "adpilot_tmpl_" + schemaHash()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, templateLockKey); err != nil {
		return "", err
	}
	defer func() { _, _ = conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, templateLockKey) }()

	var exists bool
	if err := conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	// Templates of older schemas are of no further use.
	rows, err := conn.QueryContext(ctx, `SELECT datname FROM pg_database WHERE datname LIKE 'adpilot\_tmpl\_%'`)
	if err != nil {
		return "", err
	}
	var stale []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return "", err
		}
		stale = append(stale, s)
	}
	rows.Close()
	for _, s := range stale {
		if _, err := conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+s+" WITH (FORCE)"); err != nil {
			return "", err
		}
	}

	building := "adpilot_build_" + randomHex(6)
	if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+building); err != nil {
		return "", err
	}
	store, err := models.Open(ctx, DatabaseURL(building), models.PoolConfig{MaxOpenConns: 2, MaxIdleConns: 1, ConnMaxLifetime: time.Minute})
	if err != nil {
		return "", err
	}
	_, err = store.MigrateUp(ctx)
	store.Close()
	if err != nil {
		return "", fmt.Errorf("migrating template: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "ALTER DATABASE "+building+" RENAME TO "+name); err != nil {
		return "", err
	}
	return name, nil
}

// schemaHash fingerprints the migration files, so a changed migration gets
// a new template.
func schemaHash() string {
	h := sha256.New()
	var names []string
	_ = fs.WalkDir(migrations.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, p)
		}
		return err
	})
	sort.Strings(names)
	for _, n := range names {
		b, _ := migrations.FS.ReadFile(n)
		h.Write([]byte(n))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
