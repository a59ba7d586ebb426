package handlers

import (
	"context"
	"time"

	"adpilot/models"
)

// backfillSnapshots fetches the last 30 days of account-level daily rows of
// freshly connected ad accounts after the response, so the dashboard's
// chart has data within a minute of connecting. A backfill cut short (the
// process stopping) is caught up by the leader's snapshot sweep.
func (h *Handler) backfillSnapshots(conns []models.Connection) {
	if h.conns == nil || len(conns) == 0 {
		return
	}
	h.background(func(ctx context.Context) {
		for _, c := range conns {
			if _, err := h.conns.RefreshSnapshots(ctx, c.TenantID, c.ID, time.Now()); err != nil {
				h.logger.Warn("backfilling a connection's snapshots", "connection", c.ID, "err", err)
			}
		}
	})
}
