package engine_test

import (
	"fmt"
	"strings"
	"testing"

	"adpilot/engine"
	"adpilot/models"
)

// syncJob is a sync job of its own automation (id), for Demo Shop.
func (e *rsEnv) syncJob(id, name, config string) engine.Job {
	e.t.Helper()
	j := e.job(engine.TypeSync, config, shopRef)
	j.Automation.ID, j.Automation.Name = id, name
	return j
}

const (
	syncAutoA = "0b7c4e2a-aaaa-4222-8333-444455556666"
	syncAutoB = "0b7c4e2a-bbbb-4222-8333-444455556666"
	syncAutoC = "0b7c4e2a-cccc-4222-8333-444455556666"
)

// Two syncs of one connection each get the whole first batch: the
// snapshots are shared, the cursors are not.
func TestSyncTwoAutomationsOnOneConnectionEachGetTheFirstBatch(t *testing.T) {
	e := rsSetup(t)
	cfg := `{"level":"account","metrics":["spend","clicks"],"lookback_days":3}`
	for _, id := range []string{syncAutoA, syncAutoB} {
		out, res := syncRun(t, e, e.syncJob(id, "Sync "+id[9:13], cfg))
		if res["rows_fetched"] != 30.0 || res["rows_changed"] != 30.0 || res["since"] != "2024-10-28" {
			t.Fatalf("%s: first sync = %v", id[9:13], res)
		}
		if rows := rsJSON(t, out.Message.Data)["rows"].([]any); len(rows) != 30 {
			t.Fatalf("%s: %d rows pushed, want 30", id[9:13], len(rows))
		}
	}
	if n := e.snapshotCount("account"); n != 30 {
		t.Fatalf("%d snapshots, want 30 shared ones", n)
	}
	// Each then syncs its lookback only, with nothing new.
	for _, id := range []string{syncAutoA, syncAutoB} {
		out, res := syncRun(t, e, e.syncJob(id, "Sync", cfg))
		if res["rows_fetched"] != 4.0 || res["rows_changed"] != 0.0 || res["since"] != "2024-11-23" || out.Message != nil {
			t.Fatalf("%s: second sync = %v", id[9:13], res)
		}
	}
	// What B pushed for one day is forgotten (as if that row had changed
	// since B pushed it): B pushes it again, A does not.
	if _, err := e.db.Exec(`UPDATE sync_row SET hash = 'stale' WHERE automation_id = $1 AND day = '2024-11-25'`, syncAutoB); err != nil {
		t.Fatal(err)
	}
	if _, res := syncRun(t, e, e.syncJob(syncAutoA, "Sync", cfg)); res["rows_changed"] != 0.0 {
		t.Fatalf("A after B's cursor moved: %v", res)
	}
	out, res := syncRun(t, e, e.syncJob(syncAutoB, "Sync", cfg))
	rows := rsJSON(t, out.Message.Data)["rows"].([]any)
	if res["rows_changed"] != 1.0 || len(rows) != 1 || !strings.HasSuffix(rows[0].(map[string]any)["key"].(string), ":2024-11-25") {
		t.Fatalf("B after its row changed: %v, rows %v", res, rows)
	}
	// A failed (uncommitted) run moves no cursor: the next run pushes again.
	if _, err := e.db.Exec(`DELETE FROM sync_cursor WHERE automation_id = $1`, syncAutoA); err != nil {
		t.Fatal(err)
	}
	if _, res := syncRun(t, e, e.syncJob(syncAutoA, "Sync", cfg)); res["rows_changed"] != 30.0 {
		t.Fatalf("A without a cursor: %v", res)
	}
}

// A webhook gets JSON batches of at most 500 rows and no CSV; email and
// Telegram get one message carrying one CSV of every changed row.
func TestSyncMessagesFollowTheDestination(t *testing.T) {
	e := rsSetup(t)
	cfg := `{"level":"ad","metrics":["spend","clicks"],"lookback_days":3}`

	hook := e.syncJob(syncAutoA, "Hook sync", cfg)
	hook.Destination = &models.Destination{Type: models.DestinationWebhook}
	out, res := syncRun(t, e, hook)
	changed := int(res["rows_changed"].(float64))
	msgs := syncMessages(out)
	if changed <= engine.SyncBatchSize || len(msgs) != (changed+engine.SyncBatchSize-1)/engine.SyncBatchSize {
		t.Fatalf("%d rows in %d webhook messages", changed, len(msgs))
	}
	total := 0
	for k, m := range msgs {
		rows := rsJSON(t, m.Data)["rows"].([]any)
		if len(rows) > engine.SyncBatchSize || len(m.Files) != 0 || len(m.Images) != 0 {
			t.Fatalf("webhook batch %d: %d rows, %d files", k+1, len(rows), len(m.Files))
		}
		total += len(rows)
	}
	if total != changed {
		t.Fatalf("webhook batches hold %d rows, want %d", total, changed)
	}

	for id, typ := range map[string]string{syncAutoB: models.DestinationEmail, syncAutoC: models.DestinationTelegram} {
		job := e.syncJob(id, "File sync", cfg)
		job.Destination = &models.Destination{Type: typ}
		out, res := syncRun(t, e, job)
		if res["rows_changed"] != float64(changed) {
			t.Fatalf("%s: %v, want %d changed", typ, res, changed)
		}
		msgs := syncMessages(out)
		if len(msgs) != 1 {
			t.Fatalf("%s: %d messages, want one", typ, len(msgs))
		}
		recs := syncCSVRows(t, msgs[0])
		if len(recs) != changed+1 || strings.Join(recs[0], ",") != "key,connection_id,entity_id,entity_name,date,currency,spend,clicks" {
			t.Fatalf("%s: csv of %d records (header %v), want %d rows + header", typ, len(recs), recs[0], changed)
		}
		if want := fmt.Sprintf("File sync: %d rows synced", changed); msgs[0].Title != want {
			t.Fatalf("%s: title %q, want %q", typ, msgs[0].Title, want)
		}
		if !strings.Contains(msgs[0].Text, "Demo Shop (USD): ") || msgs[0].Data != nil {
			t.Fatalf("%s: text %q, data %v", typ, msgs[0].Text, msgs[0].Data)
		}
	}
}
