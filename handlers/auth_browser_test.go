package handlers_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"adpilot/testutil"
)

// fill types values into inputs by name, then clicks the form's submit button.
func fill(formSelector string, values map[string]string) chromedp.Action[chromedp.Void] {
	var steps []chromedp.Action[chromedp.Void]
	for name, value := range values {
		sel := formSelector + ` [name="` + name + `"]`
		steps = append(steps, chromedp.Clear(chromedp.CSS(sel)), chromedp.SendKeys(chromedp.CSS(sel), value))
	}
	steps = append(steps, chromedp.Click(chromedp.CSS(formSelector+` button[type="submit"]`)))
	return chromedp.Steps(steps...)
}

func pageText(t *testing.T, b *testutil.Browser) string {
	t.Helper()
	return testutil.Eval[string](b, "document.querySelector('main').innerText")
}

// TestBrowserAccountLifecycle: sign up, verify the email from the outbox,
// log out, log in, change the password, and log in with the new one.
func TestBrowserAccountLifecycle(t *testing.T) {
	app := testutil.NewApp(t)
	b := testutil.NewBrowser(t)
	const email = "maria@example.com"

	b.Run(
		chromedp.Navigate(app.URL+"/auth/register"),
		fill(`form[action="/auth/register"]`, map[string]string{
			"tenant_name": "Maria's Agency", "email": email, "password": "first secret pass",
		}),
		chromedp.WaitVisible(chromedp.CSS("#home-title")),
	)
	if text := pageText(t, b); !strings.Contains(text, "Maria's Agency") || !strings.Contains(text, "Please confirm "+email) {
		t.Fatalf("after sign-up the home page says:\n%s", text)
	}

	link := testutil.LinkIn(t, testutil.LatestEmail(t, app.Store, email).Text, "/auth/verify?token=")
	b.Run(chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#home-title")))
	if text := pageText(t, b); !strings.Contains(text, "verified") || strings.Contains(text, "Please confirm") {
		t.Fatalf("after verifying, the page says:\n%s", text)
	}

	b.Run(
		chromedp.Click(chromedp.CSS(`form[action="/auth/logout"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#hero-title")),
		chromedp.Navigate(app.URL+"/auth/login"),
		fill(`form[action="/auth/login"]`, map[string]string{"login": email, "password": "first secret pass"}),
		chromedp.WaitVisible(chromedp.CSS("#home-title")),
		chromedp.Navigate(app.URL+"/auth/me"),
		fill(`form[action="/auth/change-password"]`, map[string]string{
			"current_password": "first secret pass", "new_password": "second secret pass",
		}),
		// The form sits on the profile page itself: wait for the answer's flash.
		chromedp.WaitVisible(chromedp.CSS("#notices .flash-success")),
	)
	if text := pageText(t, b); !strings.Contains(text, "Password changed") {
		t.Fatalf("after the change the profile says:\n%s", text)
	}
	b.ExpectNoProblems()

	b.Run(
		chromedp.Click(chromedp.CSS(`form[action="/auth/logout"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#hero-title")),
		chromedp.Navigate(app.URL+"/auth/login"),
		fill(`form[action="/auth/login"]`, map[string]string{"login": email, "password": "first secret pass"}),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/auth/login"] [role="alert"]`)),
	)
	b.ClearProblems() // the refused log-in answered 401 on purpose
	b.Run(
		fill(`form[action="/auth/login"]`, map[string]string{"login": email, "password": "second secret pass"}),
		chromedp.WaitVisible(chromedp.CSS("#home-title")),
	)
	b.ExpectNoProblems()
}
