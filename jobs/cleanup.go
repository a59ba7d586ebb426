package jobs

import (
	"context"
	"time"
)

// cleanup prunes data past its retention: automation runs older than
// RUN_RETENTION, rate-limit counters older than a day, connections invalid
// or expired for 30 days (audited), unfinished OAuth picks, and webhook
// events older than WEBHOOK_EVENT_RETENTION.
func (s *Scheduler) cleanup(ctx context.Context) error {
	started := s.clock.Now()
	cutoff := started.Add(-s.cfg.RunRetention.Duration())
	n, err := s.store.DeleteRunsBefore(ctx, cutoff)
	if err != nil {
		s.logger.Error("cleanup: deleting old runs", "err", err)
		return err
	}
	limits, err := s.store.DeleteRateLimitsBefore(ctx, started.Add(-24*time.Hour))
	if err != nil {
		s.logger.Error("cleanup: deleting old rate-limit counters", "err", err)
		return err
	}
	dead, err := s.conns.Cleanup(ctx, started)
	if err != nil {
		s.logger.Error("cleanup: deleting dead connections", "err", err)
		return err
	}
	events, err := s.store.DeleteWebhookEventsBefore(ctx, started.Add(-s.cfg.WebhookEventRetention.Duration()))
	if err != nil {
		s.logger.Error("cleanup: deleting old webhook events", "err", err)
		return err
	}
	s.logger.Info("cleanup done", "runs_deleted", n, "rate_limit_windows_deleted", limits, "dead_connections_deleted", dead,
		"webhook_events_deleted", events,
		"cutoff", cutoff.Format(time.RFC3339), "took", s.clock.Since(started))
	return nil
}
