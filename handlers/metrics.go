package handlers

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"adpilot/metrics"
	"adpilot/models"
)

// metricsHandler serves /metrics in Prometheus' text format: the process's
// series plus the figures read from the database at scrape time.
func (h *Handler) metricsHandler() echo.HandlerFunc {
	db := prometheus.NewRegistry()
	db.MustRegister(opsCollector{store: h.store})
	serve := promhttp.HandlerFor(prometheus.Gatherers{metrics.Registry, db}, promhttp.HandlerOpts{
		ErrorHandling:      promhttp.ContinueOnError, // a slow database drops its gauges, not the whole scrape
		DisableCompression: true,                     // the gzip middleware compresses every response already
	})
	return func(c echo.Context) error {
		if want := h.cfg.MetricsToken.Reveal(); want != "" {
			got, ok := strings.CutPrefix(c.Request().Header.Get(echo.HeaderAuthorization), "Bearer ")
			if !ok || !equalSecret(got, want) {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="metrics"`)
				return echo.NewHTTPError(http.StatusUnauthorized, "A valid METRICS_TOKEN bearer token is required.")
			}
		}
		noStore(c)
		serve.ServeHTTP(c.Response(), c.Request())
		return nil
	}
}

var (
	schedulerLagDesc = prometheus.NewDesc("adpilot_scheduler_lag_seconds",
		"How long the oldest due automation has waited to run (0 when none is due).", nil, nil)
	dueDesc     = prometheus.NewDesc("adpilot_automations_due", "Active automations whose next run has come.", nil, nil)
	runningDesc = prometheus.NewDesc("adpilot_automation_runs_in_progress", "Runs queued or running.", nil, nil)
	pendingDesc = prometheus.NewDesc("adpilot_deliveries_pending", "Deliveries waiting to be delivered.", nil, nil)
	eventsDesc  = prometheus.NewDesc("adpilot_webhook_events_pending", "Webhook events waiting to be processed.", nil, nil)
	tokensDesc  = prometheus.NewDesc("adpilot_connections", "Connections by platform and token health (valid, expiring, expired, invalid).",
		[]string{"platform", "status"}, nil)
)

// opsCollector reads the database's figures when /metrics is scraped.
type opsCollector struct{ store *models.Store }

func (opsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{schedulerLagDesc, dueDesc, runningDesc, pendingDesc, eventsDesc, tokensDesc} {
		ch <- d
	}
}

func (o opsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	now := time.Now()
	st, err := o.store.OpsStats(ctx, now)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(schedulerLagDesc, err)
		return
	}
	lag := 0.0
	if st.OldestDue != nil {
		lag = max(now.Sub(*st.OldestDue).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(schedulerLagDesc, prometheus.GaugeValue, lag)
	ch <- prometheus.MustNewConstMetric(dueDesc, prometheus.GaugeValue, float64(st.Due))
	ch <- prometheus.MustNewConstMetric(runningDesc, prometheus.GaugeValue, float64(st.Running))
	ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(st.DeliveriesPending))
	ch <- prometheus.MustNewConstMetric(eventsDesc, prometheus.GaugeValue, float64(st.EventsPending))
	for _, c := range st.Connections {
		ch <- prometheus.MustNewConstMetric(tokensDesc, prometheus.GaugeValue, float64(c.Count), c.Platform, c.Status)
	}
}
