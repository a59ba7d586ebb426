package handlers_test

import (
	"database/sql"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"adpilot/testutil"
)

func TestHealthReportsDatabaseUpAndDown(t *testing.T) {
	app := testutil.NewApp(t)

	var body struct {
		Status        string `json:"status"`
		Database      string `json:"database"`
		Version       string `json:"version"`
		UptimeSeconds *int64 `json:"uptime_seconds"`
	}
	resp := app.Get("/health").ExpectStatus(http.StatusOK)
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		t.Fatalf("health body is not JSON: %v\n%s", err, resp.Body)
	}
	if body.Status != "ok" || body.Database != "ok" || body.Version != "test" || body.UptimeSeconds == nil {
		t.Fatalf("unexpected health report: %+v", body)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	app.Get("/health/ready").ExpectStatus(http.StatusOK)

	// Take the database away: refuse new connections and end the open ones.
	dbName := strings.TrimPrefix(mustParse(t, app.Config.DatabaseURL).Path, "/")
	admin, err := sql.Open("postgres", testutil.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	mustExec(t, admin, "ALTER DATABASE "+dbName+" ALLOW_CONNECTIONS false")
	mustExec(t, admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", dbName)

	resp = app.Get("/health").ExpectStatus(http.StatusServiceUnavailable)
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		t.Fatalf("health body is not JSON: %v\n%s", err, resp.Body)
	}
	if body.Status != "unavailable" || body.Database != "unreachable" {
		t.Fatalf("health with the database down: %+v", body)
	}
	app.Get("/health/ready").ExpectStatus(http.StatusServiceUnavailable)

	// And back: the pool reconnects by itself.
	mustExec(t, admin, "ALTER DATABASE "+dbName+" ALLOW_CONNECTIONS true")
	app.Get("/health").ExpectStatus(http.StatusOK)
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func mustExec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}
