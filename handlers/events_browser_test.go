package handlers_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"adpilot/testutil"
)

// TestBrowserLeadForwarding: create a lead-forwarding automation for a
// connected Page in the editor, have Facebook post a signed leadgen event,
// and find it on /events and in the automation's run history.
func TestBrowserLeadForwarding(t *testing.T) {
	a := newLeadApp(t)
	b := testutil.NewBrowser(t)
	b.Run(
		chromedp.Navigate(a.URL+"/auth/login"),
		fill(`form[action="/auth/login"]`, map[string]string{"login": "owner@leads.test", "password": strongPassword}),
		chromedp.WaitVisible(chromedp.CSS("#home-title")),
		chromedp.Navigate(a.URL+"/automations/new"),
		chromedp.WaitVisible(chromedp.CSS(`#automation-form`)),
	)
	setFormValue(b, "type", "alert")
	b.Run(
		chromedp.WaitVisible(chromedp.CSS(`#automation-form[data-type="alert"]`)),
		chromedp.SendKeys(chromedp.CSS(`#f-name`), "Leads to the team"),
		chromedp.Click(chromedp.CSS(`input[name="config.trigger"][value="event"]`)),
		// Choosing events hides the schedule and metric fields, and shows the event's.
		chromedp.WaitVisible(chromedp.CSS(`#f-config-filters-page_id`)),
	)
	if testutil.Eval[bool](b, `document.querySelector('.schedule-builder').checkVisibility()`) {
		t.Error("the schedule builder shows for an event alert")
	}
	setFormValue(b, "config.filters.page_id", a.page.ID)
	b.Run(
		chromedp.Click(chromedp.CSS(`button[data-action="save"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#automation-title`)),
	)
	if text := testutil.Eval[string](b, `document.querySelector('dl.details').innerText`); !strings.Contains(text, "facebook.leadgen") {
		t.Fatalf("the automation page says %s", text)
	}
	automationURL := testutil.Eval[string](b, `location.pathname`)

	lead := testutil.FakeLead{ID: "6006", PageID: a.page.ID, FormID: "77",
		Fields: []testutil.FakeLeadField{{Name: "full_name", Values: []string{"Lee Browser"}}}}
	a.fb.AddLead(lead)
	a.postLead(t, lead)
	a.waitProcessed(t)

	b.Run(
		chromedp.Click(chromedp.CSS(`header nav a[href="/events"]`)),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-type="facebook.leadgen"][data-status="processed"]`)),
		chromedp.Click(chromedp.CSS(`tr[data-type="facebook.leadgen"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`.event-runs li`)),
	)
	if text := testutil.Eval[string](b, `document.querySelector('[data-fetched]').innerText`); !strings.Contains(text, "Lee Browser") {
		t.Errorf("the event page's lead: %s", text)
	}
	b.Run(
		chromedp.Navigate(a.URL+automationURL+"/runs"),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-run][data-status="completed"]`)),
	)
	if row := testutil.Eval[string](b, `document.querySelector('tr[data-run]').innerText`); !strings.Contains(row, "event") {
		t.Errorf("the run history row: %s", row)
	}
	b.ExpectNoProblems()
}
