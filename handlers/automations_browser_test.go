package handlers_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jonboulle/clockwork"

	"adpilot/testutil"
)

// setFormValue sets a select or input of the automation form as a person
// does: the value changes and a change event bubbles (htmx listens).
func setFormValue(b *testutil.Browser, name, value string) {
	testutil.Eval[bool](b, `(el => (el.value = `+jsString(value)+`, el.dispatchEvent(new Event('change', {bubbles: true}))))(document.querySelector('#automation-form [name="`+name+`"]'))`)
}

func jsString(s string) string { b, _ := json.Marshal(s); return string(b) }

// waitTelegram waits for a message to chat that satisfies ok.
func waitTelegram(t *testing.T, fake *testutil.FakeTelegram, chat int64, ok func(testutil.FakeTelegramMessage) bool) testutil.FakeTelegramMessage {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range fake.SentTo(chat) {
			if ok(m) {
				return m
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no such message to %d; sent: %+v", chat, fake.SentTo(chat))
	return testutil.FakeTelegramMessage{}
}

// TestBrowserAutomationReportAndAlert: connect the demo account and a
// Telegram chat, create a daily report, see its next 3 runs, press Run now,
// watch the run complete and find the report in the fake Telegram; then an
// alert that fires on the demo data, whose Pause button works through the bot.
func TestBrowserAutomationReportAndAlert(t *testing.T) {
	fake := testutil.NewFakeTelegram(t)
	var kv []string
	for k, v := range fake.Env() {
		kv = append(kv, k, v)
	}
	// The replica's jobs run (on the real clock): they send the deliveries.
	app := testutil.NewApp(t, testutil.WithJobs(clockwork.NewRealClock()),
		testutil.WithEnv(append(kv, "TELEGRAM_WEBHOOK_SECRET", "test-secret", "DEMO_PLATFORM", "true")...))
	b := testutil.NewBrowser(t)
	registerInBrowser(b, app, "Auto Co", "auto@example.com")
	const chat = 5550001
	b.Run(
		chromedp.Navigate(app.URL+"/connections"),
		chromedp.Click(chromedp.CSS(`form[action="/connections/demo"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-connection="demo_act_1001"]`)),
		chromedp.Navigate(app.URL+"/destinations"),
		chromedp.Click(chromedp.CSS(`button[data-add="telegram"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#telegram-link-status[data-state="waiting"]`)),
	)
	code := deepLink.FindStringSubmatch(testutil.Eval[string](b, `document.querySelector('a[data-deep-link]').href`))[1]
	postTelegramUpdate(t, app.URL, testutil.FakeTelegramMessageUpdate(0, chat, "", "private", chat, "auto", "/start "+code))
	b.Run(chromedp.WaitVisible(chromedp.CSS(`#telegram-link-status[data-state="linked"]`)))

	// A daily report: the defaults, a name, the first account and the chat.
	b.Run(
		chromedp.Click(chromedp.CSS(`header nav a[href="/automations"]`)),
		chromedp.Click(chromedp.CSS(`a[data-action="new"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#automation-form[data-type="scheduled_report"]`)),
		chromedp.SendKeys(chromedp.CSS(`#f-name`), "Morning report"),
		chromedp.Click(chromedp.CSS(`#automation-form input[name=connections]`)),
	)
	setFormValue(b, "destination_id", testutil.Eval[string](b, `document.querySelector('#f-destination_id option:nth-child(2)').value`))
	// The schedule builder shows the daily fields only, and the preview the next 3 runs.
	b.Run(chromedp.WaitVisible(chromedp.CSS(`#f-schedule-time`)), chromedp.WaitVisible(chromedp.CSS(`#schedule-preview tr[data-next-run]`)))
	if testutil.Eval[bool](b, `document.querySelector('#f-schedule-expr').checkVisibility()`) {
		t.Error("the cron field shows for a daily schedule")
	}
	if n := testutil.Eval[int](b, `document.querySelectorAll('#schedule-preview tr[data-next-run]').length`); n != 3 {
		t.Errorf("the form previews %d runs, want 3", n)
	}
	b.Run(
		chromedp.Click(chromedp.CSS(`button[data-action="save"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#automation-title`)),
		chromedp.WaitVisible(chromedp.CSS(`#schedule-preview tr[data-next-run]`)),
	)
	next := testutil.Eval[string](b, `document.querySelector('#schedule-preview').innerText`)
	if n := testutil.Eval[int](b, `document.querySelectorAll('#schedule-preview tr[data-next-run]').length`); n != 3 || !strings.Contains(next, "09:00") {
		t.Fatalf("the automation page shows %d next runs: %s", n, next)
	}
	b.Run(
		chromedp.Click(chromedp.CSS(`button[data-action="run"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#run-detail`)),
		chromedp.WaitVisible(chromedp.CSS(`#run-detail[data-status="completed"]`)),
	)
	if text := testutil.Eval[string](b, `document.querySelector('#run-detail').innerText`); !strings.Contains(text, "manual") || !strings.Contains(text, "1 account") {
		t.Errorf("the finished run says %s", text)
	}
	waitTelegram(t, fake, chat, func(m testutil.FakeTelegramMessage) bool {
		return strings.Contains(m.Text+m.Caption, "Morning report") || strings.Contains(m.Text, "Spend")
	})

	// An alert that fires on the demo data: any campaign that spent yesterday.
	b.Run(
		chromedp.Navigate(app.URL+"/automations/new"),
		chromedp.WaitVisible(chromedp.CSS(`#automation-form`)),
	)
	setFormValue(b, "type", "alert")
	b.Run(
		chromedp.WaitVisible(chromedp.CSS(`#automation-form[data-type="alert"]`)),
		chromedp.SendKeys(chromedp.CSS(`#f-name`), "Spend watch"),
		chromedp.Click(chromedp.CSS(`#automation-form input[name=connections]`)),
	)
	setFormValue(b, "destination_id", testutil.Eval[string](b, `document.querySelector('#f-destination_id option:nth-child(2)').value`))
	setFormValue(b, "config.window", "yesterday")
	setFormValue(b, "config.conditions.0.metric", "spend")
	setFormValue(b, "config.conditions.0.op", ">")
	setFormValue(b, "config.conditions.0.value", "1")
	setFormValue(b, "config.min.spend", "")
	b.Run(
		chromedp.Click(chromedp.CSS(`button[data-action="save"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#automation-title`)),
		chromedp.Click(chromedp.CSS(`button[data-action="run"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#run-detail[data-status="completed"]`)),
	)
	alert := waitTelegram(t, fake, chat, func(m testutil.FakeTelegramMessage) bool { return strings.Contains(m.ReplyMarkup, "Pause") })
	var markup struct {
		InlineKeyboard [][]struct {
			Text         string `json:"text"`
			CallbackData string `json:"callback_data"`
		} `json:"inline_keyboard"`
	}
	if err := json.Unmarshal([]byte(alert.ReplyMarkup), &markup); err != nil {
		t.Fatal(err)
	}
	var pause string
	for _, row := range markup.InlineKeyboard {
		for _, btn := range row {
			if btn.Text == "Pause" {
				pause = btn.CallbackData
			}
		}
	}
	if pause == "" {
		t.Fatalf("the alert carries no Pause button: %s", alert.ReplyMarkup)
	}
	postTelegramUpdate(t, app.URL, testutil.FakeTelegramCallbackUpdate(0, chat, chat, alert.MessageID, "cb-pause", pause))
	var answer string
	for _, a := range fake.Answers() {
		if a.CallbackQueryID == "cb-pause" {
			answer = a.Text
		}
	}
	edits := fake.Edits()
	if !strings.HasPrefix(answer, "Paused") || len(edits) == 0 || !strings.Contains(edits[len(edits)-1].Text, "Paused by") {
		t.Fatalf("pressing Pause: answer %q, edits %+v", answer, edits)
	}
	b.ExpectNoProblems()
}
