package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"adpilot/testutil"
)

// adminRoutes lists every /admin route registered in the router, with
// path parameters filled in, so a new route is covered without editing
// this test.
func adminRoutes(t *testing.T, app *testutil.TestApp) []struct{ method, path string } {
	t.Helper()
	var out []struct{ method, path string }
	for _, r := range app.App.Echo().Routes() {
		if r.Path != "/admin" && !strings.HasPrefix(r.Path, "/admin/") {
			continue
		}
		parts := strings.Split(r.Path, "/")
		for i, p := range parts {
			if strings.HasPrefix(p, ":") || p == "*" {
				parts[i] = "00000000-0000-4000-8000-000000000000"
			}
		}
		out = append(out, struct{ method, path string }{r.Method, strings.Join(parts, "/")})
	}
	if len(out) < 20 {
		t.Fatalf("found only %d /admin routes: the walk is broken", len(out))
	}
	return out
}

// TestAdminRoutesRefuseNonOperators walks every /admin route: a tenant
// admin gets 403 (browser session and bearer token), an anonymous browser
// is sent to log in, an anonymous JSON client gets 401.
func TestAdminRoutesRefuseNonOperators(t *testing.T) {
	app := testutil.NewApp(t)
	registerAPI(t, app, "operator@example.com", "Operator Co") // the first user: platform operator
	registerAPI(t, app, "boss@example.com", "Customer Co")     // a tenant admin, not an operator
	bearer := loginAPI(t, app, `{"email":"boss@example.com","password":"`+strongPassword+`"}`)
	routes := adminRoutes(t, app)

	signInBrowser(t, app, "boss@example.com")
	tenantAdmin := app.Client.Jar
	anonymous := newJar(t)

	for _, r := range routes {
		t.Run(r.method+" "+r.path, func(t *testing.T) {
			a := app.With(t)
			same := []string{"Sec-Fetch-Site", "same-origin"}
			if r.method == http.MethodPost {
				same = append(same, "Content-Type", "application/x-www-form-urlencoded")
			}

			a.Client.Jar = tenantAdmin
			if resp := a.Do(r.method, r.path, strings.NewReader(""), same...); resp.StatusCode != http.StatusForbidden {
				t.Errorf("tenant admin (session): status %d, want 403", resp.StatusCode)
			}
			a.Client.Jar = anonymous
			if resp := a.Do(r.method, r.path, strings.NewReader(""), "Accept", "application/json", "Authorization", "Bearer "+bearer); resp.StatusCode != http.StatusForbidden {
				t.Errorf("tenant admin (bearer): status %d, want 403", resp.StatusCode)
			}

			resp := a.Do(r.method, r.path, strings.NewReader(""), same...)
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("anonymous browser: status %d, want 303 to the log-in page", resp.StatusCode)
			}
			loc, err := url.Parse(resp.Header.Get("Location"))
			if err != nil || loc.Path != "/auth/login" || loc.Query().Get("next") != r.path {
				t.Errorf("anonymous browser sent to %q, want /auth/login?next=%s", resp.Header.Get("Location"), r.path)
			}
			// A JSON client sends JSON (which exempts it from CSRF, as a
			// script would be).
			if resp := a.Do(r.method, r.path, strings.NewReader("{}"), "Accept", "application/json",
				"Content-Type", "application/json"); resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("anonymous JSON client: status %d, want 401", resp.StatusCode)
			}
		})
	}
}
