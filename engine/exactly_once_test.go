package engine_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"adpilot/engine"
	"adpilot/models"
	"adpilot/platforms"
)

// stallRunner runs its runner, then (the first time only) stalls until
// released: a worker that hangs past its lease after computing its output.
type stallRunner struct {
	inner   engine.Runner
	mu      sync.Mutex
	calls   int
	reached chan struct{}
	release chan struct{}
}

func newStallRunner(inner engine.Runner) *stallRunner {
	return &stallRunner{inner: inner, reached: make(chan struct{}), release: make(chan struct{})}
}

func (s *stallRunner) Run(ctx context.Context, job engine.Job) (engine.Output, error) {
	out, err := s.inner.Run(ctx, job)
	s.mu.Lock()
	s.calls++
	first := s.calls == 1
	s.mu.Unlock()
	if first {
		close(s.reached)
		<-s.release
	}
	return out, err
}

// testClock is the engine's clock, moved by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// stalledRetry runs an automation's manual run on worker A, which stalls
// after its runner; A's lease runs out, B reclaims the run and finishes
// it; then A wakes and tries to finish too. It returns the run.
func stalledRetry(t *testing.T, store *models.Store, eng *engine.Engine, clock *testClock, stall *stallRunner, tenantID, autoID string) models.Run {
	t.Helper()
	ctx := context.Background()
	run, err := store.QueueManualRun(ctx, tenantID, autoID, clock.now(), engine.Lease)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		run models.Run
		err error
	}
	doneA := make(chan result, 1)
	go func() {
		r, err := eng.Execute(ctx, run)
		doneA <- result{r, err}
	}()
	select {
	case <-stall.reached:
	case r := <-doneA:
		t.Fatalf("worker A ended before stalling: %+v, %v", r.run, r.err)
	case <-time.After(30 * time.Second):
		t.Fatal("worker A never reached its runner")
	}

	clock.advance(engine.Lease + time.Minute)
	reclaimed, err := store.ReclaimExpiredRuns(ctx, clock.now(), 10, engine.Lease)
	if err != nil || len(reclaimed) != 1 || reclaimed[0].ID != run.ID || reclaimed[0].Attempt != 2 {
		t.Fatalf("reclaimed %+v (%v), want run %s at attempt 2", reclaimed, err, run.ID)
	}
	b, err := eng.Execute(ctx, reclaimed[0])
	if err != nil || b.Status != models.RunCompleted {
		t.Fatalf("worker B: %+v, %v", b, err)
	}

	close(stall.release)
	a := <-doneA
	if !errors.Is(a.err, models.ErrLeaseLost) {
		t.Fatalf("worker A after its lease was lost: %+v, err %v; want ErrLeaseLost", a.run, a.err)
	}
	return b
}

type deliveryRow struct {
	seq     int
	title   string
	payload []byte
}

func runDeliveries(t *testing.T, db *sql.DB, runID string) []deliveryRow {
	t.Helper()
	rows, err := db.Query(`SELECT seq, title, payload FROM delivery WHERE run_id = $1 ORDER BY seq`, runID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []deliveryRow
	for rows.Next() {
		var d deliveryRow
		if err := rows.Scan(&d.seq, &d.title, &d.payload); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func countRows(t *testing.T, db *sql.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func insertWebhook(t *testing.T, db *sql.DB, tenantID string) string {
	t.Helper()
	var id string
	if err := db.QueryRow(`INSERT INTO destination (tenant_id, name, type, config) VALUES ($1, 'Hook', 'webhook',
		'{"url":"https://hooks.example.test/in"}') RETURNING id`, tenantID).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// A sync whose worker stalls past its lease, while another replica runs it
// again, queues each of its messages exactly once: the stalled worker's
// deliveries and cursor are fenced off by the lease.
func TestStalledSyncRunDeliversEachMessageOnce(t *testing.T) {
	e := rsSetup(t)
	ctx := context.Background()
	dest := insertWebhook(t, e.db, e.tenantID)
	var autoID string
	if err := e.db.QueryRow(`INSERT INTO automation (tenant_id, destination_id, name, type, automation_config)
		VALUES ($1, $2, 'Ad sync', 'data_sync', '{"level":"ad","metrics":["spend"],"lookback_days":3}') RETURNING id`,
		e.tenantID, dest).Scan(&autoID); err != nil {
		t.Fatal(err)
	}
	if err := e.store.SetAutomationConnections(ctx, e.tenantID, autoID, []string{e.conns[shopRef].ID}); err != nil {
		t.Fatal(err)
	}
	clock := &testClock{t: rsNow}
	stall := newStallRunner(engine.NewSyncRunner(e.deps))
	eng := engine.New(e.deps, nil, map[string]engine.Runner{engine.TypeSync: stall}, clock.now)

	run := stalledRetry(t, e.store, eng, clock, stall, e.tenantID, autoID)

	var result struct {
		RowsChanged int `json:"rows_changed"`
	}
	var raw []byte
	if err := e.db.QueryRow(`SELECT result FROM automation_run WHERE id = $1`, run.ID).Scan(&raw); err != nil || json.Unmarshal(raw, &result) != nil {
		t.Fatalf("run result %s (%v)", raw, err)
	}
	want := (result.RowsChanged + engine.SyncBatchSize - 1) / engine.SyncBatchSize
	if result.RowsChanged <= engine.SyncBatchSize || want < 2 {
		t.Fatalf("%d rows changed: the test needs several batches", result.RowsChanged)
	}
	dels := runDeliveries(t, e.db, run.ID)
	if len(dels) != want {
		t.Fatalf("%d deliveries for the run, want exactly %d (one per batch)", len(dels), want)
	}
	rows := 0
	for i, d := range dels {
		var m struct {
			Data struct {
				Batch int   `json:"batch"`
				Rows  []any `json:"rows"`
			} `json:"data"`
		}
		if err := json.Unmarshal(d.payload, &m); err != nil {
			t.Fatal(err)
		}
		if d.seq != i || m.Data.Batch != i+1 {
			t.Fatalf("delivery %d: seq %d, batch %d", i, d.seq, m.Data.Batch)
		}
		rows += len(m.Data.Rows)
	}
	if rows != result.RowsChanged {
		t.Fatalf("deliveries carry %d rows, want %d", rows, result.RowsChanged)
	}
	if n := countRows(t, e.db, `SELECT count(*) FROM delivery WHERE tenant_id = $1`, e.tenantID); n != want {
		t.Fatalf("%d deliveries in all, want %d", n, want)
	}
	if n := countRows(t, e.db, `SELECT count(*) FROM sync_cursor WHERE automation_id = $1`, autoID); n != 1 {
		t.Fatalf("%d cursors, want 1", n)
	}

	// The next run finds nothing new: the committed cursor is B's.
	next, err := e.store.QueueManualRun(ctx, e.tenantID, autoID, clock.now(), engine.Lease)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := eng.Execute(ctx, next); err != nil || r.Status != models.RunCompleted {
		t.Fatalf("next run: %+v, %v", r, err)
	}
	if n := len(runDeliveries(t, e.db, next.ID)); n != 0 {
		t.Fatalf("the next run queued %d deliveries of unchanged rows", n)
	}
}

// An alert whose worker stalls past its lease fires once: the stalled
// worker's state and notice are fenced off, and the retried run's state
// keeps the next run quiet (cooldown).
func TestStalledAlertRunNotifiesOnce(t *testing.T) {
	reg := platforms.NewRegistry(platforms.Settings{}, true)
	day, _ := alertSpikeDay(t, reg)
	now := alertNoon(day.AddDate(0, 0, 1))
	e := alertSetup(t, alertSpikeConfig, now, nil, nil)
	ctx := context.Background()
	dest := insertWebhook(t, e.db, e.tenantID)
	if _, err := e.db.Exec(`UPDATE automation SET destination_id = $1 WHERE id = $2`, dest, e.autoID); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	deps := engine.Deps{Store: e.store, Platforms: e.reg, Logger: logger, BaseURL: "https://x"}
	clock := &testClock{t: now}
	stall := newStallRunner(engine.NewAlertRunner(deps))
	eng := engine.New(deps, nil, map[string]engine.Runner{engine.TypeAlert: stall}, clock.now)

	run := stalledRetry(t, e.store, eng, clock, stall, e.tenantID, e.autoID)
	dels := runDeliveries(t, e.db, run.ID)
	if len(dels) != 1 || dels[0].title != "Alert: Spend watch" {
		t.Fatalf("deliveries = %+v, want the one alert", dels)
	}
	if n := len(e.states()); n == 0 {
		t.Fatal("the retried run stored no alert state")
	}

	// Within the cooldown the next run is quiet: the fired state is stored.
	clock.advance(10 * time.Minute)
	next, err := e.store.QueueManualRun(ctx, e.tenantID, e.autoID, clock.now(), engine.Lease)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := eng.Execute(ctx, next); err != nil || r.Status != models.RunCompleted {
		t.Fatalf("next run: %+v, %v", r, err)
	}
	if n := countRows(t, e.db, `SELECT count(*) FROM delivery WHERE tenant_id = $1`, e.tenantID); n != 1 {
		t.Fatalf("%d alert deliveries in all, want 1", n)
	}
}
