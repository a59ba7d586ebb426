package jobs

import (
	"context"
	"time"
)

// Snapshot sweep: every snapshotInterval the leader fetches the account-level
// daily rows of up to snapshotBatch connections not fetched within the hour,
// so the dashboard's chart stays current without any automation.
const (
	snapshotInterval = 10 * time.Minute
	snapshotBatch    = 50
)

func (s *Scheduler) refreshSnapshots(ctx context.Context) error {
	started := s.clock.Now()
	n, err := s.conns.RefreshDueSnapshots(ctx, started, snapshotBatch)
	if err != nil {
		s.logger.Warn("snapshot refresh: some connections failed", "err", err)
	}
	if n > 0 {
		s.logger.Info("snapshot refresh done", "connections", n, "took", time.Since(started))
	}
	return nil
}
