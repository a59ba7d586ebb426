package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestAdminUsersSearchDeactivateAndReset(t *testing.T) {
	f := newAdminFixture(t)
	viewerID := addMember(t, f.app, "acme-ads", "viewer@acme.test", "viewer")
	signInBrowser(t, f.app, "viewer@acme.test")
	viewerJar := f.app.Client.Jar
	f.app.Get("/").ExpectStatus(http.StatusOK)

	app := f.asOperator(t)
	for q, want := range map[string]int{"viewer@acme": 1, "acme-ads": 2, "Acme Ads": 2, "operator": 1, "nobody": 0} {
		res := app.Get("/admin/users?q=" + url.QueryEscape(q)).ExpectStatus(http.StatusOK)
		if n := res.Doc().Find("#user-results tbody tr").Length(); n != want {
			t.Errorf("search %q: %d rows, want %d", q, n, want)
		}
	}
	app.Get("/admin/users?q=%00&status=nope&page=abc").ExpectStatus(http.StatusOK)

	// Deactivate: audited, and the viewer's session ends at once.
	resp := f.post(t, "/admin/users/"+viewerID+"/deactivate", url.Values{"return": {"/admin/users?q=acme"}}).ExpectStatus(http.StatusSeeOther)
	if loc := resp.Header.Get("Location"); loc != "/admin/users?q=acme" {
		t.Errorf("went back to %q", loc)
	}
	list := app.Get("/admin/users?q=acme")
	if !strings.Contains(flashes(list), "signed out everywhere") || list.Doc().Find(`tr[data-email="viewer@acme.test"][data-active="false"]`).Length() != 1 {
		t.Fatalf("after deactivating: flash %q", flashes(list))
	}
	if n := f.count(t, `SELECT count(*) FROM audit_log WHERE action = 'user.deactivate' AND target_id = $1`, viewerID); n != 1 {
		t.Errorf("%d user.deactivate entries, want 1", n)
	}
	app.Client.Jar = viewerJar
	if r := app.Get("/automations"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("the deactivated viewer's session still works: %d", r.StatusCode)
	}
	app.Client.Jar = newJar(t)
	app.PostForm("/auth/login", url.Values{"login": {"viewer@acme.test"}, "password": {strongPassword}}, "Sec-Fetch-Site", "same-origin").
		ExpectStatus(http.StatusUnauthorized)

	// Reactivate: they log in again (with a new session).
	f.asOperator(t)
	f.post(t, "/admin/users/"+viewerID+"/activate", nil).ExpectStatus(http.StatusSeeOther)
	signInBrowser(t, app, "viewer@acme.test")

	// Password reset: the same email /auth/forgot sends, audited as the operator's.
	f.asOperator(t)
	f.post(t, "/admin/users/"+f.ownerID+"/reset-password", nil).ExpectStatus(http.StatusSeeOther)
	if n := f.count(t, `SELECT count(*) FROM email_outbox WHERE to_address = 'owner@acme.test' AND text_body LIKE '%/auth/reset?token=%'`); n != 1 {
		t.Fatalf("%d reset emails queued for the owner, want 1", n)
	}
	if n := f.count(t, `SELECT count(*) FROM audit_log WHERE action = 'user.password_reset_sent' AND target_id = $1
		AND actor_label LIKE 'operator@example.com%'`, f.ownerID); n != 1 {
		t.Errorf("%d user.password_reset_sent entries, want 1", n)
	}

	// Bad input: clear 4xx.
	var selfID string
	res := app.Get("/admin/users?q=operator@example.com")
	selfID, _ = res.Doc().Find("#user-results tbody tr").Attr("data-user")
	if res.Doc().Find(`form[action="/admin/users/`+selfID+`/deactivate"]`).Length() != 0 {
		t.Error("the operator is offered to deactivate themselves")
	}
	if r := f.post(t, "/admin/users/"+selfID+"/deactivate", nil); r.StatusCode != http.StatusConflict {
		t.Errorf("deactivating oneself: %d, want 409", r.StatusCode)
	}
	f.post(t, "/admin/users/nope/deactivate", nil).ExpectStatus(http.StatusNotFound)
	f.post(t, "/admin/users/00000000-0000-4000-8000-000000000000/reset-password", nil).ExpectStatus(http.StatusNotFound)
	invited, _ := jsonCall(t, app, http.MethodPost, "/admin/users/"+addInvited(t, f)+"/reset-password", "{}", "")
	if invited.StatusCode != http.StatusConflict {
		t.Errorf("a reset for someone not yet joined: %d, want 409", invited.StatusCode)
	}
}

// addInvited adds an invited (not yet joined) member to Acme.
func addInvited(t *testing.T, f *adminFixture) string {
	t.Helper()
	var id string
	if _, err := testutilExec(t, f.app, `INSERT INTO app_user (tenant_id, email, role, invited_at) VALUES ($1, 'new@acme.test', 'user', now())`, f.acmeID); err != nil {
		t.Fatal(err)
	}
	res := f.app.Get("/admin/users?q=new@acme.test")
	id, _ = res.Doc().Find("#user-results tbody tr").Attr("data-user")
	return id
}
