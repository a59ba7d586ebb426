package models_test

import (
	"context"
	"testing"
	"time"

	"adpilot/models"
	"adpilot/testutil"
)

// A deactivated tenant's due automations are not claimed; they run again once
// it is reactivated.
func TestClaimSkipsDeactivatedTenants(t *testing.T) {
	store, dbURL := testutil.NewStore(t)
	db := openDB(t, dbURL)
	ctx := context.Background()
	active := insertTenant(t, db, "still-active")
	inactive := insertTenant(t, db, "deactivated")
	due := time.Now().Add(-time.Minute).UTC()
	for _, tenant := range []string{active, inactive} {
		if _, err := db.Exec(`INSERT INTO automation (tenant_id, name, type, next_run) VALUES ($1, 'auto', 'scheduled_report', $2)`,
			tenant, due); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`UPDATE tenant SET is_active = false WHERE id = $1`, inactive); err != nil {
		t.Fatal(err)
	}
	nextRunIn := func(a models.Automation, _, _ string, now time.Time) (time.Time, error) { return everyHour(a, now) }

	for _, claim := range []struct {
		name string
		run  func() ([]models.Run, error)
	}{
		{"ClaimDueRuns", func() ([]models.Run, error) { return store.ClaimDueRuns(ctx, time.Now(), 10, time.Minute, everyHour) }},
		{"ClaimAndStartDueRuns", func() ([]models.Run, error) {
			claimed, err := store.ClaimAndStartDueRuns(ctx, time.Now(), 10, time.Minute, nextRunIn)
			runs := make([]models.Run, len(claimed))
			for i, c := range claimed {
				runs[i] = c.Run
			}
			return runs, err
		}},
	} {
		t.Run(claim.name, func(t *testing.T) {
			if _, err := db.Exec(`DELETE FROM automation_run`); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(`UPDATE automation SET next_run = $1`, due); err != nil {
				t.Fatal(err)
			}
			runs, err := claim.run()
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range runs {
				if r.TenantID == inactive {
					t.Errorf("a deactivated tenant's automation was claimed (run %s)", r.ID)
				}
			}
			if len(runs) != 1 || runs[0].TenantID != active {
				t.Errorf("claimed %d runs, want the active tenant's one", len(runs))
			}
			// Its next_run stays due: reactivated, it runs once at the next tick.
			var stillDue bool
			if err := db.QueryRow(`SELECT next_run <= now() FROM automation WHERE tenant_id = $1`, inactive).Scan(&stillDue); err != nil {
				t.Fatal(err)
			}
			if !stillDue {
				t.Error("the deactivated tenant's automation was moved on without running")
			}
		})
	}

	// Reactivated: it is claimed again.
	if _, err := db.Exec(`UPDATE tenant SET is_active = true WHERE id = $1`, inactive); err != nil {
		t.Fatal(err)
	}
	runs, err := store.ClaimDueRuns(ctx, time.Now(), 10, time.Minute, everyHour)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].TenantID != inactive {
		t.Errorf("after reactivation, claimed %v", runs)
	}
}
