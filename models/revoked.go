package models

import (
	"context"
	"time"
)

// RevokeToken stops a bearer token (by its jti) being accepted before it expires.
func (s *Store) RevokeToken(ctx context.Context, jti string, expires time.Time) error {
	if !validUUID(jti) {
		return ErrNotFound
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO revoked_token (jti, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`, jti, expires)
	return err
}

// IsTokenRevoked reports whether the token with jti was revoked.
func (s *Store) IsTokenRevoked(ctx context.Context, jti string) (bool, error) {
	if !validUUID(jti) {
		return true, nil
	}
	var revoked bool
	err := s.db.GetContext(ctx, &revoked, `SELECT EXISTS (SELECT 1 FROM revoked_token WHERE jti = $1)`, jti)
	return revoked, err
}
