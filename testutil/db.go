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
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
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
	tmplOnce.Do(func() {
		tmplName, tmplErr = ensureTemplate(db)
		if tmplErr == nil {
			startBackground(db, tmplName)
		}
	})
	if tmplErr != nil {
		t.Fatalf("preparing the template database: %v", tmplErr)
	}
	var c clone
	select {
	case c = <-clones:
	case <-prefetchDone: // it stopped after a failure; take what is left, or fail
		select {
		case c = <-clones:
		default:
			c.err = errors.New("an earlier clone failed, see the first failing test")
		}
	}
	if c.err != nil {
		t.Fatalf("cloning the template database: %v", c.err)
	}
	t.Cleanup(func() { drops <- c.name })
	return DatabaseURL(c.name)
}

// CREATE DATABASE takes a few hundred milliseconds on a server that fsyncs,
// so clones are made ahead of demand and dropped in the background: a test
// gets its database without waiting. Main cleans up when the tests end;
// anything a crashed run left behind is swept by the next one (database names
// carry their birth time).
var (
	clones       = make(chan clone, 2)
	drops        = make(chan string, 256)
	stopClones   = make(chan struct{})
	prefetchDone = make(chan struct{})
	dropperDone  = make(chan struct{})
)

type clone struct {
	name string
	err  error
}

func startBackground(db *sql.DB, template string) {
	go func() { // prefetcher
		defer close(prefetchDone)
		for {
			name, err := cloneDatabase(db, template)
			select {
			case clones <- clone{name, err}:
				if err != nil {
					return
				}
			case <-stopClones:
				if err == nil {
					_ = dropDatabase(db, name)
				}
				return
			}
		}
	}()
	go func() { // dropper
		defer close(dropperDone)
		for name := range drops {
			_ = dropDatabase(db, name) // a failure leaves it for the next sweep
		}
	}()
}

// Main runs a package's tests and then drops every database they left:
// call it from TestMain as os.Exit(testutil.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if tmplName == "" {
		return code // no migrated database was ever requested
	}
	close(stopClones)
	<-prefetchDone
	close(clones) // only the prefetcher sends, and it has stopped
	for c := range clones {
		if c.err == nil {
			drops <- c.name
		}
	}
	close(drops)
	<-dropperDone
	return code
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
	store, err := models.Open(context.Background(), dbURL, models.PoolConfig{MaxOpenConns: 10, MaxIdleConns: 10, ConnMaxLifetime: time.Minute})
	if err != nil {
		t.Fatalf("opening test database: %v", err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

func createDatabase(t testing.TB, template string) string {
	t.Helper()
	db := admin(t)
	name, err := cloneDatabase(db, template)
	if err != nil {
		t.Fatalf("creating test database: %v", err)
	}
	t.Cleanup(func() {
		if err := dropDatabase(db, name); err != nil {
			t.Errorf("dropping test database %s: %v", name, err)
		}
	})
	return DatabaseURL(name)
}

// testDBPrefix starts the name of every database the harness creates; the
// Unix time that follows lets a later run sweep leftovers safely.
const testDBPrefix = "adpilot_t_"

// cloneDatabase creates a uniquely named database, from template if given.
// FILE_COPY is the faster strategy for a database this small.
func cloneDatabase(db *sql.DB, template string) (string, error) {
	name := fmt.Sprintf("%s%d_%s", testDBPrefix, time.Now().Unix(), randomHex(4))
	q := "CREATE DATABASE " + name + " STRATEGY FILE_COPY"
	if template != "" {
		q += " TEMPLATE " + template
	}
	_, err := db.Exec(q)
	return name, err
}

func dropDatabase(db *sql.DB, name string) error {
	_, err := db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	return err
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

	if err := sweep(ctx, conn, name); err != nil {
		return "", err
	}
	var exists bool
	if err := conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}

	building := fmt.Sprintf("adpilot_build_%d_%s", time.Now().Unix(), randomHex(4))
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

// sweepLimit bounds how many leftovers one test process drops, so a machine
// littered by crashed runs slows a run by a second or two, not minutes; each
// run clears its share.
const sweepLimit = 10

// keptTemplates is how many templates of other schema versions survive a sweep.
const keptTemplates = 3

// sweep drops, best effort, what earlier runs left behind: all but the newest
// templates of other schemas, and test databases older than a test binary may live (go test's
// default -timeout is 10 minutes), as younger ones may belong to a running test.
func sweep(ctx context.Context, conn *sql.Conn, keepTemplate string) error {
	// Newest templates first (OIDs grow), so older schemas' templates go.
	rows, err := conn.QueryContext(ctx, `SELECT datname FROM pg_database
		WHERE datname LIKE 'adpilot\_tmpl\_%' OR datname LIKE 'adpilot\_t\_%' OR datname LIKE 'adpilot\_build\_%'
		ORDER BY datname LIKE 'adpilot\_tmpl\_%' DESC, oid DESC`)
	if err != nil {
		return err
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return err
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	cutoff := time.Now().Add(-15 * time.Minute).Unix()
	dropped, templates := 0, 0
	for _, n := range names {
		var stale bool
		if strings.HasPrefix(n, "adpilot_tmpl_") {
			// Other checkouts on this server may be testing other schemas:
			// keep the newest few templates, whoever they belong to.
			if n != keepTemplate {
				templates++
				stale = templates > keptTemplates
			}
		} else {
			rest := strings.TrimPrefix(strings.TrimPrefix(n, testDBPrefix), "adpilot_build_")
			born, _ := strconv.ParseInt(strings.SplitN(rest, "_", 2)[0], 10, 64)
			stale = born < cutoff && dropped < sweepLimit
		}
		if stale {
			dropped++
			_, _ = conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+n+" WITH (FORCE)") // best effort
		}
	}
	return nil
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
