package jobs_test

import (
	"context"
	"database/sql"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"adpilot/app"
	"adpilot/config"
	"adpilot/connections"
	"adpilot/jobs"
	"adpilot/models"
	"adpilot/platforms"
	"adpilot/testutil"
	"adpilot/vault"
)

func testConfig(t *testing.T, dbURL string) *config.Config {
	t.Helper()
	cfg, err := config.FromMap(map[string]string{"ENV": "test", "DATABASE_URL": dbURL, "CLEANUP_INTERVAL": "1h", "RUN_RETENTION": "720h"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// seedRuns creates one automation with an old and a recent finished run.
func seedRuns(t *testing.T, db *sql.DB) {
	t.Helper()
	stmts := []string{
		`INSERT INTO tenant (id, name, slug) VALUES ('00000000-0000-0000-0000-00000000000a', 'Acme', 'acme')`,
		`INSERT INTO automation (id, tenant_id, name, type) VALUES ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-00000000000a', 'Daily', 'scheduled_report')`,
		`INSERT INTO automation_run (tenant_id, automation_id, started_at, completed_at, status)
		 VALUES ('00000000-0000-0000-0000-00000000000a', '00000000-0000-0000-0000-0000000000a1', now() - interval '40 days', now() - interval '40 days', 'completed'),
		        ('00000000-0000-0000-0000-00000000000a', '00000000-0000-0000-0000-0000000000a1', now() - interval '1 day', now() - interval '1 day', 'completed')`,
	}
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// TestCleanupRunsOnTheLeaderOnly starts two replicas' schedulers on one
// database with fake clocks: when the interval passes, exactly one of them
// prunes the old run and the recent one stays.
func TestCleanupRunsOnTheLeaderOnly(t *testing.T) {
	dbURL := testutil.NewMigratedDatabase(t)
	db, err := sql.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	seedRuns(t, db)

	cfg := testConfig(t, dbURL)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	var logs [2]testutil.LogBuffer
	var clocks [2]*clockwork.FakeClock
	for i := range 2 {
		clocks[i] = clockwork.NewFakeClock()
		logger := slog.New(slog.NewTextHandler(&logs[i], nil))
		s, err := newScheduler(t, cfg, testutil.OpenStore(t, dbURL), logger, jobs.WithClock(clocks[i]))
		if err != nil {
			t.Fatal(err)
		}
		s.Start()
		t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	}
	for _, clk := range clocks {
		if err := clk.BlockUntilContext(ctx, 1); err != nil {
			t.Fatalf("scheduler never armed its timer: %v", err)
		}
		clk.Advance(time.Hour + time.Second)
	}

	for {
		var remaining int
		if err := db.QueryRow(`SELECT count(*) FROM automation_run`).Scan(&remaining); err != nil {
			t.Fatal(err)
		}
		done := strings.Contains(logs[0].String(), "cleanup done") || strings.Contains(logs[1].String(), "cleanup done")
		if remaining == 1 && done {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("old run not pruned: %d runs left\nreplica 1:\n%s\nreplica 2:\n%s", remaining, logs[0].String(), logs[1].String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	var recent int
	if err := db.QueryRow(`SELECT count(*) FROM automation_run WHERE started_at > now() - interval '2 days'`).Scan(&recent); err != nil || recent != 1 {
		t.Fatalf("the recent run was not kept: %d (%v)", recent, err)
	}
	// Give the other replica time to run too if election were broken.
	time.Sleep(200 * time.Millisecond)
	ran := 0
	for i := range logs {
		if strings.Contains(logs[i].String(), "cleanup done") {
			ran++
		}
	}
	if ran != 1 {
		t.Fatalf("cleanup ran on %d replicas, want exactly 1\nreplica 1:\n%s\nreplica 2:\n%s", ran, logs[0].String(), logs[1].String())
	}
}

// newScheduler builds the jobs the way app.New does, on store.
func newScheduler(t *testing.T, cfg *config.Config, store *models.Store, logger *slog.Logger, opts ...jobs.Option) (*jobs.Scheduler, error) {
	t.Helper()
	current, previous := cfg.VaultKeys()
	keyring, err := vault.New(current, previous...)
	if err != nil {
		t.Fatal(err)
	}
	store.SetVault(keyring)
	reg := platforms.NewRegistry(app.PlatformSettings(cfg, logger), false)
	return jobs.New(cfg, store, connections.New(store, reg, logger, cfg.BaseURL), logger, opts...)
}
