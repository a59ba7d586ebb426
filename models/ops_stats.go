package models

import (
	"context"
	"time"
)

// OpsStats are the instance's health figures read from the database at
// scrape time (/metrics) and on the operators' pages.
type OpsStats struct {
	Due               int        `db:"due"`                // active automations whose next run has come
	OldestDue         *time.Time `db:"oldest_due"`         // the earliest of their next runs
	Running           int        `db:"running"`            // runs queued or running
	DeliveriesPending int        `db:"deliveries_pending"` // deliveries not yet delivered or given up
	EventsPending     int        `db:"events_pending"`     // webhook events not yet processed
	Connections       []ConnectionHealthCount
}

// ConnectionHealthCount is how many connections of a platform are in a status.
type ConnectionHealthCount struct {
	Platform string `db:"platform"`
	Status   string `db:"status"`
	Count    int    `db:"count"`
}

// OpsStats reads the figures in two queries, across tenants (operators
// and /metrics only).
func (s *Store) OpsStats(ctx context.Context, now time.Time) (OpsStats, error) {
	var out OpsStats
	if err := s.db.GetContext(ctx, &out, `SELECT
			(SELECT count(*) FROM automation WHERE status = 'active' AND next_run <= $1) AS due,
			(SELECT min(next_run) FROM automation WHERE status = 'active' AND next_run <= $1) AS oldest_due,
			(SELECT count(*) FROM automation_run WHERE status IN ('queued', 'running')) AS running,
			(SELECT count(*) FROM delivery WHERE status = 'pending') AS deliveries_pending,
			(SELECT count(*) FROM webhook_event WHERE status = 'received') AS events_pending`, now); err != nil {
		return out, err
	}
	// The same rules as Connection.Status: the refresh token's expiry when
	// there is one, else the access token's.
	err := s.db.SelectContext(ctx, &out.Connections, `SELECT platform, status, count(*) AS count FROM (
			SELECT platform, CASE
				WHEN NOT is_valid THEN 'invalid'
				WHEN exp IS NOT NULL AND exp <= $1 THEN 'expired'
				WHEN exp IS NOT NULL AND exp < $1 + $2 * interval '1 second' THEN 'expiring'
				ELSE 'valid' END AS status
			FROM (SELECT platform, is_valid, CASE WHEN refresh_token_enc IS NOT NULL THEN refresh_expires_at ELSE expires_at END AS exp
				FROM ad_token) t) c
		GROUP BY platform, status ORDER BY platform, status`, now, ExpiryWarning.Seconds())
	return out, err
}
