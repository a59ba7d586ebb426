package handlers_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"adpilot/testutil"
)

// BenchmarkLandingPage measures one full page through the whole middleware
// chain (request ID, logging, security headers, session, CSRF, templ layout).
func BenchmarkLandingPage(b *testing.B) { benchmarkGet(b, "/") }

// BenchmarkHealth measures the load balancer's probe, a database ping included.
func BenchmarkHealth(b *testing.B) { benchmarkGet(b, "/health") }

func benchmarkGet(b *testing.B, path string) {
	app := testutil.NewApp(b, testutil.WithEnv("LOG_LEVEL", "warn"))
	h := app.App.Handler()
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("GET %s: status %d", path, rec.Code)
		}
	}
}

// BenchmarkSignedInPage measures a page for a signed-in member: the session
// is decoded and the user and tenant loaded on every request.
func BenchmarkSignedInPage(b *testing.B) {
	app := testutil.NewApp(b, testutil.WithEnv("LOG_LEVEL", "warn"))
	benchmarkSignedIn(b, app, "/auth/me")
}

// BenchmarkConnectionsPage measures /connections with three connections.
func BenchmarkConnectionsPage(b *testing.B) {
	app := testutil.NewApp(b, testutil.WithEnv("LOG_LEVEL", "warn", "DEMO_PLATFORM", "true"))
	benchmarkSignedIn(b, app, "/connections", func(b *testing.B, app *testutil.TestApp) {
		app.PostForm("/connections/demo", url.Values{}, "Sec-Fetch-Site", "same-origin").ExpectStatus(http.StatusSeeOther)
	})
}

// benchmarkSignedIn registers and logs in, runs setup as that member, then
// measures GET path with the session cookie.
func benchmarkSignedIn(b *testing.B, app *testutil.TestApp, path string, setup ...func(*testing.B, *testutil.TestApp)) {
	app.Do(http.MethodPost, "/auth/register", strings.NewReader(`{"email":"bench@example.com","password":"`+strongPassword+`","tenant_name":"Bench"}`),
		"Content-Type", "application/json").ExpectStatus(http.StatusCreated)
	login := app.PostForm("/auth/login", url.Values{"login": {"bench@example.com"}, "password": {strongPassword}}, "Sec-Fetch-Site", "same-origin").
		ExpectStatus(http.StatusSeeOther)
	for _, s := range setup {
		s(b, app)
	}
	cookies := login.Cookies()
	h := app.App.Handler()
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}
