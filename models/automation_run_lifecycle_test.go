package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"adpilot/models"
	"adpilot/testutil"
)

func TestRunLifecycleCountersAndErrorAfterFiveFailures(t *testing.T) {
	store, dbURL := testutil.NewStore(t)
	db := openDB(t, dbURL)
	tenant := insertTenant(t, db, "runs")
	if _, err := db.Exec(`INSERT INTO app_user (tenant_id, email, role) VALUES ($1, 'admin@runs.test', 'admin')`, tenant); err != nil {
		t.Fatal(err)
	}
	id := insertAutomation(t, db, tenant)
	ctx := context.Background()
	notice := func(a models.Automation) models.Email {
		return models.Email{Subject: "stopped: " + a.Name, Text: "t", HTML: "h"}
	}
	run := func(fail bool) models.Run {
		now := time.Now()
		r, err := store.QueueManualRun(ctx, tenant, id, now, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if r, err = store.StartRun(ctx, r, now, time.Minute); err != nil {
			t.Fatal(err)
		}
		var runErr error
		if fail {
			runErr = errors.New("the platform said no")
		}
		out, err := store.FinishRun(ctx, r, now.Add(time.Second), map[string]int{"rows": 3}, []models.RunLog{{At: now, Level: "info", Message: "fetched"}}, runErr, notice)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if r := run(false); r.Status != models.RunCompleted || r.Trigger != models.TriggerManual {
		t.Fatalf("run = %+v", r)
	}
	for range 4 {
		run(true)
	}
	run(false) // a success resets the streak
	for range 5 {
		run(true)
	}
	a, _ := store.GetAutomation(ctx, tenant, id)
	if a.Status != models.AutomationError || a.RunCount != 11 || a.ErrorCount != 9 || a.LastRun == nil {
		t.Fatalf("automation after the runs: status %s, runs %d, errors %d", a.Status, a.RunCount, a.ErrorCount)
	}
	var mails int
	_ = db.QueryRow(`SELECT count(*) FROM email_outbox WHERE subject = 'stopped: daily report'`).Scan(&mails)
	if mails != 1 {
		t.Fatalf("%d notices, want 1", mails)
	}
	// A worker whose lease was taken over cannot record its result.
	r, _ := store.QueueManualRun(ctx, tenant, id, time.Now(), time.Minute)
	stale := r
	if _, err := store.ReclaimExpiredRuns(ctx, time.Now().Add(2*time.Minute), 10, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := store.StartRun(ctx, stale, time.Now(), time.Minute); !errors.Is(err, models.ErrLeaseLost) {
		t.Fatalf("a stale worker started the run: %v", err)
	}
}

func TestOneRunningRunPerAutomation(t *testing.T) {
	store, dbURL := testutil.NewStore(t)
	db := openDB(t, dbURL)
	tenant := insertTenant(t, db, "busy")
	id := insertAutomation(t, db, tenant)
	ctx := context.Background()
	now := time.Now()
	first, _ := store.QueueManualRun(ctx, tenant, id, now, time.Minute)
	second, _ := store.QueueManualRun(ctx, tenant, id, now, time.Minute)
	if _, err := store.StartRun(ctx, first, now, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := store.StartRun(ctx, second, now, time.Minute); !errors.Is(err, models.ErrRunBusy) {
		t.Fatalf("a second concurrent run started: %v", err)
	}
}
