package bot_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"adpilot/bot"
	"adpilot/models"
	"adpilot/platforms"
	"adpilot/reports"
	"adpilot/testutil"
)

func TestAlertButtonsSnoozeAcknowledgeAndPause(t *testing.T) {
	f := newBotFixture(t)
	ctx := context.Background()
	f.link(t, f.admin, 555, "Boss", "private", 555)
	f.link(t, f.viewer, 666, "Watcher", "private", 666)
	acct := platforms.NewDemo(nil).DemoAccounts()[0]
	conns, err := f.app.Store.ConnectAccounts(ctx, f.admin, "", []models.ConnectionInput{{Platform: "demo", Kind: acct.Kind,
		AccountRef: acct.Ref, AccountName: acct.Name, AccessToken: platforms.DemoToken(acct.Ref), Meta: acct.Meta}})
	if err != nil {
		t.Fatal(err)
	}
	var automation string
	mustRow(t, f.app, `INSERT INTO automation (tenant_id, name, type) VALUES ($1, 'CPA alert', 'alert') RETURNING id`, f.admin.TenantID).Scan(&automation)
	campaign := platforms.NewDemo(nil).Entities(acct.Ref, platforms.LevelCampaign)[0].ID
	key := conns[0].ID + ":campaign:" + campaign
	if err := f.app.Store.SaveAlertState(ctx, f.admin.TenantID, automation, key, reports.State{Firing: true}, time.Now()); err != nil {
		t.Fatal(err)
	}
	// The same keys as the app's bot: buttons made here verify there.
	signer, err := bot.New(f.app.Config, f.app.Store, slog.New(slog.NewTextHandler(io.Discard, nil)), bot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rows := signer.AlertButtons(automation, key, true)
	if len(rows) != 1 || len(rows[0]) != 3 {
		t.Fatalf("buttons = %+v", rows)
	}
	data := map[string]string{}
	for _, b := range rows[0] {
		if len(b.CallbackData) > 64 {
			t.Fatalf("callback data of %d bytes", len(b.CallbackData))
		}
		data[b.Text] = b.CallbackData
	}
	state := func() reports.State {
		states, _ := f.app.Store.AlertStates(ctx, f.admin.TenantID, automation)
		var s reports.State
		_ = json.Unmarshal(states[key], &s)
		return s
	}

	f.send(t, testutil.FakeTelegramCallbackUpdate(0, 666, 666, 10, "cb-v", data["Snooze 24h"]))
	if state().SnoozedUntil != nil {
		t.Fatal("a viewer snoozed the alert")
	}
	f.send(t, testutil.FakeTelegramCallbackUpdate(0, 555, 555, 10, "cb-s", data["Snooze 24h"]))
	if s := state(); s.SnoozedUntil == nil || time.Until(*s.SnoozedUntil) < 23*time.Hour {
		t.Fatalf("after Snooze: %+v", s)
	}
	f.send(t, testutil.FakeTelegramCallbackUpdate(0, 555, 555, 10, "cb-a", data["Acknowledge"]))
	if state().AcknowledgedAt == nil {
		t.Fatal("Acknowledge did not stick")
	}
	f.send(t, testutil.FakeTelegramCallbackUpdate(0, 555, 555, 10, "cb-p", data["Pause"]))
	f.send(t, testutil.FakeTelegramCallbackUpdate(0, 555, 555, 10, "cb-f", "x:AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAA:AAAAAAAAAAAAAAAA"))
	answers := map[string]string{}
	for _, a := range f.tg.Answers() {
		answers[a.CallbackQueryID] = a.Text
	}
	if !strings.Contains(answers["cb-v"], "viewer") || !strings.HasPrefix(answers["cb-s"], "Snoozed") ||
		!strings.HasPrefix(answers["cb-a"], "Acknowledged") || !strings.HasPrefix(answers["cb-p"], "Paused") ||
		!strings.Contains(answers["cb-f"], "not valid") {
		t.Fatalf("answers = %v", answers)
	}
	var audited int
	mustRow(t, f.app, `SELECT count(*) FROM audit_log WHERE action IN ('alert.snooze', 'alert.acknowledge', 'alert.pause')`).Scan(&audited)
	if audited != 3 {
		t.Fatalf("%d alert actions audited, want 3", audited)
	}
	edits := f.tg.Edits()
	if len(edits) == 0 || !strings.Contains(edits[len(edits)-1].Text, "Paused by") {
		t.Fatalf("edits = %+v", edits)
	}
}
