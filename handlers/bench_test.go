package handlers_test

import (
	"net/http"
	"net/http/httptest"
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
