package models_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"adpilot/models"
	"adpilot/testutil"
)

// A run's effects are committed with its end, once, by the worker that
// holds its lease: a worker whose run was reclaimed writes nothing.
func TestRunEffectsAreFencedByTheLease(t *testing.T) {
	store, dbURL := testutil.NewStore(t)
	db := openDB(t, dbURL)
	ctx := context.Background()
	tenant := insertTenant(t, db, "effects")
	auto := insertAutomation(t, db, tenant)
	var dest string
	if err := db.QueryRow(`INSERT INTO destination (tenant_id, name, type) VALUES ($1, 'Hook', 'webhook') RETURNING id`, tenant).Scan(&dest); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE automation SET destination_id = $1 WHERE id = $2`, dest, auto); err != nil {
		t.Fatal(err)
	}
	effects := models.RunEffects{
		AlertStates: []models.AlertStateWrite{{EntityKey: "c:campaign:1", State: map[string]bool{"firing": true}}},
		Deliveries: []models.DeliveryInput{{DestinationID: dest, Event: "report", Title: "one", Payload: []byte(`{}`)},
			{DestinationID: dest, Event: "report", Title: "two", Payload: []byte(`{}`)}},
	}
	now := time.Now()
	queued, err := store.QueueManualRun(ctx, tenant, auto, now, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	a, err := store.StartRun(ctx, queued, now, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	// A stalls; its lease runs out and B takes the run up.
	later := now.Add(2 * time.Minute)
	reclaimed, err := store.ReclaimExpiredRuns(ctx, later, 10, time.Minute)
	if err != nil || len(reclaimed) != 1 {
		t.Fatalf("reclaimed %v (%v)", reclaimed, err)
	}
	b, err := store.StartRun(ctx, reclaimed[0], later, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.FinishRunWith(ctx, a, later, nil, nil, nil, effects, nil); !errors.Is(err, models.ErrLeaseLost) {
		t.Fatalf("A finishing after losing its lease: %v", err)
	}
	var n int
	_ = db.QueryRow(`SELECT (SELECT count(*) FROM delivery) + (SELECT count(*) FROM alert_state)`).Scan(&n)
	if n != 0 {
		t.Fatalf("the worker that lost its lease wrote %d rows", n)
	}
	// A shutting down cannot hand B's run back either.
	if err := store.ReleaseRun(ctx, a, later); err != nil {
		t.Fatal(err)
	}
	if r, err := store.FinishRunWith(ctx, b, later, nil, nil, nil, effects, nil); err != nil || r.Status != models.RunCompleted {
		t.Fatalf("B finishing: %+v, %v", r, err)
	}
	_ = db.QueryRow(`SELECT count(*) FROM delivery WHERE run_id = $1`, b.ID).Scan(&n)
	if n != 2 {
		t.Fatalf("%d deliveries, want 2", n)
	}
	var state string
	_ = db.QueryRow(`SELECT state::text FROM alert_state WHERE automation_id = $1`, auto).Scan(&state)
	if state != `{"firing": true}` {
		t.Fatalf("alert state %q", state)
	}
	// The (run, seq) key: a message of a run cannot be queued twice.
	_, err = db.Exec(`INSERT INTO delivery (tenant_id, destination_id, run_id, seq, event, payload) VALUES ($1, $2, $3, 1, 'report', '\x7b7d')`,
		tenant, dest, b.ID)
	wantSQLState(t, err, codeUnique)
	// Deliveries without a run never collide.
	for range 2 {
		_, err = db.Exec(`INSERT INTO delivery (tenant_id, destination_id, event, payload) VALUES ($1, $2, 'test', '\x7b7d')`, tenant, dest)
		wantSQLState(t, err, "")
	}
}

// A failed run commits none of its effects.
func TestFailedRunCommitsNoEffects(t *testing.T) {
	store, dbURL := testutil.NewStore(t)
	db := openDB(t, dbURL)
	ctx := context.Background()
	tenant := insertTenant(t, db, "failing")
	auto := insertAutomation(t, db, tenant)
	now := time.Now()
	r, _ := store.QueueManualRun(ctx, tenant, auto, now, time.Minute)
	r, err := store.StartRun(ctx, r, now, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	effects := models.RunEffects{AlertStates: []models.AlertStateWrite{{EntityKey: "k", State: map[string]bool{"firing": true}}}}
	if r, err = store.FinishRunWith(ctx, r, now, nil, nil, errors.New("boom"), effects, nil); err != nil || r.Status != models.RunFailed {
		t.Fatalf("%+v, %v", r, err)
	}
	var n int
	_ = db.QueryRow(`SELECT count(*) FROM alert_state`).Scan(&n)
	if n != 0 {
		t.Fatalf("a failed run stored %d alert states", n)
	}
}

// Sync cursors are per automation; hashes older than PruneBefore go.
func TestSyncCursorPerAutomation(t *testing.T) {
	store, dbURL := testutil.NewStore(t)
	db := openDB(t, dbURL)
	ctx := context.Background()
	tenant := insertTenant(t, db, "cursors")
	a1, a2 := insertAutomation(t, db, tenant), insertAutomation(t, db, tenant)
	var conn string
	if err := db.QueryRow(`INSERT INTO ad_token (tenant_id, platform, account_ref, access_token_enc) VALUES ($1, 'demo', 'demo_act_1', '\x01') RETURNING id`,
		tenant).Scan(&conn); err != nil {
		t.Fatal(err)
	}
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	w := models.SyncCursorWrite{ConnectionID: conn, Level: "campaign", Day: day("2024-11-26"),
		Rows: []models.SyncRowHash{{EntityID: "c1", Day: day("2024-10-01"), Hash: "old"}, {EntityID: "c1", Day: day("2024-11-25"), Hash: "h1"}}}
	if err := store.SaveRunEffects(ctx, tenant, a1, time.Now(), models.RunEffects{SyncCursors: []models.SyncCursorWrite{w}}); err != nil {
		t.Fatal(err)
	}
	c, err := store.GetSyncCursor(ctx, tenant, a1, conn, "campaign", day("2024-10-28"))
	if err != nil || !c.Day.Equal(day("2024-11-26")) || len(c.Hashes) != 1 || c.Hashes[models.SyncCursorKey("c1", day("2024-11-25"))] != "h1" {
		t.Fatalf("cursor of a1: %+v (%v)", c, err)
	}
	if c, err := store.GetSyncCursor(ctx, tenant, a2, conn, "campaign", day("2024-10-28")); err != nil || !c.Day.IsZero() || len(c.Hashes) != 0 {
		t.Fatalf("cursor of a2: %+v (%v)", c, err)
	}
	if c, _ := store.GetSyncCursor(ctx, "00000000-0000-4000-8000-000000000000", a1, conn, "campaign", day("2024-10-01")); !c.Day.IsZero() {
		t.Fatal("another tenant read the cursor")
	}
	w.Rows, w.PruneBefore = nil, day("2024-10-28")
	if err := store.SaveRunEffects(ctx, tenant, a1, time.Now(), models.RunEffects{SyncCursors: []models.SyncCursorWrite{w}}); err != nil {
		t.Fatal(err)
	}
	var n int
	_ = db.QueryRow(`SELECT count(*) FROM sync_row WHERE automation_id = $1`, a1).Scan(&n)
	if n != 1 {
		t.Fatalf("%d hashes after pruning, want 1", n)
	}
}

// RequestManualRun queues a leased manual run of an active automation, audited.
func TestRequestManualRun(t *testing.T) {
	store, dbURL := testutil.NewStore(t)
	db := openDB(t, dbURL)
	ctx := context.Background()
	tenant := insertTenant(t, db, "manual")
	auto := insertAutomation(t, db, tenant)
	var userID string
	if err := db.QueryRow(`INSERT INTO app_user (tenant_id, email, role) VALUES ($1, 'boss@manual.test', 'admin') RETURNING id`, tenant).Scan(&userID); err != nil {
		t.Fatal(err)
	}
	u, err := store.GetUser(ctx, tenant, userID)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	a, r, err := store.RequestManualRun(ctx, u, auto, "telegram", "", now, time.Minute)
	if err != nil || a.ID != auto || r.Trigger != models.TriggerManual || r.Status != models.RunQueued || r.LeaseUntil == nil {
		t.Fatalf("%+v %+v %v", a, r, err)
	}
	if _, err := store.StartRun(ctx, r, now, time.Minute); err != nil {
		t.Fatalf("the caller cannot start its run: %v", err)
	}
	var audited int
	_ = db.QueryRow(`SELECT count(*) FROM audit_log WHERE action = 'automation.run_now' AND target_id = $1`, auto).Scan(&audited)
	if audited != 1 {
		t.Fatalf("%d audit rows", audited)
	}
	if _, err := db.Exec(`UPDATE automation SET status = 'paused' WHERE id = $1`, auto); err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.RequestManualRun(ctx, u, auto, "telegram", "", now, time.Minute); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("a paused automation: %v", err)
	}
	other := insertTenant(t, db, "other")
	if _, _, err := store.RequestManualRun(ctx, models.User{ID: u.ID, TenantID: other}, auto, "telegram", "", now, time.Minute); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("another tenant's automation: %v", err)
	}
}

// A Snooze or Acknowledge pressed while a run was deciding survives the
// run's commit; a run that read the state after the press overrides it.
func TestRunKeepsAButtonPressedDuringIt(t *testing.T) {
	store, dbURL := testutil.NewStore(t)
	db := openDB(t, dbURL)
	ctx := context.Background()
	tenant := insertTenant(t, db, "buttons")
	auto := insertAutomation(t, db, tenant)
	const key = "c:campaign:1"
	t0 := time.Now().Truncate(time.Second)
	snoozed := t0.Add(24 * time.Hour)
	// The run reads at t0; the button snoozes at t0+1s; the run commits at t0+2s.
	if err := store.SaveAlertState(ctx, tenant, auto, key, map[string]any{"firing": true, "snoozed_until": snoozed}, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	write := func(readAt time.Time, state map[string]any) map[string]any {
		t.Helper()
		if err := store.SaveRunEffects(ctx, tenant, auto, t0.Add(2*time.Second), models.RunEffects{AlertStatesReadAt: readAt,
			AlertStates: []models.AlertStateWrite{{EntityKey: key, State: state}}}); err != nil {
			t.Fatal(err)
		}
		states, err := store.AlertStates(ctx, tenant, auto)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		_ = json.Unmarshal(states[key], &got)
		return got
	}
	got := write(t0, map[string]any{"firing": true, "last_fired_at": t0})
	if got["snoozed_until"] == nil || got["last_fired_at"] == nil {
		t.Fatalf("the run's commit lost the snooze pressed during it: %v", got)
	}
	// A later run that saw the snooze and cleared it (expired) is obeyed.
	got = write(t0.Add(3*time.Second), map[string]any{"firing": false})
	if got["snoozed_until"] != nil || got["firing"] != false {
		t.Fatalf("a run that read after the press was overridden: %v", got)
	}
}
