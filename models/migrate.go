package models

import (
	"context"
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

// migrate runs under a session-level advisory lock held on a dedicated
// connection, so concurrent replicas apply each migration exactly once.
func (s *Store) migrate(ctx context.Context, dir migrate.MigrationDirection, max int) (int, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrationLockKey); err != nil {
		return 0, fmt.Errorf("taking the migration lock: %w", err)
	}
	defer func() {
		// Closing the connection would release the lock too; unlocking first
		// lets the next replica proceed without waiting for the pool.
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLockKey)
	}()
	n, err := migrationSet.ExecMaxContext(ctx, s.db.DB, "postgres", migrations.Source, dir, max)
	if err != nil {
		return n, fmt.Errorf("migrating: %w", err)
	}
	return n, nil
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
	records, err := migrationSet.GetMigrationRecords(s.db.DB, "postgres")
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
