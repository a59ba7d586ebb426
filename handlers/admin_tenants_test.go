package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"adpilot/testutil"
)

func TestAdminTenantsListSearchAndPages(t *testing.T) {
	f := newAdminFixture(t)
	app := f.asOperator(t)
	// One failed run in the last day, one older.
	if _, err := testutilExec(t, app, `INSERT INTO automation_run (tenant_id, automation_id, status, trigger, started_at, completed_at, error_message)
		VALUES ($1, $2, 'failed', 'schedule', now() - interval '1 hour', now() - interval '1 hour', 'boom'),
		       ($1, $2, 'completed', 'schedule', now() - interval '3 days', now() - interval '3 days', NULL)`, f.acmeID, f.automationID); err != nil {
		t.Fatal(err)
	}

	page := app.Get("/admin/tenants").ExpectStatus(http.StatusOK)
	row := page.Doc().Find(`#tenant-results tr[data-tenant="acme-ads"]`)
	if row.Length() != 1 || page.Doc().Find(`#tenant-results tr[data-tenant="operator-co"]`).Length() != 1 {
		t.Fatalf("tenant list:\n%s", page.Text("#tenant-results"))
	}
	cells := row.Find("td").Map(func(_ int, s *goquery.Selection) string { return strings.TrimSpace(s.Text()) })
	// Tenant, status, members, connections, automations, runs (24 h)...
	if cells[1] != "active" || cells[2] != "1" || cells[3] != "3" || cells[4] != "1" || !strings.HasPrefix(cells[5], "1") ||
		!strings.Contains(cells[5], "1 failed") {
		t.Fatalf("Acme's counts: %q", cells)
	}
	if page.Doc().Find(`header nav a[href="/admin"]`).Length() != 1 {
		t.Error("the operator's nav has no Admin link")
	}

	for _, q := range []string{"acme", "ACME-ADS", "Ads"} {
		res := app.Get("/admin/tenants?q=" + url.QueryEscape(q)).ExpectStatus(http.StatusOK)
		if n := res.Doc().Find("#tenant-results tbody tr").Length(); n != 1 {
			t.Errorf("search %q: %d rows, want 1", q, n)
		}
	}
	if n := app.Get("/admin/tenants?q=%25").Doc().Find("#tenant-results tbody tr").Length(); n != 0 {
		t.Errorf("a %% search matched %d tenants: LIKE wildcards are not escaped", n)
	}
	// Nonsense filters are ignored, never a 500.
	app.Get("/admin/tenants?q=%00%ff&status=bogus&page=-3").ExpectStatus(http.StatusOK)

	// 60 more tenants: two pages, the filter kept in the pager's links.
	for i := range 60 {
		if _, err := testutilExec(t, app, `INSERT INTO tenant (name, slug) VALUES ($1, $2)`,
			fmt.Sprintf("Bulk %02d", i), fmt.Sprintf("bulk-%02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	first := app.Get("/admin/tenants?q=bulk").ExpectStatus(http.StatusOK)
	next, _ := first.Doc().Find(`#tenant-results a[rel=next]`).Attr("href")
	if next != "/admin/tenants?page=2&q=bulk" {
		t.Fatalf("next page link = %q", next)
	}
	second := app.Get(next).ExpectStatus(http.StatusOK)
	if n := second.Doc().Find("#tenant-results tbody tr").Length(); n != 10 {
		t.Fatalf("page 2 has %d rows, want 10", n)
	}
	// htmx: the filter form asks for the results and pushes the URL.
	form := first.Doc().Find(`form[action="/admin/tenants"]`)
	if v, _ := form.Attr("hx-push-url"); v != "true" {
		t.Error("the filter form does not push the URL")
	}
}

func TestAdminDeactivateTenantLocksItsMembersOut(t *testing.T) {
	f := newAdminFixture(t)
	// The member's own browser session and token, from before.
	signInBrowser(t, f.app, "owner@acme.test")
	memberJar := f.app.Client.Jar
	f.app.Get("/").ExpectStatus(http.StatusOK)

	app := f.asOperator(t)
	detail := app.Get("/admin/tenants/" + f.acmeID).ExpectStatus(http.StatusOK)
	for _, want := range []string{"owner@acme.test", "Acme morning report", "demo_act_1001"} {
		if !strings.Contains(detail.Text("main"), want) {
			t.Errorf("the tenant page lacks %q", want)
		}
	}
	if n := detail.Doc().Find(`table.admin-connections tr[data-health="valid"]`).Length(); n != 3 {
		t.Errorf("the tenant page shows %d valid connections, want 3", n)
	}

	resp := f.post(t, "/admin/tenants/"+f.acmeID+"/deactivate", url.Values{"return": {"/admin/tenants?q=acme"}}).
		ExpectStatus(http.StatusSeeOther)
	if loc := resp.Header.Get("Location"); loc != "/admin/tenants?q=acme" {
		t.Errorf("deactivating went back to %q", loc)
	}
	list := app.Get("/admin/tenants?q=acme")
	if !strings.Contains(flashes(list), "deactivated") || list.Doc().Find(`tr[data-tenant="acme-ads"][data-active="false"]`).Length() != 1 {
		t.Fatalf("after deactivating: flash %q, list:\n%s", flashes(list), list.Text("#tenant-results"))
	}
	if n := f.count(t, `SELECT count(*) FROM audit_log WHERE action = 'tenant.deactivate' AND tenant_id = $1
		AND target_id = $1::text AND actor_label LIKE 'operator@example.com%'`, f.acmeID); n != 1 {
		t.Errorf("%d tenant.deactivate audit entries, want 1", n)
	}
	// Deactivating again changes nothing and audits nothing.
	f.post(t, "/admin/tenants/"+f.acmeID+"/deactivate", nil).ExpectStatus(http.StatusSeeOther)
	if n := f.count(t, `SELECT count(*) FROM audit_log WHERE action = 'tenant.deactivate'`); n != 1 {
		t.Errorf("a second deactivation was audited too (%d entries)", n)
	}

	// The member cannot log in, and is told why (only with the right password).
	app.Client.Jar = newJar(t)
	login := app.PostForm("/auth/login", url.Values{"login": {"owner@acme.test"}, "password": {strongPassword}}, "Sec-Fetch-Site", "same-origin")
	if login.StatusCode != http.StatusForbidden || !strings.Contains(login.Text("main"), "deactivated by the platform operator") {
		t.Fatalf("member log-in: %d\n%s", login.StatusCode, login.Text("main"))
	}
	wrong := app.PostForm("/auth/login", url.Values{"login": {"owner@acme.test"}, "password": {"not the password"}}, "Sec-Fetch-Site", "same-origin")
	if wrong.StatusCode != http.StatusUnauthorized || strings.Contains(wrong.Body, "deactivated") {
		t.Fatalf("a wrong password reveals the deactivation: %d", wrong.StatusCode)
	}
	resp, out := jsonCall(t, app, http.MethodPost, "/auth/login", `{"email":"owner@acme.test","password":"`+strongPassword+`"}`, "")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(fmt.Sprint(out), "deactivated") {
		t.Fatalf("API log-in: %d %v", resp.StatusCode, out)
	}
	// The token from before is refused with the reason.
	resp, out = jsonCall(t, app, http.MethodGet, "/auth/me", "", f.ownerToken)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(fmt.Sprint(out), "deactivated") {
		t.Fatalf("the member's token: %d %v", resp.StatusCode, out)
	}
	// The session from before is signed out, with a message.
	app.Client.Jar = memberJar
	home := app.Get("/automations")
	if home.StatusCode != http.StatusSeeOther || !strings.HasPrefix(home.Header.Get("Location"), "/auth/login") {
		t.Fatalf("the member's old session: %d %s", home.StatusCode, home.Header.Get("Location"))
	}
	loginPage := app.Get(home.Header.Get("Location"))
	if !strings.Contains(flashes(loginPage), "deactivated by the platform operator") {
		t.Errorf("the signed-out member is not told why: %q", flashes(loginPage))
	}

	// Reactivated: the member logs in again.
	f.asOperator(t)
	f.post(t, "/admin/tenants/"+f.acmeID+"/activate", nil).ExpectStatus(http.StatusSeeOther)
	if n := f.count(t, `SELECT count(*) FROM audit_log WHERE action = 'tenant.activate' AND tenant_id = $1`, f.acmeID); n != 1 {
		t.Errorf("%d tenant.activate audit entries, want 1", n)
	}
	loginAPI(t, app, `{"email":"owner@acme.test","password":"`+strongPassword+`"}`)
}

func TestAdminTenantActionsRefuseBadInput(t *testing.T) {
	f := newAdminFixture(t)
	app := f.asOperator(t)
	app.Get("/admin/tenants/not-a-uuid").ExpectStatus(http.StatusNotFound)
	app.Get("/admin/tenants/00000000-0000-4000-8000-000000000000").ExpectStatus(http.StatusNotFound)
	f.post(t, "/admin/tenants/not-a-uuid/deactivate", nil).ExpectStatus(http.StatusNotFound)
	f.post(t, "/admin/tenants/00000000-0000-4000-8000-000000000000/activate", nil).ExpectStatus(http.StatusNotFound)
	// The operator's own tenant: that would lock them out.
	var own string
	if err := testutil.QueryRow(t, app, context.Background(), `SELECT id FROM tenant WHERE slug = 'operator-co'`).Scan(&own); err != nil {
		t.Fatal(err)
	}
	resp := f.post(t, "/admin/tenants/"+own+"/deactivate", nil)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(resp.Body, "lock yourself out") {
		t.Fatalf("deactivating one's own tenant: %d", resp.StatusCode)
	}
	// A return address off /admin is not followed.
	resp = f.post(t, "/admin/tenants/"+f.acmeID+"/deactivate", url.Values{"return": {"//evil.example/admin"}}).ExpectStatus(http.StatusSeeOther)
	if loc := resp.Header.Get("Location"); loc != "/admin/tenants/"+f.acmeID {
		t.Errorf("return address followed to %q", loc)
	}
	// Without the CSRF token (a cross-site form), refused.
	app.PostForm("/admin/tenants/"+f.acmeID+"/activate", url.Values{"_csrf": {"forged"}}, "Sec-Fetch-Site", "cross-site").ExpectStatus(http.StatusForbidden)
}
