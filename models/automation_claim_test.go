package models_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"adpilot/models"
	"adpilot/testutil"
)

// everyHour is a stand-in schedule: the next whole hour after now.
func everyHour(_ models.Automation, now time.Time) (time.Time, error) {
	return now.Truncate(time.Hour).Add(time.Hour), nil
}

// Two schedulers on their own connections claim 500 due automations at
// once: every slot runs exactly once.
func TestClaimDueRunsExactlyOnceAcrossReplicas(t *testing.T) {
	store, dbURL := testutil.NewStore(t)
	db := openDB(t, dbURL)
	tenant := insertTenant(t, db, "busy")
	due := time.Now().Add(-time.Minute).UTC().Truncate(time.Microsecond)
	if _, err := db.Exec(`INSERT INTO automation (tenant_id, name, type, next_run)
		SELECT $1, 'auto ' || g, 'scheduled_report', $2 FROM generate_series(1, 500) g`, tenant, due); err != nil {
		t.Fatal(err)
	}
	replicas := []*models.Store{store, testutil.OpenStore(t, dbURL)}
	now := time.Now()
	var mu sync.Mutex
	claimed := map[string]int{}
	var wg sync.WaitGroup
	for _, r := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				runs, err := r.ClaimDueRuns(context.Background(), now, 37, time.Minute, everyHour)
				if err != nil {
					t.Error(err)
					return
				}
				if len(runs) == 0 {
					return
				}
				mu.Lock()
				for _, run := range runs {
					claimed[run.AutomationID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(claimed) != 500 {
		t.Fatalf("%d automations ran, want 500", len(claimed))
	}
	for id, n := range claimed {
		if n != 1 {
			t.Fatalf("automation %s ran %d times", id, n)
		}
	}
	var runs, stillDue int
	_ = db.QueryRow(`SELECT count(*) FROM automation_run WHERE scheduled_for = $1 AND status = 'queued'`, due).Scan(&runs)
	_ = db.QueryRow(`SELECT count(*) FROM automation WHERE next_run <= $1`, now).Scan(&stillDue)
	if runs != 500 || stillDue != 0 {
		t.Fatalf("%d queued runs for the slot (want 500), %d automations still due (want 0)", runs, stillDue)
	}

	// Even if a slot came due again (a clock going back, a restored
	// backup), the unique key refuses a second run of it.
	if _, err := db.Exec(`UPDATE automation SET next_run = $1`, due); err != nil {
		t.Fatal(err)
	}
	again, err := store.ClaimDueRuns(context.Background(), now, 1000, time.Minute, everyHour)
	if err != nil || len(again) != 0 {
		t.Fatalf("re-claiming a slot that already ran made %d runs (%v)", len(again), err)
	}
}

func TestMissedSlotsRunOnceAndExpiredLeasesAreRetried(t *testing.T) {
	store, dbURL := testutil.NewStore(t)
	db := openDB(t, dbURL)
	tenant := insertTenant(t, db, "late")
	// Down for three days: the automation was due 72 hourly slots ago.
	if _, err := db.Exec(`INSERT INTO automation (tenant_id, name, type, next_run) VALUES ($1, 'hourly', 'alert', now() - interval '72 hours')`,
		tenant); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	runs, err := store.ClaimDueRuns(context.Background(), now, 10, time.Minute, everyHour)
	if err != nil || len(runs) != 1 {
		t.Fatalf("after downtime: %d runs (%v), want exactly 1", len(runs), err)
	}
	if more, _ := store.ClaimDueRuns(context.Background(), now, 10, time.Minute, everyHour); len(more) != 0 {
		t.Fatalf("the missed slots ran %d more times", len(more))
	}
	// The worker starts the run, then "crashes": its lease runs out and
	// another replica takes the run up again as a retry.
	if _, err := store.StartRun(context.Background(), runs[0], now, time.Minute); err != nil {
		t.Fatal(err)
	}
	if got, _ := store.ReclaimExpiredRuns(context.Background(), now.Add(30*time.Second), 10, time.Minute); len(got) != 0 {
		t.Fatal("a run was reclaimed while its lease held")
	}
	got, err := testutil.OpenStore(t, dbURL).ReclaimExpiredRuns(context.Background(), now.Add(2*time.Minute), 10, time.Minute)
	if err != nil || len(got) != 1 || got[0].ID != runs[0].ID || got[0].Attempt != 2 {
		t.Fatalf("reclaimed %+v (%v), want the run as attempt 2", got, err)
	}
	// A broken schedule parks the automation in error instead of running.
	if _, err := db.Exec(`INSERT INTO automation (tenant_id, name, type, next_run) VALUES ($1, 'broken', 'alert', now() - interval '1 minute')`,
		tenant); err != nil {
		t.Fatal(err)
	}
	broken := func(models.Automation, time.Time) (time.Time, error) { return time.Time{}, context.DeadlineExceeded }
	if runs, _ := store.ClaimDueRuns(context.Background(), time.Now(), 10, time.Minute, broken); len(runs) != 0 {
		t.Fatal("a broken schedule ran")
	}
	var status string
	_ = db.QueryRow(`SELECT status FROM automation WHERE name = 'broken'`).Scan(&status)
	if status != "error" {
		t.Fatalf("broken schedule: status %q, want error", status)
	}
}
