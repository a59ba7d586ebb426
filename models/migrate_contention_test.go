package models_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"adpilot/models"
	"adpilot/testutil"
)

// DB_MAX_OPEN_CONNS=1 is a valid setting, so MigrateUp must work with a
// pool of one connection rather than wait forever for a second one.
func TestMigrateUpWithPoolOfOne(t *testing.T) {
	t.Parallel()
	dbURL := testutil.NewDatabase(t)
	store, err := models.Open(context.Background(), dbURL, models.PoolConfig{MaxOpenConns: 1, MaxIdleConns: 1, ConnMaxLifetime: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := store.MigrateUp(ctx)
		done <- err
	}()
	select {
	case err := <-done:
		store.Close()
		if err != nil {
			t.Fatalf("MigrateUp with one connection: %v", err)
		}
	case <-time.After(8 * time.Second):
		store.Close() // fails the waiting query, so the goroutine ends
		<-done
		t.Fatal("MigrateUp with one connection is still waiting after 8s, despite a 5s context")
	}
}

// An operator running `adpilot migrate status` while a replica starts on a
// fresh database must not make the replica's MigrateUp fail: reading the
// status must not race the migration for the schema_migrations table.
func TestMigrateUpWhileStatusIsRead(t *testing.T) {
	t.Parallel()
	const rounds, readers = 5, 3
	total := migrationCount(t)
	for round := range rounds {
		dbURL := testutil.NewDatabase(t)
		migrator := testutil.OpenStore(t, dbURL)
		statusStores := make([]*models.Store, readers)
		for i := range statusStores {
			statusStores[i] = testutil.OpenStore(t, dbURL)
		}

		start := make(chan struct{})
		var wg sync.WaitGroup
		var applied int
		var migrateErr error
		statusErrs := make([]error, readers)
		wg.Go(func() {
			<-start
			applied, migrateErr = migrator.MigrateUp(context.Background())
		})
		for i, s := range statusStores {
			wg.Go(func() {
				<-start
				_, statusErrs[i] = s.MigrationStatuses(context.Background())
			})
		}
		close(start)
		wg.Wait()

		if migrateErr != nil || applied != total {
			t.Errorf("round %d: MigrateUp = %d, %v; want %d, nil", round, applied, migrateErr, total)
		}
		for i, err := range statusErrs {
			if err != nil {
				t.Errorf("round %d: MigrationStatuses %d: %v", round, i, err)
			}
		}
	}
}
