package models

import (
	"context"
	"time"
)

// Hit counts one request against key in the current fixed window of the
// given length. It reports whether the count is within limit and, if not,
// how long until the window ends. The counters live in PostgreSQL, so every
// replica enforces the same limit.
func (s *Store) Hit(ctx context.Context, key string, limit int, window time.Duration) (bool, time.Duration, error) {
	now := time.Now().UTC()
	start := now.Truncate(window)
	var hits int
	err := s.db.GetContext(ctx, &hits, `INSERT INTO rate_limit (key, window_start, hits) VALUES ($1, $2, 1)
		ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_limit.hits + 1 RETURNING hits`, key, start)
	if err != nil {
		return false, 0, err
	}
	if hits <= limit {
		return true, 0, nil
	}
	return false, start.Add(window).Sub(now), nil
}

// DeleteRateLimitsBefore drops counters of windows that started before cutoff.
func (s *Store) DeleteRateLimitsBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM rate_limit WHERE window_start < $1`, cutoff)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
