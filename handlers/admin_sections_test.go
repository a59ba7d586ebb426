package handlers_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/jonboulle/clockwork"

	"adpilot/models"
	"adpilot/testutil"
)

// failRun inserts a failed run of the automation, started ago.
func failRun(t *testing.T, f *adminFixture, ago time.Duration, msg string) string {
	t.Helper()
	var id string
	err := testutil.QueryRow(t, f.app, context.Background(), `INSERT INTO automation_run (tenant_id, automation_id, status, trigger,
			started_at, completed_at, error_message)
		VALUES ($1, $2, 'failed', 'schedule', now() - $3 * interval '1 second', now() - $3 * interval '1 second', $4) RETURNING id`,
		f.acmeID, f.automationID, int(ago.Seconds()), msg).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestAdminFailedRunsRetry(t *testing.T) {
	f := newAdminFixture(t)
	recent := failRun(t, f, time.Hour, "Facebook said: (#17) User request limit reached")
	old := failRun(t, f, 30*time.Hour, "an old failure")
	app := f.asOperator(t)

	page := app.Get("/admin/runs").ExpectStatus(http.StatusOK)
	row := page.Doc().Find(`#run-results tr[data-run="` + recent + `"]`)
	if row.Length() != 1 || page.Doc().Find(`tr[data-run="`+old+`"]`).Length() != 0 {
		t.Fatalf("failed runs:\n%s", page.Text("#run-results"))
	}
	for _, want := range []string{"Acme Ads", "Acme morning report", "User request limit reached"} {
		if !strings.Contains(row.Text(), want) {
			t.Errorf("the run's row lacks %q: %s", want, row.Text())
		}
	}
	if n := app.Get("/admin/runs?q=limit+reached").Doc().Find("#run-results tbody tr").Length(); n != 1 {
		t.Errorf("searching the error finds %d runs", n)
	}
	if n := app.Get("/admin/runs?q=Operator").Doc().Find("#run-results tbody tr").Length(); n != 0 {
		t.Errorf("searching another tenant finds %d runs", n)
	}

	f.post(t, "/admin/runs/"+recent+"/retry", url.Values{"return": {"/admin/runs"}}).ExpectStatus(http.StatusSeeOther)
	var newID, status string
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := testutil.QueryRow(t, app, context.Background(), `SELECT id, status FROM automation_run
			WHERE automation_id = $1 AND trigger = 'manual'`, f.automationID).Scan(&newID, &status)
		if err == nil && (status == "completed" || status == "failed") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the retried run is still %q (%v)", status, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if status != "completed" {
		t.Errorf("the retried run %s", status)
	}
	if n := f.count(t, `SELECT count(*) FROM audit_log WHERE action = 'run.retry' AND tenant_id = $1 AND target_id = $2
		AND after->>'run_id' = $3`, f.acmeID, f.automationID, newID); n != 1 {
		t.Errorf("%d run.retry audit entries, want 1", n)
	}
	// Only failed runs can be retried; unknown ones are 404.
	if r := f.post(t, "/admin/runs/"+newID+"/retry", nil); r.StatusCode != http.StatusConflict {
		t.Errorf("retrying a completed run: %d, want 409", r.StatusCode)
	}
	f.post(t, "/admin/runs/00000000-0000-4000-8000-000000000000/retry", nil).ExpectStatus(http.StatusNotFound)
	f.post(t, "/admin/runs/x/retry", nil).ExpectStatus(http.StatusNotFound)
	// A deactivated tenant's runs are not retried.
	f.post(t, "/admin/tenants/"+f.acmeID+"/deactivate", nil).ExpectStatus(http.StatusSeeOther)
	if r := f.post(t, "/admin/runs/"+recent+"/retry", nil); r.StatusCode != http.StatusConflict || !strings.Contains(r.Body, "deactivated") {
		t.Errorf("retrying a deactivated tenant's run: %d", r.StatusCode)
	}
}

func TestAdminConnectionsUnhealthyFirst(t *testing.T) {
	f := newAdminFixture(t)
	app := f.asOperator(t)
	// One invalid, one expiring in 3 days, one valid.
	if _, err := testutilExec(t, app, `UPDATE ad_token SET is_valid = false, invalidated_at = now(), invalid_reason = 'Token revoked'
		WHERE id = $1`, f.connIDs[2]); err != nil {
		t.Fatal(err)
	}
	if _, err := testutilExec(t, app, `UPDATE ad_token SET expires_at = now() + interval '3 days', refresh_token_enc = NULL WHERE id = $1`,
		f.connIDs[1]); err != nil {
		t.Fatal(err)
	}
	page := app.Get("/admin/connections").ExpectStatus(http.StatusOK)
	var healths []string
	page.Doc().Find("#connection-results tbody tr").Each(func(_ int, s *goquery.Selection) {
		h, _ := s.Attr("data-health")
		healths = append(healths, h)
	})
	if strings.Join(healths, ",") != "invalid,expiring,valid" {
		t.Fatalf("connections in order %v, want invalid, expiring, valid", healths)
	}
	if !strings.Contains(page.Text("#connection-results"), "Token revoked") || !strings.Contains(page.Text("#connection-results"), "expires in 3 days") {
		t.Errorf("health labels:\n%s", page.Text("#connection-results"))
	}
	for q, want := range map[string]int{"status=invalid": 1, "status=valid": 1, "platform=demo": 3, "platform=facebook": 0,
		"q=acme": 3, "q=demo_act_1002": 1, "status=bogus&platform=%00": 3} {
		if n := app.Get("/admin/connections?" + q).ExpectStatus(http.StatusOK).Doc().Find("#connection-results tbody tr").Length(); n != want {
			t.Errorf("?%s: %d rows, want %d", q, n, want)
		}
	}
}

func TestAdminSchedulerStatus(t *testing.T) {
	clock := clockwork.NewFakeClockAt(time.Now())
	f := newAdminFixture(t, testutil.WithJobs(clock))
	app := f.asOperator(t)
	ctx := context.Background()
	// The app's own heartbeat runs at start.
	deadline := time.Now().Add(10 * time.Second)
	for f.count(t, `SELECT count(*) FROM scheduler_replica`) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the scheduler wrote no heartbeat")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Another replica, silent for 10 minutes, and one gone for two days
	// (deleted by the next heartbeat).
	store := app.Store
	for _, hb := range []models.ReplicaHeartbeat{
		{ReplicaID: "11111111-1111-4111-8111-111111111111", Hostname: "old-host", PID: 7, StartedAt: time.Now().Add(-time.Hour),
			LastTick: time.Now().Add(-10 * time.Minute), IsLeader: true, WorkersTotal: 4,
			PlatformCalls: json.RawMessage(`{"facebook":{"calls":1000,"errors":900}}`)},
		{ReplicaID: "22222222-2222-4222-8222-222222222222", Hostname: "gone-host", PID: 8, StartedAt: time.Now().Add(-72 * time.Hour),
			LastTick: time.Now().Add(-48 * time.Hour)},
		{ReplicaID: "33333333-3333-4333-8333-333333333333", Hostname: "live-host", PID: 9, StartedAt: time.Now().Add(-time.Hour),
			LastTick: time.Now(), WorkersTotal: 8, PlatformCalls: json.RawMessage(`{"facebook":{"calls":40,"errors":4},"tiktok":{"calls":10,"errors":0}}`)},
	} {
		if err := store.RecordHeartbeat(ctx, hb); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.count(t, `SELECT count(*) FROM scheduler_replica WHERE hostname = 'gone-host'`); n != 0 {
		t.Error("a replica silent for two days was not deleted")
	}
	// A due automation.
	if _, err := testutilExec(t, app, `UPDATE automation SET next_run = now() - interval '5 minutes' WHERE id = $1`, f.automationID); err != nil {
		t.Fatal(err)
	}

	page := app.Get("/admin/scheduler").ExpectStatus(http.StatusOK)
	doc := page.Doc()
	if doc.Find(`tr[data-replica="11111111-1111-4111-8111-111111111111"][data-stale="true"][data-leader="false"]`).Length() != 1 {
		t.Errorf("the silent replica is not shown stale (and not leader):\n%s", page.Text(".admin-replicas"))
	}
	if doc.Find(`tr[data-replica="33333333-3333-4333-8333-333333333333"][data-stale="false"]`).Length() != 1 {
		t.Error("the live replica is missing")
	}
	// This app's replica leads (the only one running jobs).
	if doc.Find(`tr[data-leader="true"][data-stale="false"]`).Length() != 1 {
		t.Errorf("no live leader shown:\n%s", page.Text(".admin-replicas"))
	}
	if got := page.Text("[data-due]"); got != "1" {
		t.Errorf("due = %q, want 1", got)
	}
	if got := page.Text("[data-oldest-due]"); !strings.Contains(got, "Acme morning report (Acme Ads)") || !strings.Contains(got, "5m ago") {
		t.Errorf("oldest due = %q", got)
	}
	// Error rates from live replicas only: facebook 4 of 40 (10 %), the stale replica's 900 not counted.
	fb := page.Text(`tr[data-platform="facebook"]`)
	if !strings.Contains(fb, "40") || !strings.Contains(fb, "10.0 %") {
		t.Errorf("facebook's rate: %q", fb)
	}
	if !strings.Contains(page.Text(`tr[data-platform="tiktok"]`), "0.0 %") {
		t.Errorf("tiktok's rate: %q", page.Text(`tr[data-platform="tiktok"]`))
	}
	if got := page.Text("[data-worker-use]"); !strings.Contains(got, "workers busy") {
		t.Errorf("worker use = %q", got)
	}
}

func TestAdminAuditAcrossTenantsWithCSV(t *testing.T) {
	f := newAdminFixture(t)
	app := f.asOperator(t)
	ctx := context.Background()
	if err := app.Store.RecordAudit(ctx, models.AuditEntry{TenantID: f.acmeID, ActorLabel: `=HYPERLINK("http://evil.example","x")`,
		Action: "member.invite", TargetType: "user", TargetID: "+1", IP: "@x", After: map[string]string{"email": "-2+3@x.test"}}); err != nil {
		t.Fatal(err)
	}

	all := app.Get("/admin/audit").ExpectStatus(http.StatusOK)
	if !strings.Contains(all.Text("#audit-admin-results"), "Acme Ads") || !strings.Contains(all.Text("#audit-admin-results"), "Operator Co") {
		t.Fatalf("the audit log does not span tenants:\n%s", all.Text("#audit-admin-results"))
	}
	if all.Doc().Find(`#a-tenant option[value="`+f.acmeID+`"]`).Length() != 1 || all.Doc().Find(`#a-action option[value="member.invite"]`).Length() != 1 {
		t.Error("the filters do not offer the tenant or the action")
	}
	q := url.Values{"tenant": {f.acmeID}, "action": {"member.invite"}, "from": {time.Now().UTC().Format(time.DateOnly)},
		"to": {time.Now().UTC().Format(time.DateOnly)}}
	filtered := app.Get("/admin/audit?" + q.Encode()).ExpectStatus(http.StatusOK)
	if n := filtered.Doc().Find("#audit-admin-results tbody tr").Length(); n != 1 {
		t.Fatalf("filtered to %d entries, want 1", n)
	}
	href, _ := filtered.Doc().Find(`#audit-admin-results a[href^="/admin/audit.csv"]`).Attr("href")
	if !strings.Contains(href, "tenant="+f.acmeID) || !strings.Contains(href, "action=member.invite") {
		t.Fatalf("the CSV link does not keep the filters: %q", href)
	}
	if n := app.Get("/admin/audit?actor=boss&tenant=" + f.acmeID).Doc().Find("#audit-admin-results tbody tr").Length(); n != 0 {
		t.Errorf("actor filter: %d rows", n)
	}
	yesterday := time.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly)
	if n := app.Get("/admin/audit?to=" + yesterday).Doc().Find("#audit-admin-results tbody tr").Length(); n != 0 {
		t.Errorf("date filter: %d rows before today", n)
	}
	app.Get("/admin/audit?tenant=nope&from=junk&to=2024-13-45&action=%00&page=0").ExpectStatus(http.StatusOK)

	resp := app.Get(href).ExpectStatus(http.StatusOK)
	if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") || !strings.Contains(cd, ".csv") {
		t.Errorf("Content-Disposition = %q", cd)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("Content-Type = %q", ct)
	}
	records, err := csv.NewReader(strings.NewReader(resp.Body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 2 || records[0][0] != "created_at" {
		t.Fatalf("CSV rows: %q", records)
	}
	row := records[1]
	for _, cell := range row {
		if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
			t.Errorf("a cell starts with a formula character: %q", cell)
		}
	}
	if row[4] != `'=HYPERLINK("http://evil.example","x")` || row[7] != "'+1" || row[8] != "'@x" || row[2] != "Acme Ads" {
		t.Errorf("CSV row: %q", row)
	}
}
