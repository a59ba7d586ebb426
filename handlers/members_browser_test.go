package handlers_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"adpilot/testutil"
)

// TestBrowserInviteViewer: an admin invites a viewer, who joins from the
// emailed link in a browser of their own and finds no edit controls; a
// forced POST is refused with 403.
func TestBrowserInviteViewer(t *testing.T) {
	app := testutil.NewApp(t)
	admin := testutil.NewBrowser(t)
	admin.Run(
		chromedp.Navigate(app.URL+"/auth/register"),
		fill(`form[action="/auth/register"]`, map[string]string{
			"tenant_name": "Invite Co", "email": "lead@example.com", "password": "lead secret pass",
		}),
		chromedp.WaitVisible(chromedp.CSS("#home-title")),
		chromedp.Navigate(app.URL+"/settings/members"),
		chromedp.SetValue(chromedp.CSS("#invite-role"), "viewer"),
		fill(`form[action="/settings/members/invite"]`, map[string]string{"email": "watcher@example.com"}),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-member="watcher@example.com"]`)),
	)
	if text := pageText(t, admin); !strings.Contains(text, "Invitation sent to watcher@example.com") || !strings.Contains(text, "invited") {
		t.Fatalf("after inviting, the team page says:\n%s", text)
	}
	admin.ExpectNoProblems()

	link := testutil.LinkIn(t, testutil.LatestEmail(t, app.Store, "watcher@example.com").Text, "/auth/invite?token=")
	viewer := testutil.NewBrowser(t)
	viewer.Run(
		chromedp.Navigate(link),
		fill(`form[action="/auth/invite"]`, map[string]string{"password": "watcher secret pass"}),
		chromedp.WaitVisible(chromedp.CSS("#home-title")),
		chromedp.Navigate(app.URL+"/settings/members"),
		chromedp.WaitVisible(chromedp.CSS("#members-title")),
	)
	if n := testutil.Eval[int](viewer, `document.querySelectorAll('main form, main select, main button').length`); n != 0 {
		t.Errorf("a viewer sees %d edit controls on the team page", n)
	}
	viewer.Run(chromedp.Navigate(app.URL+"/settings"), chromedp.WaitVisible(chromedp.CSS("#settings-title")))
	if n := testutil.Eval[int](viewer, `document.querySelectorAll('main form').length`); n != 0 {
		t.Errorf("a viewer sees %d forms on the settings page", n)
	}
	viewer.ExpectNoProblems()

	// Forcing the form anyway: the server refuses. The page's own fetch
	// carries the session cookie and the CSRF token, as a crafted form would.
	status := testutil.Eval[int](viewer, `(async () => {
		const token = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token'];
		const body = new URLSearchParams({name: 'Taken over', timezone: 'UTC', currency: 'USD', _csrf: token});
		const r = await fetch('/settings', {method: 'POST', body});
		return r.status;
	})()`)
	if status != 403 {
		t.Fatalf("a viewer's forced POST got %d, want 403", status)
	}
}
