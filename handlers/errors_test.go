package handlers_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"adpilot/models"
	"adpilot/testutil"
)

// errorRoutes mounts handlers that fail in each way the error handler maps.
func errorRoutes(e *echo.Echo, _ []echo.MiddlewareFunc) {
	e.GET("/test/panic", func(echo.Context) error { panic("secret-panic-detail") })
	e.GET("/test/internal", func(echo.Context) error { return errors.New("secret-internal-detail") })
	e.GET("/test/not-found", func(echo.Context) error { return models.ErrNotFound })
	e.GET("/test/conflict", func(echo.Context) error { return models.ErrConflict })
	e.GET("/test/bad-request", func(echo.Context) error {
		return echo.NewHTTPError(http.StatusBadRequest, "The period must be one of yesterday, last_7d, last_30d.")
	})
}

func TestErrorResponsesByClientKind(t *testing.T) {
	app := testutil.NewApp(t, testutil.WithRoutes(errorRoutes))

	cases := []struct {
		name, path string
		status     int
		message    string // shown to the user
	}{
		{"unknown route", "/no/such/page", 404, "There is nothing at this address"},
		{"store not found", "/test/not-found", 404, "There is nothing at this address"},
		{"conflict", "/test/conflict", 409, "conflicts with something that already exists"},
		{"handler message", "/test/bad-request", 400, "The period must be one of"},
		{"internal error", "/test/internal", 500, "Something went wrong on our side"},
		{"panic", "/test/panic", 500, "Something went wrong on our side"},
	}
	for _, tc := range cases {
		t.Run(tc.name+"/html", func(t *testing.T) {
			resp := app.Get(tc.path, "Accept", "text/html").ExpectStatus(tc.status)
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Fatalf("Content-Type = %q", ct)
			}
			if got := resp.Text("main h1"); !strings.Contains(got, http.StatusText(tc.status)) {
				t.Errorf("heading %q does not name status %d", got, tc.status)
			}
			if got := resp.Text("main"); !strings.Contains(got, tc.message) {
				t.Errorf("page text %q lacks %q", got, tc.message)
			}
			if resp.Doc().Find("header nav").Length() != 1 || resp.Doc().Find(`script[src*="htmx.min.js"]`).Length() != 1 {
				t.Error("error page is not wrapped in the layout")
			}
			if rid := resp.Header.Get("X-Request-Id"); rid == "" || !strings.Contains(resp.Body, rid) {
				t.Errorf("request id %q not shown on the page", rid)
			}
			assertNoLeak(t, resp.Body)
		})
		t.Run(tc.name+"/json", func(t *testing.T) {
			resp := app.Get(tc.path, "Accept", "application/json").ExpectStatus(tc.status)
			var body map[string]string
			if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, resp.Body)
			}
			if !strings.Contains(body["error"], tc.message) || body["request_id"] == "" {
				t.Errorf("JSON error body = %v", body)
			}
			assertNoLeak(t, resp.Body)
		})
		t.Run(tc.name+"/htmx", func(t *testing.T) {
			resp := app.Get(tc.path, "HX-Request", "true").ExpectStatus(tc.status)
			if strings.Contains(resp.Body, "<html") || strings.Contains(resp.Body, "<nav") {
				t.Fatalf("htmx error answered with a full page:\n%s", resp.Body)
			}
			if got := resp.Doc().Find(`[role="alert"]`).Text(); !strings.Contains(got, tc.message) {
				t.Errorf("notice %q lacks %q", got, tc.message)
			}
			if resp.Header.Get("HX-Retarget") != "#notices" || resp.Header.Get("HX-Reswap") != "innerHTML" {
				t.Errorf("notice not retargeted: HX-Retarget=%q HX-Reswap=%q", resp.Header.Get("HX-Retarget"), resp.Header.Get("HX-Reswap"))
			}
			assertNoLeak(t, resp.Body)
		})
	}

	t.Run("api paths answer JSON without an Accept header", func(t *testing.T) {
		resp := app.Get("/api/v1/nothing").ExpectStatus(404)
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("Content-Type = %q", resp.Header.Get("Content-Type"))
		}
	})
	t.Run("wrong method is 405", func(t *testing.T) {
		app.Do(http.MethodDelete, "/health", nil, "Accept", "application/json").ExpectStatus(405)
	})
	t.Run("HEAD gets the status and no body", func(t *testing.T) {
		resp := app.Do(http.MethodHead, "/no/such/page", nil).ExpectStatus(404)
		if resp.Body != "" {
			t.Fatalf("HEAD body = %q", resp.Body)
		}
	})
	t.Run("internal details reach the log, not the client", func(t *testing.T) {
		logs := app.Logs()
		if !strings.Contains(logs, "secret-internal-detail") || !strings.Contains(logs, "secret-panic-detail") {
			t.Fatalf("server log lacks the internal errors:\n%s", logs)
		}
	})
}

func assertNoLeak(t *testing.T, body string) {
	t.Helper()
	for _, secret := range []string{"secret-internal-detail", "secret-panic-detail", "goroutine", ".go:"} {
		if strings.Contains(body, secret) {
			t.Fatalf("response leaks %q:\n%s", secret, body)
		}
	}
}

func TestOversizedBodyIs413(t *testing.T) {
	app := testutil.NewApp(t)
	big := strings.NewReader(strings.Repeat("x", 2<<20))
	app.Do(http.MethodPost, "/api/webhooks/facebook", big, "Content-Type", "application/json").ExpectStatus(http.StatusRequestEntityTooLarge)
}
