package models

import (
	"context"
	"time"
)

// DeleteRunsBefore removes finished automation runs that started before the
// cutoff, across every tenant (retention is an instance-wide policy). Runs
// still queued or in progress are kept whatever their age.
func (s *Store) DeleteRunsBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	const q = `DELETE FROM automation_run WHERE started_at < $1 AND status IN ('completed', 'failed')`
	res, err := s.db.ExecContext(ctx, q, cutoff)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
