package handlers_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"adpilot/testutil"
)

func TestMetricsEndpoint(t *testing.T) {
	f := newAutomationFixture(t, testutil.WithEnv("METRICS_TOKEN", "scrape-secret-123"))
	f.app.Get("/metrics").ExpectStatus(http.StatusUnauthorized)
	f.app.Get("/metrics", "Authorization", "Bearer wrong").ExpectStatus(http.StatusUnauthorized)
	f.app.Get("/this/path/is/not/a/route/" + strings.Repeat("x", 20)).ExpectStatus(http.StatusNotFound)
	// A due automation makes the scheduler lag positive.
	a := f.create(t, `{"name":"Due","type":"data_sync","connections":["`+f.connID+`"],"schedule":{"kind":"hourly","minute":0},"config":{"level":"account","lookback_days":3}}`)
	if _, err := testutilExec(t, f.app, `UPDATE automation SET next_run = now() - interval '90 seconds' WHERE id = $1`, a["id"]); err != nil {
		t.Fatal(err)
	}
	// A run delivered to the webhook counts a run and a delivery attempt.
	rep := f.create(t, `{"name":"Report","type":"scheduled_report","destination_id":"`+f.destID+`","connections":["`+f.connID+`"],
		"schedule":{"kind":"daily","time":"09:00"},"config":{"level":"account","period":"yesterday","metrics":["spend"]}}`)
	_, run := jsonCall(t, f.app, http.MethodPost, "/api/v1/automations/"+rep["id"].(string)+"/run", "", f.token)
	f.waitRun(t, run["run_id"].(string))
	f.recv.WaitFor(1, 10*time.Second)
	resp := f.app.Get("/metrics", "Authorization", "Bearer scrape-secret-123").ExpectStatus(http.StatusOK)
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("content type %q", resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		`adpilot_http_requests_total{method="POST",route="/api/v1/automations",status="201"}`,
		`adpilot_http_request_duration_seconds_bucket{method="POST",route="/api/v1/automations",le="0.5"}`,
		`adpilot_http_requests_total{method="GET",route="unmatched",status="404"}`,
		`adpilot_automations_due 1`,
		`adpilot_connections{platform="demo",status="valid"} 3`,
		`adpilot_deliveries_pending`,
		`adpilot_webhook_events_pending 0`,
		`go_goroutines`,
		`adpilot_automation_runs_total{status="completed",trigger="manual",type="scheduled_report"}`,
		`adpilot_automation_run_duration_seconds_bucket{type="scheduled_report",le="+Inf"}`,
		`adpilot_delivery_attempts_total{channel="webhook",outcome="delivered"}`,
	} {
		if !strings.Contains(resp.Body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(resp.Body, "/this/path") {
		t.Error("a raw path became a label")
	}
	lag := ""
	for _, line := range strings.Split(resp.Body, "\n") {
		if strings.HasPrefix(line, "adpilot_scheduler_lag_seconds ") {
			lag = strings.TrimPrefix(line, "adpilot_scheduler_lag_seconds ")
		}
	}
	if lag == "" || lag == "0" || strings.HasPrefix(lag, "-") {
		t.Errorf("scheduler lag %q, want about 90 s", lag)
	}
}
