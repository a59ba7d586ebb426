package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"adpilot/testutil"
)

func TestTenantSettingsAPI(t *testing.T) {
	app := testutil.NewApp(t)
	registerAPI(t, app, "boss@example.com", "Settings Co")
	addMember(t, app, "settings-co", "viewer@example.com", "viewer")
	admin := loginAPI(t, app, `{"email":"boss@example.com","password":"`+strongPassword+`"}`)
	viewer := loginAPI(t, app, `{"email":"viewer@example.com","password":"`+strongPassword+`"}`)

	resp, cur := jsonCall(t, app, http.MethodGet, "/api/tenants/current", "", viewer)
	resp.ExpectStatus(http.StatusOK)
	if s, _ := cur["settings"].(map[string]any); cur["slug"] != "settings-co" || s["timezone"] != "UTC" || s["currency"] != "USD" {
		t.Fatalf("current tenant = %v", cur)
	}
	resp, _ = jsonCall(t, app, http.MethodPatch, "/api/tenants/current", `{"name":"Hijacked"}`, viewer)
	resp.ExpectStatus(http.StatusForbidden)

	resp, out := jsonCall(t, app, http.MethodPatch, "/api/tenants/current", `{"timezone":"Mars/Olympus","currency":"QQQ"}`, admin)
	resp.ExpectStatus(http.StatusUnprocessableEntity)
	if f, _ := out["fields"].(map[string]any); f["timezone"] == nil || f["currency"] == nil {
		t.Fatalf("invalid settings not reported per field: %v", out)
	}
	resp, out = jsonCall(t, app, http.MethodPatch, "/api/tenants/current", `{"name":"Settings GmbH","settings":{"timezone":"Europe/Berlin","currency":"eur"}}`, admin)
	resp.ExpectStatus(http.StatusOK)
	if s, _ := out["settings"].(map[string]any); out["name"] != "Settings GmbH" || s["timezone"] != "Europe/Berlin" || s["currency"] != "EUR" {
		t.Fatalf("patched tenant = %v", out)
	}

	var before, after string
	err := testutil.QueryRow(t, app, context.Background(), `SELECT before->>'timezone', after->>'timezone' FROM audit_log
		WHERE action = 'tenant.settings_change'`).Scan(&before, &after)
	if err != nil || before != "UTC" || after != "Europe/Berlin" {
		t.Fatalf("audit of the change: %q -> %q (%v)", before, after, err)
	}

	resp, members := jsonCall(t, app, http.MethodGet, "/api/tenants/current/members", "", viewer)
	resp.ExpectStatus(http.StatusOK)
	if list, _ := members["members"].([]any); len(list) != 2 {
		t.Fatalf("members = %v", members)
	}
	// Only platform operators list every tenant; the first user of the instance is one.
	resp, _ = jsonCall(t, app, http.MethodGet, "/api/tenants", "", viewer)
	resp.ExpectStatus(http.StatusForbidden)
	resp, all := jsonCall(t, app, http.MethodGet, "/api/tenants", "", admin)
	resp.ExpectStatus(http.StatusOK)
	if list, _ := all["tenants"].([]any); len(list) != 1 {
		t.Fatalf("tenants = %v", all)
	}
	resp, _ = jsonCall(t, app, http.MethodGet, "/api/tenants/current", "", "")
	resp.ExpectStatus(http.StatusUnauthorized)
}

func TestSettingsPageByRole(t *testing.T) {
	app := testutil.NewApp(t)
	registerAPI(t, app, "owner@example.com", "Pages Inc")
	addMember(t, app, "pages-inc", "reader@example.com", "viewer")

	// A viewer sees the values, no form, and a forced POST is refused.
	app.PostForm("/auth/login", url.Values{"login": {"reader@example.com"}, "password": {strongPassword}}, "Sec-Fetch-Site", "same-origin").ExpectStatus(http.StatusSeeOther)
	page := app.Get("/settings").ExpectStatus(http.StatusOK)
	if page.Doc().Find(`form[action="/settings"]`).Length() != 0 || page.Text("dd") == "" {
		t.Fatal("a viewer got the settings form")
	}
	app.PostForm("/settings", url.Values{"name": {"X"}, "timezone": {"UTC"}, "currency": {"USD"}}, "Sec-Fetch-Site", "same-origin").ExpectStatus(http.StatusForbidden)

	// An admin edits; bad values come back beside their fields with 422, kept.
	app.PostForm("/auth/logout", url.Values{}, "Sec-Fetch-Site", "same-origin")
	app.PostForm("/auth/login", url.Values{"login": {"owner@example.com"}, "password": {strongPassword}}, "Sec-Fetch-Site", "same-origin").ExpectStatus(http.StatusSeeOther)
	bad := app.PostForm("/settings", url.Values{"name": {""}, "timezone": {"Nowhere/Land"}, "currency": {"EUR"}}, "Sec-Fetch-Site", "same-origin").
		ExpectStatus(http.StatusUnprocessableEntity)
	if bad.Text("#name-error") == "" || bad.Text("#timezone-error") == "" {
		t.Fatalf("errors not beside the fields:\n%s", bad.Text("form"))
	}
	if v, _ := bad.Doc().Find(`input[name="timezone"]`).Attr("value"); v != "Nowhere/Land" {
		t.Errorf("entered value not kept: %q", v)
	}
	app.PostForm("/settings", url.Values{"name": {"Pages Ltd"}, "timezone": {"Asia/Tokyo"}, "currency": {"JPY"}}, "Sec-Fetch-Site", "same-origin").ExpectStatus(http.StatusSeeOther)
	if v, _ := app.Get("/settings").Doc().Find(`input[name="timezone"]`).Attr("value"); v != "Asia/Tokyo" {
		t.Errorf("saved time zone = %q", v)
	}
}
