package handlers_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"adpilot/testutil"
)

// registerInBrowser signs a new tenant up and waits for its home page.
func registerInBrowser(b *testutil.Browser, app *testutil.TestApp, tenant, email string) {
	b.Run(
		chromedp.Navigate(app.URL+"/auth/register"),
		fill(`form[action="/auth/register"]`, map[string]string{
			"tenant_name": tenant, "email": email, "password": "connect secret pass",
		}),
		chromedp.WaitVisible(chromedp.CSS("#home-title")),
	)
}

// fakeFacebookApp runs adpilot against fake.
func fakeFacebookApp(t *testing.T, fake *testutil.FakeFacebook) *testutil.TestApp {
	var kv []string
	for k, v := range fake.Env() {
		kv = append(kv, k, v)
	}
	return testutil.NewApp(t, testutil.WithEnv(kv...))
}

// TestBrowserConnectDemoAccount: connect the demo accounts from the
// connections page, check one in place with htmx, and disconnect another.
func TestBrowserConnectDemoAccount(t *testing.T) {
	app := testutil.NewApp(t, testutil.WithEnv("DEMO_PLATFORM", "true"))
	b := testutil.NewBrowser(t)
	registerInBrowser(b, app, "Demo Co", "demo@example.com")

	b.Run(
		chromedp.Click(chromedp.CSS(`header nav a[href="/connections"]`)),
		chromedp.WaitVisible(chromedp.CSS("#connections-title")),
	)
	if n := testutil.Eval[int](b, `document.querySelectorAll('table.connections tr[data-connection]').length`); n != 0 {
		t.Fatalf("a new tenant has %d connections", n)
	}
	if text := pageText(t, b); !strings.Contains(text, "No connections yet") {
		t.Fatalf("the empty connections page says:\n%s", text)
	}

	b.Run(
		chromedp.Click(chromedp.CSS(`form[action="/connections/demo"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-connection="demo_act_1001"]`)),
	)
	refs := testutil.Eval[[]string](b, `[...document.querySelectorAll('table.connections tr[data-connection]')].map(r => r.dataset.connection).sort()`)
	if strings.Join(refs, ",") != "demo_act_1001,demo_act_1002,demo_act_1003" {
		t.Fatalf("after connecting the demo, the rows are %v", refs)
	}
	badges := testutil.Eval[[]string](b, `[...document.querySelectorAll('table.connections tr[data-connection] .badge')].map(e => e.textContent.trim())`)
	for _, badge := range badges {
		if badge != "valid" {
			t.Errorf("demo badges = %q, want all valid", badges)
			break
		}
	}
	if flash := testutil.Eval[string](b, `document.querySelector('#notices .flash-success')?.textContent ?? ''`); !strings.Contains(flash, "Connected 3 demo accounts") {
		t.Errorf("flash after connecting = %q", flash)
	}

	// Check now: htmx swaps the row. The old row carries a marker, so the
	// wait ends only once a new row (without it) has replaced it.
	const shop = `tr[data-connection="demo_act_1001"]`
	testutil.Eval[bool](b, `(document.querySelector('`+shop+`').dataset.stale = 'yes', true)`)
	b.Run(
		chromedp.Click(chromedp.CSS(shop+` form[hx-post] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(shop+`:not([data-stale])`)),
	)
	if n := testutil.Eval[int](b, `document.querySelectorAll('table.connections tr[data-connection]').length`); n != 3 {
		t.Fatalf("after Check now there are %d rows, want 3", n)
	}
	last := testutil.Eval[string](b, `document.querySelector('`+shop+`').cells[2].innerText.trim()`)
	if last == "" || strings.Contains(last, "never") || !strings.HasSuffix(last, "UTC") {
		t.Errorf("after Check now the last check says %q", last)
	}
	if status := testutil.Eval[string](b, `document.querySelector('`+shop+`').dataset.status`); status != "valid" {
		t.Errorf("after Check now the status is %q", status)
	}
	if url := testutil.Eval[string](b, `location.pathname`); url != "/connections" {
		t.Errorf("Check now navigated to %s; htmx should have swapped the row in place", url)
	}

	// Disconnect asks first. The answer is recorded in sessionStorage, which
	// survives the form's page load.
	const leads = `tr[data-connection="demo_act_1002"]`
	testutil.Eval[bool](b, `(window.confirm = m => (sessionStorage.setItem('confirmed', m), true), true)`)
	b.Run(
		chromedp.Click(chromedp.CSS(leads+` form[action$="/disconnect"] button[type="submit"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(leads)),
		chromedp.WaitVisible(chromedp.CSS(`#notices .flash-success`)),
	)
	if asked := testutil.Eval[string](b, `sessionStorage.getItem('confirmed') ?? ''`); !strings.HasPrefix(asked, "Disconnect Demo Leads EU?") {
		t.Errorf("Disconnect did not ask for confirmation (confirm saw %q)", asked)
	}
	refs = testutil.Eval[[]string](b, `[...document.querySelectorAll('table.connections tr[data-connection]')].map(r => r.dataset.connection).sort()`)
	if strings.Join(refs, ",") != "demo_act_1001,demo_act_1003" {
		t.Errorf("after disconnecting Demo Leads EU the rows are %v", refs)
	}
	if flash := testutil.Eval[string](b, `document.querySelector('#notices .flash-success').textContent`); !strings.Contains(flash, "Disconnected Demo Leads EU") {
		t.Errorf("flash after disconnecting = %q", flash)
	}
	b.ExpectNoProblems()
}

// TestBrowserConnectFacebookPickOneOfTwo: the Facebook consent round trip
// ends on a checklist; ticking one of two ad accounts connects only it.
func TestBrowserConnectFacebookPickOneOfTwo(t *testing.T) {
	fake := testutil.NewFakeFacebook(t)
	app := fakeFacebookApp(t, fake)
	b := testutil.NewBrowser(t)
	registerInBrowser(b, app, "Pick Co", "pick@example.com")

	const pickForm = `form[action^="/connections/pick/"]`
	b.Run(
		chromedp.Navigate(app.URL+"/connections"),
		chromedp.Click(chromedp.CSS(`a[data-connect="facebook"]`)),
		// authorize → the fake's dialog → the callback → the checklist
		chromedp.WaitVisible(chromedp.CSS(pickForm)),
	)
	boxes := testutil.Eval[[]string](b, `[...document.querySelectorAll('`+pickForm+` input[name=account]')].map(i => i.value + (i.checked ? ':ticked' : ''))`)
	page := fake.Pages()[0].ID
	if strings.Join(boxes, ",") != "act_111,act_222,"+page {
		t.Fatalf("the checklist offers %v, want act_111, act_222 and Page %s, all unticked", boxes, page)
	}
	text := pageText(t, b)
	for _, want := range []string{"Choose Facebook accounts", "Main Ads", "Brand EU", "Fake Bakery"} {
		if !strings.Contains(text, want) {
			t.Errorf("the checklist does not mention %q:\n%s", want, text)
		}
	}

	b.Run(
		chromedp.Click(chromedp.CSS(pickForm+` input[name=account][value="act_111"]`)),
		chromedp.Click(chromedp.CSS(pickForm+` button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-connection="act_111"]`)),
	)
	refs := testutil.Eval[[]string](b, `[...document.querySelectorAll('table.connections tr[data-connection]')].map(r => r.dataset.connection)`)
	if strings.Join(refs, ",") != "act_111" {
		t.Errorf("after picking act_111 the connections are %v", refs)
	}
	if flash := testutil.Eval[string](b, `document.querySelector('#notices .flash-success')?.textContent ?? ''`); !strings.Contains(flash, "Main Ads") || strings.Contains(flash, "Brand EU") {
		t.Errorf("flash after picking = %q", flash)
	}
	if status := testutil.Eval[string](b, `document.querySelector('tr[data-connection="act_111"]').dataset.status`); status != "valid" {
		t.Errorf("act_111 is %q, want valid", status)
	}
	b.ExpectNoProblems()
}

// TestBrowserDeniedFacebookConsentOffersRetry: refusing the consent lands
// on a page that says nothing was connected and offers to start again.
func TestBrowserDeniedFacebookConsentOffersRetry(t *testing.T) {
	fake := testutil.NewFakeFacebook(t)
	fake.SetDenyConsent(true)
	app := fakeFacebookApp(t, fake)
	b := testutil.NewBrowser(t)
	registerInBrowser(b, app, "Deny Co", "deny@example.com")

	b.Run(
		chromedp.Navigate(app.URL+"/connections"),
		chromedp.Click(chromedp.CSS(`a[data-connect="facebook"]`)),
		chromedp.WaitVisible(chromedp.CSS("#oauth-failure-title")),
	)
	if title := testutil.Eval[string](b, `document.querySelector('#oauth-failure-title').textContent`); title != "Access was not granted" {
		t.Errorf("failure title = %q", title)
	}
	if text := pageText(t, b); !strings.Contains(text, "You cancelled the Facebook consent, so nothing was connected") {
		t.Errorf("the failure page says:\n%s", text)
	}
	retry := testutil.Eval[string](b, `[...document.querySelectorAll('main a')].find(a => a.textContent.trim() === 'Try again')?.getAttribute('href') ?? ''`)
	if retry != "/oauth/facebook/authorize" {
		t.Errorf("Try again links to %q, want /oauth/facebook/authorize", retry)
	}
	if back := testutil.Eval[int](b, `document.querySelectorAll('main a[href="/connections"]').length`); back == 0 {
		t.Error("the failure page has no way back to the connections page")
	}
	// The failure page is answered with 403, which Chromium logs as a
	// console error ("Failed to load resource"). That one is expected;
	// anything else (a CSP violation, a script error) is not.
	testutil.Eval[int](b, "1")
	for _, p := range b.Problems() {
		if !strings.Contains(p, "status of 403") || !strings.Contains(p, "/oauth/facebook/callback?") {
			t.Errorf("the failure page reported %s", p)
		}
	}
	b.ClearProblems()

	// Try again, approving this time: the retry link goes round to the checklist.
	fake.SetDenyConsent(false)
	b.Run(
		chromedp.Click(chromedp.CSS(`main a[href="/oauth/facebook/authorize"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action^="/connections/pick/"] input[value="act_111"]`)),
	)
	b.ExpectNoProblems()
}
