package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"adpilot/testutil"
)

func TestOperatorOutbox(t *testing.T) {
	app := testutil.NewApp(t)
	registerAPI(t, app, "operator@example.com", "First Tenant") // the first user: platform operator
	registerAPI(t, app, "customer@example.com", "Second Tenant")

	app.PostForm("/auth/login", url.Values{"login": {"customer@example.com"}, "password": {strongPassword}}, "Sec-Fetch-Site", "same-origin").ExpectStatus(http.StatusSeeOther)
	app.Get("/admin/outbox").ExpectStatus(http.StatusForbidden)

	app.Client.Jar = newJar(t)
	app.PostForm("/auth/login", url.Values{"login": {"operator@example.com"}, "password": {strongPassword}}, "Sec-Fetch-Site", "same-origin").ExpectStatus(http.StatusSeeOther)
	list := app.Get("/admin/outbox").ExpectStatus(http.StatusOK)
	text := list.Text("#outbox-results")
	if !strings.Contains(text, "customer@example.com") || !strings.Contains(text, "operator@example.com") || !strings.Contains(text, "pending") {
		t.Fatalf("outbox lists:\n%s", text)
	}
	if !strings.Contains(list.Text("main"), "No SMTP server is configured") {
		t.Error("the page does not say mail is not being sent")
	}
	filtered := app.Get("/admin/outbox?q=customer").ExpectStatus(http.StatusOK)
	if n := filtered.Doc().Find("#outbox-results tbody tr").Length(); n != 1 {
		t.Fatalf("search left %d rows, want 1", n)
	}
	href, _ := filtered.Doc().Find("#outbox-results tbody a").Attr("href")
	msg := app.Get(href).ExpectStatus(http.StatusOK)
	if !strings.Contains(msg.Text("pre"), "/auth/verify?token=") {
		t.Fatalf("the message page lacks the link:\n%s", msg.Text("main"))
	}
	if msg.Doc().Find("main a[href*='/auth/verify']").Length() != 0 {
		t.Error("the email's HTML was rendered into the operator's page, not shown as source")
	}
	app.Get("/admin/outbox?q=%00%ff&status=%00&page=x").ExpectStatus(http.StatusOK)
	app.Get("/admin/outbox/not-an-id").ExpectStatus(http.StatusNotFound)
	app.Get("/admin/outbox/00000000-0000-0000-0000-000000000000").ExpectStatus(http.StatusNotFound)
}
