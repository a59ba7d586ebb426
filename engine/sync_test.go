package engine_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"strings"
	"testing"

	"adpilot/engine"
	"adpilot/models"
	"adpilot/notify"
)

func (e *rsEnv) snapshotCount(level string) int {
	e.t.Helper()
	var n int
	if err := e.db.QueryRow(`SELECT count(*) FROM metric_snapshot WHERE tenant_id = $1 AND level = $2`, e.tenantID, level).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// syncRun runs the sync runner and, unless it is a dry run, commits its
// effects (the cursor) as the engine would with the run's end.
func syncRun(t *testing.T, e *rsEnv, job engine.Job) (engine.Output, map[string]any) {
	t.Helper()
	ctx := context.Background()
	out, err := engine.NewSyncRunner(e.deps).Run(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	if !job.DryRun {
		// The cursor belongs to a stored automation.
		if _, err := e.db.Exec(`INSERT INTO automation (id, tenant_id, name, type) VALUES ($1, $2, $3, 'data_sync') ON CONFLICT (id) DO NOTHING`,
			job.Automation.ID, e.tenantID, job.Automation.Name); err != nil {
			t.Fatal(err)
		}
		if err := e.store.SaveRunEffects(ctx, e.tenantID, job.Automation.ID, job.Now, out.Effects); err != nil {
			t.Fatal(err)
		}
	}
	return out, rsJSON(t, out.Result)
}

// syncMessages are a sync output's messages in order.
func syncMessages(out engine.Output) []notify.Message {
	if out.Message == nil {
		return nil
	}
	return append([]notify.Message{*out.Message}, out.Extra...)
}

func syncCSVRows(t *testing.T, m notify.Message) [][]string {
	t.Helper()
	if len(m.Files) != 1 || !strings.HasPrefix(m.Files[0].Name, "sync-") || !strings.HasSuffix(m.Files[0].Name, ".csv") {
		t.Fatalf("files = %+v", m.Files)
	}
	recs, err := csv.NewReader(bytes.NewReader(m.Files[0].Data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestSyncFirstThenLookbackThenOneChangedRow(t *testing.T) {
	e := rsSetup(t)
	cfg := `{"level":"account","metrics":["spend","clicks","cpa"],"lookback_days":3}`
	conn := e.conns[shopRef]

	// First sync: 30 days, today (Nov 26 in New York) included.
	out, res := syncRun(t, e, e.job(engine.TypeSync, cfg, shopRef))
	if res["rows_fetched"] != 30.0 || res["rows_changed"] != 30.0 || res["connections"] != 1.0 ||
		res["since"] != "2024-10-28" || res["until"] != "2024-11-26" {
		t.Fatalf("first result = %v", res)
	}
	if n := e.snapshotCount("account"); n != 30 {
		t.Fatalf("stored %d snapshots, want 30", n)
	}
	if out.Message == nil || out.Message.Title != "Daily <spend> & co: 30 rows synced" || len(out.Extra) != 0 {
		t.Fatalf("message = %+v, extra %d", out.Message, len(out.Extra))
	}
	if len(out.Message.Files) != 0 {
		t.Fatalf("a batch without an email or Telegram destination carries files: %+v", out.Message.Files)
	}
	data := rsJSON(t, out.Message.Data)
	if data["batch"] != 1.0 || data["batches"] != 1.0 || data["level"] != "account" || len(data["rows"].([]any)) != 30 {
		t.Fatalf("data = batch %v/%v level %v", data["batch"], data["batches"], data["level"])
	}
	first := data["rows"].([]any)[0].(map[string]any)
	if want := conn.ID + ":account:" + shopRef + ":2024-10-28"; first["key"] != want || first["date"] != "2024-10-28" || first["currency"] != "USD" {
		t.Errorf("first row = %v, want key %s", first, want)
	}
	if _, ok := first["spend"].(float64); !ok {
		t.Errorf("spend is not a number: %v", first)
	}
	if _, ok := first["impressions"]; ok {
		t.Errorf("unchosen metric pushed: %v", first)
	}

	// Second sync at the same instant: the lookback window, nothing changed.
	out, res = syncRun(t, e, e.job(engine.TypeSync, cfg, shopRef))
	if res["rows_fetched"] != 4.0 || res["rows_changed"] != 0.0 || res["since"] != "2024-11-23" {
		t.Fatalf("second result = %v", res)
	}
	if out.Message != nil {
		t.Fatalf("a message without changes: %+v", out.Message)
	}

	// A stored row drifts: exactly that one is pushed again.
	if _, err := e.db.Exec(`UPDATE metric_snapshot SET spend = spend + 1 WHERE connection_id = $1 AND day = '2024-11-25'`, conn.ID); err != nil {
		t.Fatal(err)
	}
	out, res = syncRun(t, e, e.job(engine.TypeSync, cfg, shopRef))
	if res["rows_changed"] != 1.0 || out.Message == nil {
		t.Fatalf("third result = %v", res)
	}
	rows := rsJSON(t, out.Message.Data)["rows"].([]any)
	if len(rows) != 1 || rows[0].(map[string]any)["key"] != conn.ID+":account:"+shopRef+":2024-11-25" {
		t.Fatalf("rows = %v", rows)
	}
}

func TestSyncBatchesOf500WithStableKeys(t *testing.T) {
	e := rsSetup(t)
	job := e.job(engine.TypeSync, `{"level":"ad","metrics":[],"lookback_days":3}`, shopRef)
	job.Destination = &models.Destination{Type: models.DestinationWebhook}
	out, res := syncRun(t, e, job)
	changed := int(res["rows_changed"].(float64))
	if changed <= 500 {
		t.Fatalf("only %d rows; the test needs more than 500", changed)
	}
	msgs := append([]notify.Message{*out.Message}, out.Extra...)
	wantBatches := (changed + 499) / 500
	if len(msgs) != wantBatches {
		t.Fatalf("%d messages, want %d", len(msgs), wantBatches)
	}
	seen := map[string]bool{}
	prefix := e.conns[shopRef].ID + ":ad:"
	for k, m := range msgs {
		data := rsJSON(t, m.Data)
		rows := data["rows"].([]any)
		if len(rows) > 500 || data["batch"] != float64(k+1) || data["batches"] != float64(wantBatches) {
			t.Fatalf("batch %d: %d rows, batch %v/%v", k+1, len(rows), data["batch"], data["batches"])
		}
		for _, r := range rows {
			row := r.(map[string]any)
			key := row["key"].(string)
			if want := fmt.Sprintf("%s%s:%s", prefix, row["entity_id"], row["date"]); key != want {
				t.Fatalf("key %q, want %q", key, want)
			}
			if seen[key] {
				t.Fatalf("key %q twice", key)
			}
			seen[key] = true
			if len(row) != 6+10 {
				t.Fatalf("row has %d fields, want 6 + all 10 metrics: %v", len(row), row)
			}
		}
		if len(m.Files) != 0 {
			t.Fatalf("batch %d carries %d files: a webhook batch has no CSV", k+1, len(m.Files))
		}
	}
	if len(seen) != changed {
		t.Fatalf("%d keys, want %d", len(seen), changed)
	}
	if n := e.snapshotCount("ad"); n != changed {
		t.Fatalf("stored %d, want %d", n, changed)
	}
}

func TestSyncDryRunStoresNothing(t *testing.T) {
	e := rsSetup(t)
	job := e.job(engine.TypeSync, `{"level":"campaign","lookback_days":2}`, shopRef, "demo_act_1002")
	job.DryRun = true
	out, res := syncRun(t, e, job)
	if n := e.snapshotCount("campaign"); n != 0 {
		t.Fatalf("a dry run stored %d snapshots", n)
	}
	if res["connections"] != 2.0 || res["rows_changed"] != res["rows_fetched"] || out.Message == nil {
		t.Fatalf("dry run result = %v", res)
	}
	if !strings.Contains(out.Message.Text, "Demo Shop (USD)") || !strings.Contains(out.Message.Text, "Demo Leads EU") {
		t.Errorf("summary:\n%s", out.Message.Text)
	}
}

func TestSyncFailures(t *testing.T) {
	e := rsSetup(t)
	ctx := context.Background()
	cfg := `{"level":"account","lookback_days":3}`
	job := e.job(engine.TypeSync, cfg, shopRef)
	job.Credentials[0].AccessToken = "nope"
	if _, err := engine.NewSyncRunner(e.deps).Run(ctx, job); err == nil || !strings.HasPrefix(err.Error(), "Demo Shop (USD): token invalid") {
		t.Fatalf("err = %v", err)
	}
	job = e.job(engine.TypeSync, cfg, shopRef) // reloaded: now invalid
	if _, err := engine.NewSyncRunner(e.deps).Run(ctx, job); err == nil || err.Error() != "Demo Shop (USD) needs to be reconnected" {
		t.Fatalf("err = %v", err)
	}
	if n := e.snapshotCount("account"); n != 0 {
		t.Fatalf("stored %d", n)
	}
}

func TestSyncConfigValidate(t *testing.T) {
	if errs := (engine.SyncConfig{Level: "ad", LookbackDays: 3}).Validate(); errs != nil {
		t.Fatalf("valid: %v", errs)
	}
	for field, c := range map[string]engine.SyncConfig{
		"level":         {Level: "x", LookbackDays: 3},
		"metrics":       {Level: "ad", Metrics: []string{"views"}, LookbackDays: 3},
		"lookback_days": {Level: "ad", LookbackDays: 29},
	} {
		if errs := c.Validate(); errs[field] == "" {
			t.Errorf("%s: %v", field, errs)
		}
	}
	if errs := (engine.SyncConfig{Level: "ad"}).Validate(); errs["lookback_days"] == "" {
		t.Error("lookback 0 accepted")
	}
}
