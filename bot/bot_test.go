package bot_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"adpilot/bot"
	"adpilot/models"
	"adpilot/testutil"
)

const hookSecret = "test-hook-secret"

// botFixture is the app in webhook mode against a fake Telegram, with a
// tenant whose admin (and a viewer) can link their Telegram accounts.
type botFixture struct {
	app    *testutil.TestApp
	tg     *testutil.FakeTelegram
	admin  models.User
	viewer models.User
}

func newBotFixture(t *testing.T) *botFixture {
	t.Helper()
	tg := testutil.NewFakeTelegram(t)
	app := testutil.NewApp(t, testutil.WithEnv("TELEGRAM_BOT_TOKEN", tg.Token, "TELEGRAM_API_URL", tg.URL,
		"TELEGRAM_WEBHOOK_SECRET", hookSecret))
	app.App.StartJobs() // registers the webhook
	deadline := time.Now().Add(5 * time.Second)
	for url, _ := tg.Webhook(); url == ""; url, _ = tg.Webhook() {
		if time.Now().After(deadline) {
			t.Fatal("the app never called setWebhook")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if url, secret := tg.Webhook(); url != app.URL+"/api/webhooks/telegram" || secret != hookSecret {
		t.Fatalf("setWebhook(%q, %q)", url, secret)
	}
	f := &botFixture{app: app, tg: tg}
	ctx := context.Background()
	var tenant, admin, viewer string
	mustRow(t, app, `INSERT INTO tenant (name, slug) VALUES ('Acme', 'acme') RETURNING id`).Scan(&tenant)
	mustRow(t, app, `INSERT INTO app_user (tenant_id, email, role) VALUES ($1, 'boss@acme.test', 'admin') RETURNING id`, tenant).Scan(&admin)
	mustRow(t, app, `INSERT INTO app_user (tenant_id, email, role) VALUES ($1, 'watch@acme.test', 'viewer') RETURNING id`, tenant).Scan(&viewer)
	f.admin, _ = app.Store.GetUser(ctx, tenant, admin)
	f.viewer, _ = app.Store.GetUser(ctx, tenant, viewer)
	return f
}

func mustRow(t *testing.T, app *testutil.TestApp, q string, args ...any) interface{ Scan(...any) error } {
	t.Helper()
	return testutil.QueryRow(t, app, context.Background(), q, args...)
}

// send delivers an update the way Telegram does and checks the answer.
func (f *botFixture) send(t *testing.T, u map[string]any) {
	t.Helper()
	status, err := f.tg.DeliverWebhook(u)
	if err != nil || status != http.StatusOK {
		t.Fatalf("webhook delivery: %d, %v", status, err)
	}
}

// link makes a code for u and sends /start <code> from chat as telegramUser.
func (f *botFixture) link(t *testing.T, u models.User, chat int64, title, chatType string, telegramUser int64) {
	t.Helper()
	code := "code_" + strings.Repeat("x", 10) + u.ID[:8]
	if _, err := f.app.Store.CreateTelegramLink(context.Background(), u, bot.HashCode(code), time.Now()); err != nil {
		t.Fatal(err)
	}
	f.send(t, testutil.FakeTelegramMessageUpdate(0, chat, title, chatType, telegramUser, "user", "/start "+code))
}

// waitManualRuns waits until the automation has n finished manual runs
// and returns the status and error of the latest.
func (f *botFixture) waitManualRuns(t *testing.T, automationID string, n int) (status, errMsg string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var done int
		mustRow(t, f.app, `SELECT count(*) FROM automation_run WHERE automation_id = $1 AND trigger = 'manual' AND status IN ('completed', 'failed')`,
			automationID).Scan(&done)
		if done >= n {
			mustRow(t, f.app, `SELECT status, COALESCE(error_message, '') FROM automation_run WHERE automation_id = $1 AND trigger = 'manual'
				ORDER BY completed_at DESC LIMIT 1`, automationID).Scan(&status, &errMsg)
			return status, errMsg
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d manual runs finished", done, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (f *botFixture) lastText(t *testing.T, chat int64) testutil.FakeTelegramMessage {
	t.Helper()
	sent := f.tg.SentTo(chat)
	if len(sent) == 0 {
		t.Fatalf("the bot sent nothing to %d", chat)
	}
	return sent[len(sent)-1]
}

func TestWebhookSecretIsChecked(t *testing.T) {
	f := newBotFixture(t)
	body := strings.NewReader(string(testutil.FakeTelegramUpdate(testutil.FakeTelegramMessageUpdate(1, 1, "", "private", 1, "u", "/help"))))
	for name, header := range map[string]string{"missing": "", "wrong": "not-the-secret"} {
		headers := []string{"Content-Type", "application/json"}
		if header != "" {
			headers = append(headers, "X-Telegram-Bot-Api-Secret-Token", header)
		}
		f.app.Do(http.MethodPost, "/api/webhooks/telegram", body, headers...).ExpectStatus(http.StatusUnauthorized)
		_ = name
	}
	f.app.Do(http.MethodPost, "/api/webhooks/telegram", strings.NewReader("{not json"), "Content-Type", "application/json",
		"X-Telegram-Bot-Api-Secret-Token", hookSecret).ExpectStatus(http.StatusBadRequest)
	if n := f.tg.Calls("sendMessage"); n != 0 {
		t.Fatalf("unauthenticated updates made the bot send %d messages", n)
	}
	f.send(t, testutil.FakeTelegramMessageUpdate(0, 77, "", "private", 77, "u", "/help"))
	if !strings.Contains(f.lastText(t, 77).Text, "/automations") {
		t.Fatal("/help did not list the commands")
	}
}

func TestLinkingAChatEndToEnd(t *testing.T) {
	f := newBotFixture(t)
	ctx := context.Background()
	f.link(t, f.admin, -100200, "Growth Team", "supergroup", 555)
	if reply := f.lastText(t, -100200).Text; !strings.Contains(reply, "Linked!") || !strings.Contains(reply, "Growth Team") {
		t.Fatalf("reply = %q", reply)
	}
	dests, _ := f.app.Store.ListDestinations(ctx, f.admin.TenantID)
	if len(dests) != 1 || dests[0].Type != models.DestinationTelegram || dests[0].Telegram().ChatID != -100200 || dests[0].Name != "Growth Team" {
		t.Fatalf("destinations after linking: %+v", dests)
	}
	var tgUser int64
	mustRow(t, f.app, `SELECT telegram_user_id FROM app_user WHERE id = $1`, f.admin.ID).Scan(&tgUser)
	if tgUser != 555 {
		t.Fatalf("telegram_user_id = %d, want 555", tgUser)
	}
	// The code is one-time.
	code := "code_" + strings.Repeat("x", 10) + f.admin.ID[:8]
	f.send(t, testutil.FakeTelegramMessageUpdate(0, 999, "", "private", 999, "mallory", "/start "+code))
	if !strings.Contains(f.lastText(t, 999).Text, "expired or was already used") {
		t.Fatalf("a reused code: %q", f.lastText(t, 999).Text)
	}
	// A stranger gets told how to link.
	f.send(t, testutil.FakeTelegramMessageUpdate(0, 999, "", "private", 999, "mallory", "/status"))
	if !strings.Contains(f.lastText(t, 999).Text, "not linked") {
		t.Fatalf("stranger /status: %q", f.lastText(t, 999).Text)
	}
	var audited int
	mustRow(t, f.app, `SELECT count(*) FROM audit_log WHERE action = 'telegram.link'`).Scan(&audited)
	if audited != 1 {
		t.Fatalf("%d link audit entries", audited)
	}
	// /unlink forgets the account.
	f.send(t, testutil.FakeTelegramMessageUpdate(0, 555, "", "private", 555, "boss", "/unlink"))
	mustRow(t, f.app, `SELECT count(*) FROM app_user WHERE telegram_user_id = 555`).Scan(&tgUser)
	if tgUser != 0 {
		t.Fatal("/unlink left the link")
	}
}

func TestCommandsAndButtons(t *testing.T) {
	f := newBotFixture(t)
	ctx := context.Background()
	f.link(t, f.admin, 555, "Boss", "private", 555)
	f.link(t, f.viewer, 666, "Watcher", "private", 666)
	var daily, sync string
	mustRow(t, f.app, `INSERT INTO automation (tenant_id, name, type, status) VALUES ($1, 'Daily spend', 'scheduled_report', 'active') RETURNING id`,
		f.admin.TenantID).Scan(&daily)
	mustRow(t, f.app, `INSERT INTO automation (tenant_id, name, type, status) VALUES ($1, 'Nightly sync', 'data_sync', 'paused') RETURNING id`,
		f.admin.TenantID).Scan(&sync)

	f.send(t, testutil.FakeTelegramMessageUpdate(0, 555, "", "private", 555, "boss", "/status"))
	if st := f.lastText(t, 555).Text; !strings.Contains(st, "Automations</b>: 1 active of 2") || !strings.Contains(st, "Connections") {
		t.Fatalf("/status = %q", st)
	}

	f.send(t, testutil.FakeTelegramMessageUpdate(0, 555, "", "private", 555, "boss", "/automations"))
	list := f.lastText(t, 555)
	var markup struct {
		Rows [][]struct {
			Text string `json:"text"`
			Data string `json:"callback_data"`
		} `json:"inline_keyboard"`
	}
	if err := json.Unmarshal([]byte(list.ReplyMarkup), &markup); err != nil || len(markup.Rows) != 2 {
		t.Fatalf("/automations keyboard = %s (%v)", list.ReplyMarkup, err)
	}
	var pause string
	for _, row := range markup.Rows {
		for _, b := range row {
			if strings.HasPrefix(b.Text, "Pause") {
				pause = b.Data
			}
			if len(b.Data) > 64 {
				t.Fatalf("callback data of %d bytes", len(b.Data))
			}
		}
	}

	// The viewer sees the list without buttons, and a press is refused.
	f.send(t, testutil.FakeTelegramMessageUpdate(0, 666, "", "private", 666, "watch", "/automations"))
	if v := f.lastText(t, 666); v.ReplyMarkup != "" || !strings.Contains(v.Text, "can read but not change") {
		t.Fatalf("viewer list: %q markup %q", v.Text, v.ReplyMarkup)
	}
	f.send(t, testutil.FakeTelegramCallbackUpdate(0, 666, 666, list.MessageID, "cb-viewer", pause))
	if a, _ := f.app.Store.GetAutomation(ctx, f.admin.TenantID, daily); a.Status != models.AutomationActive {
		t.Fatal("a viewer's press paused the automation")
	}

	// A forged press is refused.
	f.send(t, testutil.FakeTelegramCallbackUpdate(0, 555, 555, list.MessageID, "cb-forged", "p:"+strings.Repeat("A", 22)+":AAAAAAAAAAAAAAAA"))

	// The admin's press pauses it and edits the message.
	f.send(t, testutil.FakeTelegramCallbackUpdate(0, 555, 555, list.MessageID, "cb-admin", pause))
	if a, _ := f.app.Store.GetAutomation(ctx, f.admin.TenantID, daily); a.Status != models.AutomationPaused {
		t.Fatalf("after Pause the automation is %s", a.Status)
	}
	answers := f.tg.Answers()
	texts := map[string]string{}
	for _, a := range answers {
		texts[a.CallbackQueryID] = a.Text
	}
	if !strings.Contains(texts["cb-viewer"], "viewer") || !strings.Contains(texts["cb-forged"], "not valid") || !strings.Contains(texts["cb-admin"], "Paused Daily spend") {
		t.Fatalf("answers = %v", texts)
	}
	edits := f.tg.Edits()
	if len(edits) != 1 || !strings.Contains(edits[0].Text, "Paused Daily spend") {
		t.Fatalf("edits = %+v", edits)
	}

	// /report runs a report now (resume first: it is paused).
	f.send(t, testutil.FakeTelegramMessageUpdate(0, 555, "", "private", 555, "boss", "/report daily SPEND"))
	if !strings.Contains(f.lastText(t, 555).Text, "resume it first") {
		t.Fatalf("/report on a paused automation: %q", f.lastText(t, 555).Text)
	}
	if _, err := f.app.Store.SetAutomationStatus(ctx, f.admin, daily, models.AutomationActive, "web", ""); err != nil {
		t.Fatal(err)
	}
	f.send(t, testutil.FakeTelegramMessageUpdate(0, 555, "", "private", 555, "boss", "/report daily SPEND"))
	if reply := f.lastText(t, 555).Text; !strings.Contains(reply, "Running “Daily spend” now") {
		t.Fatalf("/report reply: %q", reply)
	}
	// The run is executed at once by the engine, not left to a scheduler
	// tick (this automation has no accounts, so it fails saying so).
	if status, msg := f.waitManualRuns(t, daily, 1); status != models.RunFailed || !strings.Contains(msg, "no connections") {
		t.Fatalf("the /report run: %s, %q", status, msg)
	}
	// So does the Run now button.
	f.send(t, testutil.FakeTelegramMessageUpdate(0, 555, "", "private", 555, "boss", "/automations"))
	runNow := ""
	if err := json.Unmarshal([]byte(f.lastText(t, 555).ReplyMarkup), &markup); err != nil {
		t.Fatal(err)
	}
	for _, row := range markup.Rows {
		for _, b := range row {
			if b.Text == "Run now" {
				runNow = b.Data
			}
		}
	}
	if runNow == "" {
		t.Fatalf("no Run now button: %+v", markup.Rows)
	}
	f.send(t, testutil.FakeTelegramCallbackUpdate(0, 555, 555, list.MessageID, "cb-run", runNow))
	if status, _ := f.waitManualRuns(t, daily, 2); status != models.RunFailed {
		t.Fatalf("the Run now run: %s", status)
	}
	answered := ""
	for _, a := range f.tg.Answers() {
		if a.CallbackQueryID == "cb-run" {
			answered = a.Text
		}
	}
	if !strings.Contains(answered, "Running now: Daily spend") {
		t.Fatalf("Run now answer: %q", answered)
	}
	f.send(t, testutil.FakeTelegramMessageUpdate(0, 555, "", "private", 555, "boss", "/report Nightly sync"))
	if !strings.Contains(f.lastText(t, 555).Text, "no report automation") {
		t.Fatalf("/report on a sync: %q", f.lastText(t, 555).Text)
	}
	var audited int
	mustRow(t, f.app, `SELECT count(*) FROM audit_log WHERE action IN ('automation.status', 'automation.run_now', 'telegram.refused', 'telegram.command')`).Scan(&audited)
	if audited < 7 {
		t.Fatalf("only %d bot actions audited", audited)
	}
	_ = sync
}
