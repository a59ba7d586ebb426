package handlers_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"adpilot/testutil"
)

func TestBrowserLandingPage(t *testing.T) {
	app := testutil.NewApp(t)
	b := testutil.NewBrowser(t)

	var heading string
	b.Run(
		chromedp.Navigate(app.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("main h1")),
		chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
			var err error
			heading, err = chromedp.Text(chromedp.CSS("main h1"))(ctx, tgt)
			return err
		}),
	)
	if !strings.Contains(heading, "Facebook and TikTok") {
		t.Errorf("landing heading = %q", heading)
	}
	if v := testutil.Eval[string](b, "window.htmx ? htmx.version : ''"); !strings.HasPrefix(v, "2.") {
		t.Fatalf("htmx not loaded: version %q", v)
	}
	// htmx read its config from the meta tag (no inline styles under the CSP).
	if testutil.Eval[bool](b, "htmx.config.includeIndicatorStyles") {
		t.Error("htmx indicator styles are on; the CSP would block them")
	}
	if n := testutil.Eval[int](b, `document.querySelectorAll('a[href="/auth/register"], a[href="/auth/login"]').length`); n < 2 {
		t.Errorf("landing page links to sign-up and log-in %d times, want at least 2", n)
	}
	b.ExpectNoProblems()
}

// TestBrowserLandingPageIsAccessible checks what a keyboard or phone user
// meets first: a skip link that takes focus, landmarks, and no sideways scroll.
func TestBrowserLandingPageIsAccessible(t *testing.T) {
	app := testutil.NewApp(t)
	b := testutil.NewBrowser(t)
	b.Run(
		chromedp.EmulateViewport(375, 812), // a phone
		chromedp.Navigate(app.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("main h1")),
		chromedp.KeyEvent(kb.Tab),
	)
	if got := testutil.Eval[string](b, "document.activeElement.textContent"); got != "Skip to content" {
		t.Errorf("first Tab focuses %q, want the skip link", got)
	}
	if left := testutil.Eval[float64](b, "document.activeElement.getBoundingClientRect().left"); left < 0 {
		t.Errorf("the focused skip link is off-screen (left %.0f)", left)
	}
	for _, landmark := range []string{"header", "nav[aria-label]", "main#main", "footer"} {
		if n := testutil.Eval[int](b, "document.querySelectorAll('"+landmark+"').length"); n != 1 {
			t.Errorf("%d %s landmarks, want 1", n, landmark)
		}
	}
	if overflow := testutil.Eval[int](b, "document.documentElement.scrollWidth - window.innerWidth"); overflow > 0 {
		t.Errorf("the page scrolls sideways by %dpx on a phone", overflow)
	}
	if lang := testutil.Eval[string](b, "document.documentElement.lang"); lang != "en" {
		t.Errorf("html lang = %q", lang)
	}
	b.ExpectNoProblems()
}
