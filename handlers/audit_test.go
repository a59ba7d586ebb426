package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"adpilot/testutil"
)

func TestAuditLogPage(t *testing.T) {
	app := testutil.NewApp(t)
	registerAPI(t, app, "auditor@example.com", "Audited")
	addMember(t, app, "audited", "reader@example.com", "viewer")
	registerAPI(t, app, "other@example.com", "Elsewhere")
	// Some history: a failed and a good log-in, a settings change, and
	// activity in another tenant that must not show.
	jsonCall(t, app, http.MethodPost, "/auth/login", `{"email":"auditor@example.com","password":"wrong password here"}`, "")
	admin := loginAPI(t, app, `{"email":"auditor@example.com","password":"`+strongPassword+`"}`)
	jsonCall(t, app, http.MethodPatch, "/api/tenants/current", `{"timezone":"Europe/Paris"}`, admin)
	loginAPI(t, app, `{"email":"other@example.com","password":"`+strongPassword+`"}`)

	app.PostForm("/auth/login", url.Values{"login": {"auditor@example.com"}, "password": {strongPassword}}, "Sec-Fetch-Site", "same-origin").ExpectStatus(http.StatusSeeOther)
	page := app.Get("/settings/audit").ExpectStatus(http.StatusOK)
	text := page.Text("#audit-results")
	for _, want := range []string{"auth.login_failed", "auth.login", "tenant.settings_change", "Europe/Paris", "auth.register"} {
		if !strings.Contains(text, want) {
			t.Errorf("audit page lacks %q", want)
		}
	}
	if strings.Contains(text, "other@example.com") {
		t.Error("another tenant's activity shows in the audit log")
	}
	filtered := app.Get("/settings/audit?action=tenant.settings_change").ExpectStatus(http.StatusOK)
	if rows := filtered.Doc().Find("#audit-results tbody tr").Length(); rows != 1 {
		t.Errorf("action filter left %d rows, want 1", rows)
	}
	if v, _ := filtered.Doc().Find(`#f-action option[selected]`).Attr("value"); v != "tenant.settings_change" {
		t.Errorf("the filter does not stay selected: %q", v)
	}
	app.Get("/settings/audit?from=bogus&page=-3&action=%00&actor=%00%ff").ExpectStatus(http.StatusOK)

	// Only admins read it.
	app.PostForm("/auth/logout", url.Values{}, "Sec-Fetch-Site", "same-origin")
	app.PostForm("/auth/login", url.Values{"login": {"reader@example.com"}, "password": {strongPassword}}, "Sec-Fetch-Site", "same-origin").ExpectStatus(http.StatusSeeOther)
	app.Get("/settings/audit").ExpectStatus(http.StatusForbidden)
}
