package jobs

import (
	"context"
	"time"
)

// tokenHealth refreshes TikTok tokens before they expire, checks the other
// tokens with their platform, and warns admins of tokens about to expire.
// It runs every TOKEN_REFRESH_INTERVAL on the leader.
func (s *Scheduler) tokenHealth(ctx context.Context) error {
	started := s.clock.Now()
	r, err := s.conns.RunHealth(ctx, started, s.cfg.TokenRefreshInterval.Duration())
	if err != nil {
		s.logger.Error("token health: some connections failed", "err", err)
	}
	s.logger.Info("token health done", "refreshed", r.Refreshed, "refresh_failed", r.RefreshFailed,
		"checked", r.Checked, "invalidated", r.Invalidated, "expiry_warnings", r.Warned,
		"took", time.Since(started))
	return err
}
