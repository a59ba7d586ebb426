package jobs

import (
	"context"
	"time"
)

// cleanup prunes data past its retention: automation runs older than
// RUN_RETENTION. Later housekeeping joins it here.
func (s *Scheduler) cleanup(ctx context.Context) error {
	started := s.clock.Now()
	cutoff := started.Add(-s.cfg.RunRetention.Duration())
	n, err := s.store.DeleteRunsBefore(ctx, cutoff)
	if err != nil {
		s.logger.Error("cleanup: deleting old runs", "err", err)
		return err
	}
	s.logger.Info("cleanup done", "runs_deleted", n, "cutoff", cutoff.Format(time.RFC3339),
		"took", s.clock.Since(started))
	return nil
}
