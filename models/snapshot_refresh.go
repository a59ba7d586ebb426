package models

import (
	"context"
	"time"
)

// SnapshotDue is an ad connection whose account-level daily snapshots (the
// dashboard's chart) need fetching, with the newest day stored so far.
type SnapshotDue struct {
	Connection
	LastDay *time.Time `db:"last_day"`
}

// SnapshotsDue lists valid ad accounts and advertisers whose account-level
// snapshots were not fetched since staleBefore (or never), the longest
// waiting first, across tenants (a leader job's sweep).
func (s *Store) SnapshotsDue(ctx context.Context, staleBefore time.Time, limit int) ([]SnapshotDue, error) {
	out := []SnapshotDue{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+prefixColumns(connectionColumns, "c.")+`, m.last_day
		FROM ad_token c
		LEFT JOIN LATERAL (SELECT max(day) AS last_day, max(fetched_at) AS fetched_at FROM metric_snapshot
			WHERE connection_id = c.id AND level = 'account') m ON true
		WHERE c.is_valid AND c.kind IN ('ad_account', 'advertiser') AND (m.fetched_at IS NULL OR m.fetched_at < $1)
		ORDER BY m.fetched_at NULLS FIRST, c.id LIMIT $2`, staleBefore, limit)
	return out, err
}

// LastSnapshotDay is the newest day of a connection's account-level
// snapshots; nil when there is none.
func (s *Store) LastSnapshotDay(ctx context.Context, tenantID, connectionID string) (*time.Time, error) {
	var day *time.Time
	err := s.db.GetContext(ctx, &day, `SELECT max(day) FROM metric_snapshot
		WHERE tenant_id = $1 AND connection_id = $2 AND level = 'account'`, tenantID, connectionID)
	return day, err
}
