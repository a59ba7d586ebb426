// Package metrics holds adpilot's Prometheus series (served at /metrics)
// and the per-replica rolling counts of platform calls that the operators'
// scheduler page shows. Instrumented code calls the Observe functions; the
// gauges that come from the database (scheduler lag, token health) are
// collected at scrape time by a Collector the app registers.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Registry is the registry /metrics serves (not the global one, so tests
// and several apps in one process stay apart only where they must).
var Registry = prometheus.NewRegistry()

var (
	httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "adpilot_http_requests_total", Help: "HTTP requests by route, method and status code.",
	}, []string{"route", "method", "status"})
	httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "adpilot_http_request_duration_seconds", Help: "HTTP request latency by route.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
	}, []string{"route", "method"})
	runs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "adpilot_automation_runs_total", Help: "Finished automation runs by type, trigger and status.",
	}, []string{"type", "trigger", "status"})
	runDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "adpilot_automation_run_duration_seconds", Help: "Automation run duration by type.",
		Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
	}, []string{"type"})
	deliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "adpilot_delivery_attempts_total", Help: "Delivery attempts by channel and outcome (delivered, retry, failed).",
	}, []string{"channel", "outcome"})
	platformCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "adpilot_platform_calls_total", Help: "Platform API calls by platform and outcome (ok or the error kind).",
	}, []string{"platform", "outcome"})
	webhookEvents = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "adpilot_webhook_events_total", Help: "Platform webhook events by platform and status (received, duplicate, processed, unmatched, failed, retry).",
	}, []string{"platform", "status"})
)

func init() {
	Registry.MustRegister(httpRequests, httpDuration, runs, runDuration, deliveries, platformCalls, webhookEvents,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
}

// ObserveHTTP counts one answered request; route is the route pattern
// (never the raw path, which would explode the series).
func ObserveHTTP(route, method string, status int, took time.Duration) {
	httpRequests.WithLabelValues(route, method, statusText(status)).Inc()
	httpDuration.WithLabelValues(route, method).Observe(took.Seconds())
}

// ObserveRun counts a finished run.
func ObserveRun(automationType, trigger, status string, took time.Duration) {
	runs.WithLabelValues(automationType, trigger, status).Inc()
	runDuration.WithLabelValues(automationType).Observe(took.Seconds())
}

// ObserveDelivery counts one delivery attempt.
func ObserveDelivery(channel, outcome string) { deliveries.WithLabelValues(channel, outcome).Inc() }

// ObserveWebhookEvents counts webhook events reaching a status.
func ObserveWebhookEvents(platform, status string, n int) {
	if n > 0 {
		webhookEvents.WithLabelValues(platform, status).Add(float64(n))
	}
}

// ObservePlatformCall counts one platform API call; outcome is "ok" or
// the kind of error. It also feeds the rolling hour the scheduler page shows.
func ObservePlatformCall(platform, outcome string) {
	platformCalls.WithLabelValues(platform, outcome).Inc()
	calls.add(platform, outcome != "ok", time.Now())
}

func statusText(code int) string {
	const digits = "0123456789"
	if code < 100 || code > 999 {
		return "other"
	}
	return string([]byte{digits[code/100], digits[code/10%10], digits[code%10]})
}
