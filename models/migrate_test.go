package models_test

import (
	"context"
	"database/sql"
	"slices"
	"sync"
	"testing"

	"adpilot/migrations"
	"adpilot/models"
	"adpilot/testutil"
)

// appTables are the tables the schema must create.
var appTables = []string{"tenant", "app_user", "ad_token", "destination", "automation", "automation_run"}

func migrationCount(t *testing.T) int {
	t.Helper()
	all, err := migrations.Source.FindMigrations()
	if err != nil {
		t.Fatalf("listing migrations: %v", err)
	}
	if len(all) == 0 {
		t.Fatal("no migrations embedded")
	}
	return len(all)
}

// queryStrings runs q and returns its single text column, sorted.
func queryStrings(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func publicTables(t *testing.T, db *sql.DB) []string {
	t.Helper()
	return queryStrings(t, db, `SELECT tablename FROM pg_tables WHERE schemaname = 'public'`)
}

func publicFunctions(t *testing.T, db *sql.DB) []string {
	t.Helper()
	return queryStrings(t, db, `SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'`)
}

func assertAllTablesExist(t *testing.T, db *sql.DB) {
	t.Helper()
	tables := publicTables(t, db)
	for _, want := range appTables {
		if !slices.Contains(tables, want) {
			t.Errorf("table %s missing after migrating up; have %v", want, tables)
		}
	}
}

// assertApplied checks that MigrationStatuses lists every migration, each
// applied (applied=true) or pending (applied=false).
func assertApplied(t *testing.T, store *models.Store, total int, applied bool) {
	t.Helper()
	statuses, err := store.MigrationStatuses(context.Background())
	if err != nil {
		t.Fatalf("MigrationStatuses: %v", err)
	}
	if len(statuses) != total {
		t.Fatalf("MigrationStatuses lists %d migrations, want %d", len(statuses), total)
	}
	for _, s := range statuses {
		if s.AppliedAt.IsZero() == applied {
			t.Errorf("migration %s: applied at %v, want applied=%v", s.ID, s.AppliedAt, applied)
		}
	}
}

func migrateUp(t *testing.T, store *models.Store, want int) {
	t.Helper()
	n, err := store.MigrateUp(context.Background())
	if err != nil {
		t.Fatalf("MigrateUp: %v", err)
	}
	if n != want {
		t.Fatalf("MigrateUp applied %d migrations, want %d", n, want)
	}
}

func TestMigrateUpDownUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := testutil.NewDatabase(t)
	store := testutil.OpenStore(t, dbURL)
	db := openDB(t, dbURL)
	total := migrationCount(t)

	migrateUp(t, store, total)
	assertAllTablesExist(t, db)
	assertApplied(t, store, total, true)
	migrateUp(t, store, 0)

	downs := 0
	for {
		n, err := store.MigrateDown(ctx)
		if err != nil {
			t.Fatalf("MigrateDown after %d rollbacks: %v", downs, err)
		}
		if n == 0 {
			break
		}
		if n != 1 {
			t.Fatalf("MigrateDown rolled back %d migrations, want 1", n)
		}
		if downs++; downs > total {
			t.Fatalf("MigrateDown keeps rolling back: %d times for %d migrations", downs, total)
		}
	}
	if downs != total {
		t.Errorf("rolled back %d migrations, want %d", downs, total)
	}
	if tables := publicTables(t, db); !slices.Equal(tables, []string{"schema_migrations"}) {
		t.Errorf("after rolling everything back, tables %v remain; want only schema_migrations", tables)
	}
	if funcs := publicFunctions(t, db); len(funcs) != 0 {
		t.Errorf("after rolling everything back, functions %v remain", funcs)
	}
	assertApplied(t, store, total, false)

	migrateUp(t, store, total)
	assertAllTablesExist(t, db)
	assertApplied(t, store, total, true)
}

// Replicas starting together all run MigrateUp; the advisory lock must make
// each migration run exactly once and no replica fail.
func TestMigrateUpConcurrentStart(t *testing.T) {
	t.Parallel()
	const replicas = 4
	dbURL := testutil.NewDatabase(t)
	total := migrationCount(t)
	stores := make([]*models.Store, replicas)
	for i := range stores {
		stores[i] = testutil.OpenStore(t, dbURL)
	}

	start := make(chan struct{})
	counts := make([]int, replicas)
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i, store := range stores {
		wg.Go(func() {
			<-start
			counts[i], errs[i] = store.MigrateUp(context.Background())
		})
	}
	close(start)
	wg.Wait()

	sum := 0
	for i := range replicas {
		if errs[i] != nil {
			t.Errorf("replica %d: MigrateUp: %v", i, errs[i])
		}
		sum += counts[i]
	}
	if sum != total {
		t.Errorf("replicas applied %v migrations, %d in all; want %d in all", counts, sum, total)
	}
	assertAllTablesExist(t, openDB(t, dbURL))
	assertApplied(t, stores[0], total, true)
}
