package handlers_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

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
