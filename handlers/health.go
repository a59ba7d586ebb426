package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// healthReport is the body of GET /health.
type healthReport struct {
	Status        string `json:"status"`
	Database      string `json:"database"`
	Version       string `json:"version"`
	UptimeSeconds int64  `json:"uptime_seconds"`
}

// health reports liveness with the database's state: 200 when PostgreSQL
// answers, 503 when it does not.
func (h *Handler) health(c echo.Context) error {
	noStore(c)
	report := healthReport{Status: "ok", Database: "ok", Version: h.version,
		UptimeSeconds: int64(time.Since(h.startedAt).Seconds())}
	status := http.StatusOK
	if err := h.pingDB(c); err != nil {
		h.logger.Warn("health check: database unreachable", "err", err)
		report.Status, report.Database, status = "unavailable", "unreachable", http.StatusServiceUnavailable
	}
	return c.JSON(status, report)
}

// ready is for load balancers: 503 while the database is unreachable or the
// server is draining for shutdown.
func (h *Handler) ready(c echo.Context) error {
	noStore(c)
	if h.draining.Load() {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "draining"})
	}
	if err := h.pingDB(c); err != nil {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "database unreachable"})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}

func (h *Handler) pingDB(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	return h.store.Ping(ctx)
}
