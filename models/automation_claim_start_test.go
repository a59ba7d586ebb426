package models_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"adpilot/models"
	"adpilot/testutil"
)

// The scheduler's claim (ClaimAndStartDueRuns) on three replicas at once:
// every slot of 500 due automations is claimed exactly once and comes back
// already running under its lease, except for an automation with a run in
// progress, whose slot is queued to wait for it.
func TestClaimAndStartDueRunsExactlyOnce(t *testing.T) {
	store, dbURL := testutil.NewStore(t)
	db := openDB(t, dbURL)
	tenant := insertTenant(t, db, "busy-start")
	due := time.Now().Add(-time.Minute).UTC().Truncate(time.Microsecond)
	if _, err := db.Exec(`INSERT INTO automation (tenant_id, name, type, next_run)
		SELECT $1, 'auto ' || g, 'scheduled_report', $2 FROM generate_series(1, 500) g`, tenant, due); err != nil {
		t.Fatal(err)
	}
	var busy string
	if err := db.QueryRow(`SELECT id FROM automation WHERE name = 'auto 7'`).Scan(&busy); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO automation_run (tenant_id, automation_id, status, trigger, started_at, lease_until)
		VALUES ($1, $2, 'running', 'manual', now(), now() + interval '1 minute')`, tenant, busy); err != nil {
		t.Fatal(err)
	}
	next := func(_ models.Automation, _, _ string, now time.Time) (time.Time, error) {
		return now.Truncate(time.Hour).Add(time.Hour), nil
	}
	replicas := []*models.Store{store, testutil.OpenStore(t, dbURL), testutil.OpenStore(t, dbURL)}
	now := time.Now()
	var mu sync.Mutex
	claimed := map[string]int{}
	statuses := map[string]string{}
	var wg sync.WaitGroup
	for _, r := range replicas {
		wg.Go(func() {
			for {
				runs, err := r.ClaimAndStartDueRuns(context.Background(), now, 64, time.Minute, next)
				if err != nil {
					t.Error(err)
					return
				}
				if len(runs) == 0 {
					return
				}
				mu.Lock()
				for _, c := range runs {
					claimed[c.Run.AutomationID]++
					statuses[c.Run.AutomationID] = c.Run.Status
					if c.Automation.ID != c.Run.AutomationID || c.Run.LeaseUntil == nil || c.Run.ScheduledFor == nil || !c.Run.ScheduledFor.Equal(due) {
						t.Errorf("claimed run %+v of automation %s", c.Run, c.Automation.ID)
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(claimed) != 500 {
		t.Fatalf("%d automations claimed, want 500", len(claimed))
	}
	for id, n := range claimed {
		want := models.RunRunning
		if id == busy {
			want = "queued"
		}
		if n != 1 || statuses[id] != want {
			t.Fatalf("automation %s claimed %d times, status %s (want once, %s)", id, n, statuses[id], want)
		}
	}
	var running, stillDue int
	_ = db.QueryRow(`SELECT count(*) FROM automation_run WHERE scheduled_for = $1 AND status = 'running'`, due).Scan(&running)
	_ = db.QueryRow(`SELECT count(*) FROM automation WHERE next_run <= $1`, now).Scan(&stillDue)
	if running != 499 || stillDue != 0 {
		t.Fatalf("%d running runs for the slot (want 499), %d automations still due", running, stillDue)
	}
}

// Runs ending at the same moment are written in one batch, each still
// fenced by its own lease: a worker that lost its run to another writes
// nothing, the others write their run, deliveries and counters exactly.
func TestBatchedRunEndsKeepEachLease(t *testing.T) {
	store, dbURL := testutil.NewStore(t)
	db := openDB(t, dbURL)
	ctx := context.Background()
	tenant := insertTenant(t, db, "batched-ends")
	var dest string
	if err := db.QueryRow(`INSERT INTO destination (tenant_id, name, type) VALUES ($1, 'Hook', 'webhook') RETURNING id`, tenant).Scan(&dest); err != nil {
		t.Fatal(err)
	}
	due := time.Now().Add(-time.Minute).UTC().Truncate(time.Microsecond)
	if _, err := db.Exec(`INSERT INTO automation (tenant_id, name, type, next_run, destination_id)
		SELECT $1, 'auto ' || g, 'scheduled_report', $2, $3 FROM generate_series(1, 40) g`, tenant, due, dest); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	runs, err := store.ClaimAndStartDueRuns(ctx, now, 64, time.Minute, func(_ models.Automation, _, _ string, now time.Time) (time.Time, error) {
		return now.Add(time.Hour), nil
	})
	if err != nil || len(runs) != 40 {
		t.Fatalf("claimed %d (%v)", len(runs), err)
	}
	// Every 4th run's lease is taken by another worker before it ends.
	stale := map[string]bool{}
	for i, c := range runs {
		if i%4 == 0 {
			stale[c.Run.ID] = true
			if _, err := db.Exec(`UPDATE automation_run SET lease_until = lease_until + interval '1 second' WHERE id = $1`, c.Run.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, len(runs))
	for i, c := range runs {
		wg.Go(func() {
			_, _, errs[i] = store.FinishRunLeasing(ctx, c.Run, now.Add(time.Second), map[string]int{"n": i}, nil, nil,
				models.RunEffects{Deliveries: []models.DeliveryInput{
					{DestinationID: dest, Event: "report", Title: "one", Payload: []byte(`{"a":1}`)},
					{DestinationID: dest, Event: "report", Title: "two", Payload: []byte(`{"a":2}`)}}},
				nil, time.Time{})
		})
	}
	wg.Wait()
	for i, c := range runs {
		if stale[c.Run.ID] != errors.Is(errs[i], models.ErrLeaseLost) || (!stale[c.Run.ID] && errs[i] != nil) {
			t.Fatalf("run %d (stale %v) ended with %v", i, stale[c.Run.ID], errs[i])
		}
	}
	var completed, deliveries, counted, staleWrites int
	_ = db.QueryRow(`SELECT count(*) FROM automation_run WHERE status = 'completed'`).Scan(&completed)
	_ = db.QueryRow(`SELECT count(*) FROM delivery`).Scan(&deliveries)
	_ = db.QueryRow(`SELECT coalesce(sum(run_count), 0) FROM automation`).Scan(&counted)
	_ = db.QueryRow(`SELECT count(*) FROM delivery d JOIN automation_run r ON r.id = d.run_id WHERE r.status <> 'completed'`).Scan(&staleWrites)
	if completed != 30 || deliveries != 60 || counted != 30 || staleWrites != 0 {
		t.Fatalf("%d completed (want 30), %d deliveries (want 60), run_count %d (want 30), %d deliveries of lost runs",
			completed, deliveries, counted, staleWrites)
	}
}
