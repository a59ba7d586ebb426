package handlers

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"adpilot/engine"
	"adpilot/models"
	"adpilot/views"
)

// adminRuns lists the runs that failed in the last 24 hours, in every tenant.
func (h *Handler) adminRuns(c echo.Context) error {
	q := c.QueryParams()
	f := models.AdminRunFilter{Since: time.Now().Add(-24 * time.Hour), Search: filterText(q.Get("q"), 100), Limit: adminPageSize}
	page := pageNumber(q)
	f.Offset = (page - 1) * adminPageSize
	rows, total, err := h.store.ListFailedRuns(c.Request().Context(), f)
	if err != nil {
		return err
	}
	m := views.AdminRuns{CSRFToken: csrfToken(c), Search: f.Search, Return: selfURL(c), Total: total}
	for _, r := range rows {
		m.Rows = append(m.Rows, adminRun(r))
	}
	m.Prev, m.Next = pager("/admin/runs", url.Values{"q": {f.Search}}, page, adminPageSize, total)
	return h.renderPage(c, http.StatusOK, "Failed runs", views.AdminRunsPage(m))
}

// retryRun queues a manual run of a failed run's automation, leased to this
// process, and executes it in the background as Run now does (audited).
func (h *Handler) retryRun(c echo.Context) error {
	p := principal(c)
	r, err := h.store.RetryFailedRun(c.Request().Context(), p.User, c.Param("id"), c.RealIP(), time.Now(), engine.Lease)
	switch {
	case errors.Is(err, models.ErrRunNotFailed):
		return echo.NewHTTPError(http.StatusConflict, "Only a failed run can be retried.")
	case errors.Is(err, models.ErrTenantInactive):
		return echo.NewHTTPError(http.StatusConflict, "This tenant is deactivated: activate it before retrying its runs.")
	case errors.Is(err, models.ErrAutomationGone):
		return echo.NewHTTPError(http.StatusConflict, "This automation is stopped: its team must start it again.")
	case errors.Is(err, models.ErrAlreadyRetrying):
		return echo.NewHTTPError(http.StatusConflict, "This automation already has a run queued or running.")
	case err != nil:
		return err
	}
	h.background(func(ctx context.Context) {
		if _, err := h.engine.Execute(context.WithoutCancel(ctx), r); err != nil {
			h.logger.Error("operator retry", "run", r.ID, "err", err)
		}
	})
	return adminDone(c, http.StatusAccepted, map[string]string{"run_id": r.ID, "status": r.Status},
		"Retry queued: a new run of the automation has started.", adminReturn(c, "/admin/runs"))
}
