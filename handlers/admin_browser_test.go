package handlers_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"adpilot/testutil"
)

// dashboardScreenshot is where the browser test leaves the dashboard's
// screenshot (the tests' output, not committed); with UPDATE_SCREENSHOTS=1
// it also replaces the README's copy, readmeScreenshot.
const (
	dashboardScreenshot = "../test-output/screenshots/dashboard.png"
	readmeScreenshot    = "../docs/dashboard.png"
)

func browserLogin(b *testutil.Browser, app *testutil.TestApp, login, password string) {
	b.Run(
		chromedp.Navigate(app.URL+"/auth/login"),
		fill(`form[action="/auth/login"]`, map[string]string{"login": login, "password": password}),
	)
}

// waitText waits until the page's main text includes text, across the
// navigation a form submission starts.
func waitText(t *testing.T, b *testutil.Browser, text string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		found, err := chromedp.Run(b.Ctx, chromedp.Evaluate[bool](`!!document.querySelector('main') && document.querySelector('main').innerText.includes(`+jsString(text)+`)`))
		if err == nil && found {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page never said %q (%v); it says:\n%s", text, err, pageText(t, b))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestBrowserOperatorManagesTenants: as the operator, find a tenant,
// deactivate it, see its member locked out, reactivate it, retry a failed
// run; then a screenshot of the member's dashboard with demo data.
func TestBrowserOperatorManagesTenants(t *testing.T) {
	f := newAdminFixture(t)
	failed := failRun(t, f, 10*time.Minute, "Demo platform: the token was revoked")
	op := testutil.NewBrowser(t)

	// Find the tenant.
	browserLogin(op, f.app, "operator@example.com", strongPassword)
	op.Run(
		chromedp.WaitVisible(chromedp.CSS("#home-title")),
		chromedp.Click(chromedp.CSS(`header nav a[href="/admin"]`)),
		chromedp.WaitVisible(chromedp.CSS("#admin-title")),
		chromedp.Click(chromedp.CSS(`main a[href="/admin/tenants"]`)),
		chromedp.WaitVisible(chromedp.CSS("#tenants-title")),
		// Enter submits the search (a click on the button would also blur the
		// field, firing "change": two swaps racing the next click).
		chromedp.SendKeys(chromedp.CSS("#t-search"), "acme\r"),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll('#tenant-results tbody tr').length === 1 && location.search.includes('q=acme')`,
			chromedp.WithPollingTimeout(10*time.Second)),
		htmxIdle(),
	)
	if n := testutil.Eval[int](op, `document.querySelectorAll('#tenant-results tr[data-tenant="acme-ads"]').length`); n != 1 {
		t.Fatal("the search did not find Acme")
	}

	// Deactivate it: back on the filtered list, marked inactive.
	op.Run(
		chromedp.Click(chromedp.CSS(`tr[data-tenant="acme-ads"] form[action$="/deactivate"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-tenant="acme-ads"][data-active="false"]`)),
	)
	if loc := testutil.Eval[string](op, `location.pathname + location.search`); !strings.HasPrefix(loc, "/admin/tenants?q=acme") {
		t.Errorf("after deactivating, the page is %s", loc)
	}
	waitText(t, op, "its members cannot sign in")

	// Its member cannot log in, and is told why.
	member := testutil.NewBrowser(t)
	browserLogin(member, f.app, "owner@acme.test", strongPassword)
	waitText(t, member, "deactivated by the platform operator")
	member.ClearProblems() // the 403 page

	// Reactivate it from its page; the member logs in.
	op.Run(
		chromedp.Click(chromedp.CSS(`tr[data-tenant="acme-ads"] a[href^="/admin/tenants/"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#tenant-title`)),
		chromedp.Click(chromedp.CSS(`main form[action$="/activate"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`section[data-tenant="acme-ads"][data-active="true"]`)),
	)
	browserLogin(member, f.app, "owner@acme.test", strongPassword)
	member.Run(chromedp.WaitVisible(chromedp.CSS("#home-title")))

	// Retry the failed run.
	op.Run(
		chromedp.Click(chromedp.CSS(`nav.admin-nav a[href="/admin/runs"]`)),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-run="`+failed+`"]`)),
		chromedp.Click(chromedp.CSS(`tr[data-run="`+failed+`"] form[action$="/retry"] button`)),
	)
	waitText(t, op, "Retry queued")
	var status string
	deadline := time.Now().Add(15 * time.Second)
	for status != "completed" {
		if err := testutil.QueryRow(t, f.app, context.Background(), `SELECT status FROM automation_run
			WHERE automation_id = $1 AND trigger = 'manual'`, f.automationID).Scan(&status); err != nil && time.Now().After(deadline) {
			t.Fatalf("no retried run: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the retried run is %q", status)
		}
		time.Sleep(50 * time.Millisecond)
	}
	op.ExpectNoProblems()

	// The member's dashboard, with the demo accounts' backfilled data (the
	// address verified, so no banner stands in the README's picture).
	if _, err := testutilExec(t, f.app, `UPDATE app_user SET email_verified = true WHERE id = $1`, f.ownerID); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		member.Run(chromedp.Navigate(f.app.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#home-title")))
		if testutil.Eval[bool](member, `!!document.querySelector('svg.chart')`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the dashboard never drew its chart")
		}
		time.Sleep(300 * time.Millisecond)
	}
	png, err := chromedp.Run(member.Ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if len(png) < 1000 || !strings.HasPrefix(string(png), "\x89PNG") {
		t.Fatalf("the screenshot is not a PNG (%d bytes)", len(png))
	}
	if err := os.MkdirAll(filepath.Dir(dashboardScreenshot), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dashboardScreenshot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("UPDATE_SCREENSHOTS") == "1" {
		if err := os.WriteFile(readmeScreenshot, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	member.ExpectNoProblems()
}

// htmxIdle waits until no htmx request is in flight, so the next click
// finds the nodes of the last swap.
func htmxIdle() chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](`document.querySelectorAll('.htmx-request').length === 0`, chromedp.WithPollingTimeout(10*time.Second))
}
