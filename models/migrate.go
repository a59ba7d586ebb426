package models

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	migrate "github.com/rubenv/sql-migrate"

	"adpilot/migrations"
)

// migrationLockKey is the pg_advisory_lock key that serialises migrations
// between replicas starting together ("adpilot1" as an int64).
const migrationLockKey int64 = 0x6164_7069_6c6f_7431

var migrationSet = migrate.MigrationSet{TableName: "schema_migrations"}

// MigrateUp applies every pending migration and returns how many ran.
func (s *Store) MigrateUp(ctx context.Context) (int, error) {
	return s.migrate(ctx, migrate.Up, 0)
}

// MigrateDown rolls back the most recent migration.
func (s *Store) MigrateDown(ctx context.Context) (int, error) {
	return s.migrate(ctx, migrate.Down, 1)
}

func (s *Store) migrate(ctx context.Context, dir migrate.MigrationDirection, max int) (n int, err error) {
	err = s.withMigrationLock(ctx, func() error {
		n, err = migrationSet.ExecMaxContext(ctx, s.db.DB, "postgres", migrations.Source, dir, max)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("migrating: %w", err)
	}
	return n, nil
}

// withMigrationLock runs fn holding a session-level advisory lock, so
// concurrent replicas (and `adpilot migrate status`) never race on the
// schema or on sql-migrate's own table. The lock lives on a connection of
// its own, outside the pool, so even a pool of one connection can migrate.
func (s *Store) withMigrationLock(ctx context.Context, fn func() error) error {
	lockDB, err := sql.Open("postgres", s.url)
	if err != nil {
		return err
	}
	defer lockDB.Close() // also releases the lock if the unlock below failed
	conn, err := lockDB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connecting for the migration lock: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrationLockKey); err != nil {
		return fmt.Errorf("taking the migration lock: %w", err)
	}
	defer func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLockKey)
	}()
	return fn()
}

// MigrationStatus is one migration and when it was applied (zero if pending).
type MigrationStatus struct {
	ID        string
	AppliedAt time.Time
}

// MigrationStatuses lists every known migration in order.
func (s *Store) MigrationStatuses(ctx context.Context) ([]MigrationStatus, error) {
	all, err := migrations.Source.FindMigrations()
	if err != nil {
		return nil, err
	}
	var records []*migrate.MigrationRecord
	err = s.withMigrationLock(ctx, func() (err error) {
		records, err = migrationSet.GetMigrationRecords(s.db.DB, "postgres")
		return err
	})
	if err != nil {
		return nil, err
	}
	applied := map[string]time.Time{}
	for _, r := range records {
		applied[r.Id] = r.AppliedAt
	}
	out := make([]MigrationStatus, 0, len(all))
	for _, m := range all {
		out = append(out, MigrationStatus{ID: m.Id, AppliedAt: applied[m.Id]})
	}
	return out, nil
}
