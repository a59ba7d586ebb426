package handlers_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"adpilot/testutil"
)

// TestBrowserWebhookSendTest: add a webhook, press Send test (htmx), see
// the outcome in place and the delivery in the log.
func TestBrowserWebhookSendTest(t *testing.T) {
	app := testutil.NewApp(t)
	recv := testutil.NewWebhookReceiver(t, "")
	b := testutil.NewBrowser(t)
	registerInBrowser(b, app, "Hook Co", "hook@example.com")

	b.Run(
		chromedp.Click(chromedp.CSS(`header nav a[href="/destinations"]`)),
		chromedp.WaitVisible(chromedp.CSS("#destinations-title")),
		chromedp.Click(chromedp.CSS(`a[data-add="webhook"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#destination-form[data-type="webhook"]`)),
	)
	// The type picker swaps the form in place, and back.
	pickType(b, "email")
	b.Run(chromedp.WaitVisible(chromedp.CSS(`#destination-form[data-type="email"] textarea[name=addresses]`)))
	if testutil.Eval[string](b, `location.search`) != "?type=email" {
		t.Errorf("the picker did not update the address: %s", testutil.Eval[string](b, `location.href`))
	}
	pickType(b, "webhook")
	b.Run(
		chromedp.WaitVisible(chromedp.CSS(`#destination-form[data-type="webhook"] input[name=url]`)),
		fill(`#destination-form`, map[string]string{"name": "Ops hook", "url": recv.URL + "/hook"}),
		chromedp.WaitVisible(chromedp.CSS("#signing-secret")),
	)
	secret := testutil.Eval[string](b, `document.querySelector('#signing-secret').textContent`)
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("the secret page shows %q", secret)
	}
	recv.SetSecret(secret)

	b.Run(
		chromedp.Click(chromedp.CSS(`main a[role=button][href^="/destinations/"]`)),
		chromedp.WaitVisible(chromedp.CSS("#destination-title")),
		chromedp.Click(chromedp.CSS(`button[data-action="test"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-outcome="delivered"]`)),
	)
	if text := testutil.Eval[string](b, `document.querySelector('[data-outcome]').innerText`); !strings.Contains(text, "Delivered") {
		t.Errorf("the outcome box says %q", text)
	}
	if !strings.HasPrefix(testutil.Eval[string](b, `location.pathname`), "/destinations/") {
		t.Error("Send test navigated away; htmx should have swapped the outcome in place")
	}
	// The log was refreshed in place; after a reload it still lists the delivery.
	b.Run(chromedp.WaitVisible(chromedp.CSS(`#deliveries tr[data-status="delivered"]`)))
	b.Run(chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#deliveries tr[data-status="delivered"]`)))
	row := testutil.Eval[string](b, `document.querySelector('#deliveries tbody tr').innerText`)
	if !strings.Contains(row, "adpilot test message") || !strings.Contains(row, "200") {
		t.Errorf("the delivery row says %q", row)
	}
	if reqs := recv.Requests(); len(reqs) != 1 || !reqs[0].SignatureValid {
		t.Errorf("the receiver got %+v", reqs)
	}
	b.ExpectNoProblems()
}

// pickType chooses a destination type as a person does: the select changes.
func pickType(b *testutil.Browser, value string) {
	testutil.Eval[bool](b, `(s => (s.value = '`+value+`', s.dispatchEvent(new Event('change', {bubbles: true}))))(document.querySelector('#destination-type'))`)
}

// TestBrowserTelegramDeepLink: "Add Telegram chat" shows the deep link;
// the bot receiving /start <code> makes the polling page show the chat.
func TestBrowserTelegramDeepLink(t *testing.T) {
	fake := testutil.NewFakeTelegram(t)
	env := fake.Env()
	var kv []string
	for k, v := range env {
		kv = append(kv, k, v)
	}
	app := testutil.NewApp(t, testutil.WithEnv(append(kv, "TELEGRAM_WEBHOOK_SECRET", "test-secret")...))
	b := testutil.NewBrowser(t)
	registerInBrowser(b, app, "Chat Co", "chat@example.com")

	b.Run(
		chromedp.Navigate(app.URL+"/destinations"),
		chromedp.Click(chromedp.CSS(`button[data-add="telegram"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#telegram-link-status[data-state="waiting"]`)),
		chromedp.WaitVisible(chromedp.CSS(`img.qr`)),
	)
	link := testutil.Eval[string](b, `document.querySelector('a[data-deep-link]').href`)
	m := deepLink.FindStringSubmatch(link)
	if m == nil {
		t.Fatalf("deep link %q", link)
	}
	if w := testutil.Eval[int](b, `document.querySelector('img.qr').naturalWidth`); w == 0 {
		t.Error("the QR code image did not load")
	}

	postTelegramUpdate(t, app.URL, testutil.FakeTelegramMessageUpdate(0, -100123, "Growth Team", "group", 555, "lead", "/start "+m[1]))
	b.Run(chromedp.WaitVisible(chromedp.CSS(`#telegram-link-status[data-state="linked"]`)))
	if text := testutil.Eval[string](b, `document.querySelector('#telegram-link-status').innerText`); !strings.Contains(text, "Linked: Growth Team") {
		t.Errorf("the status box says %q", text)
	}
	b.Run(
		chromedp.Click(chromedp.CSS(`#telegram-link-status a[href^="/destinations/"]`)),
		chromedp.WaitVisible(chromedp.CSS("#destination-title")),
	)
	if title := testutil.Eval[string](b, `document.querySelector('#destination-title').textContent`); title != "Growth Team" {
		t.Errorf("the linked destination is %q", title)
	}
	b.ExpectNoProblems()
}
