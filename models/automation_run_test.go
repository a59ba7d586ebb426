package models_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"adpilot/testutil"
)

func TestDeleteRunsBefore(t *testing.T) {
	t.Parallel()
	store, dbURL := testutil.NewStore(t)
	db := openDB(t, dbURL)
	cutoff := time.Now().Add(-30 * 24 * time.Hour).Truncate(time.Microsecond)

	automations := map[string]string{} // tenant slug -> automation id
	for _, slug := range []string{"acme", "globex"} {
		automations[slug] = insertAutomation(t, db, insertTenant(t, db, slug))
	}
	startedAt := map[string]time.Time{
		"old":    cutoff.Add(-time.Hour),
		"cutoff": cutoff, // not before the cutoff, so kept
		"recent": cutoff.Add(time.Hour),
	}
	runs := []struct {
		tenant, status, age string
		kept                bool
	}{
		{"acme", "completed", "old", false},
		{"acme", "failed", "old", false},
		{"acme", "running", "old", true},
		{"acme", "completed", "recent", true},
		{"acme", "failed", "cutoff", true},
		{"globex", "completed", "old", false},
		{"globex", "failed", "old", false},
		{"globex", "running", "old", true},
		{"globex", "failed", "recent", true},
		{"globex", "queued", "old", true}, // one running run per automation: the other in-progress state
	}
	labels := map[string]string{} // run id -> "tenant/status/age"
	var wantKept []string
	for _, r := range runs {
		started := startedAt[r.age]
		var completed *time.Time
		if r.status == "completed" || r.status == "failed" {
			c := started.Add(time.Minute)
			completed = &c
		}
		var id string
		err := db.QueryRow(`INSERT INTO automation_run (tenant_id, automation_id, status, started_at, completed_at)
			SELECT tenant_id, id, $2, $3, $4 FROM automation WHERE id = $1 RETURNING id`,
			automations[r.tenant], r.status, started, completed).Scan(&id)
		if err != nil {
			t.Fatalf("inserting run %+v: %v", r, err)
		}
		labels[id] = r.tenant + "/" + r.status + "/" + r.age
		if r.kept {
			wantKept = append(wantKept, labels[id])
		}
	}
	slices.Sort(wantKept)
	wantDeleted := len(runs) - len(wantKept)

	n, err := store.DeleteRunsBefore(context.Background(), cutoff)
	if err != nil {
		t.Fatalf("DeleteRunsBefore: %v", err)
	}
	if n != int64(wantDeleted) {
		t.Errorf("DeleteRunsBefore deleted %d runs, want %d", n, wantDeleted)
	}
	var kept []string
	for _, id := range queryStrings(t, db, `SELECT id::text FROM automation_run`) {
		kept = append(kept, labels[id])
	}
	slices.Sort(kept)
	if !slices.Equal(kept, wantKept) {
		t.Errorf("runs left:\n%v\nwant:\n%v", kept, wantKept)
	}
}
