package models

import (
	"context"
	"time"
)

// One-time token purposes.
const (
	PurposeVerifyEmail   = "verify_email"
	PurposeResetPassword = "reset_password"
	PurposeInvitation    = "invitation"
)

// createToken stores the hash of a one-time token for u.
func createToken(ctx context.Context, q querier, u User, purpose string, hash []byte, ttl time.Duration) error {
	_, err := q.ExecContext(ctx, `INSERT INTO user_token (tenant_id, user_id, purpose, token_hash, expires_at)
		VALUES ($1, $2, $3, $4, now() + $5 * interval '1 second')`, u.TenantID, u.ID, purpose, hash, int64(ttl.Seconds()))
	return err
}

// consumeToken marks an unused, unexpired token as used and returns its user,
// locked for the rest of the transaction. ErrNotFound covers unknown, used
// and expired tokens alike, so a caller cannot tell them apart.
func consumeToken(ctx context.Context, tx *sqlxTx, purpose string, hash []byte) (User, error) {
	var ids struct {
		TenantID string `db:"tenant_id"`
		UserID   string `db:"user_id"`
	}
	err := tx.GetContext(ctx, &ids, `UPDATE user_token SET used_at = now()
		WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()
		RETURNING tenant_id, user_id`, hash, purpose)
	if err != nil {
		return User{}, normalize(err)
	}
	var u User
	err = tx.GetContext(ctx, &u, `SELECT `+userColumns+` FROM app_user WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, ids.TenantID, ids.UserID)
	return u, normalize(err)
}

// VerifyEmail consumes a verification token and marks the email verified.
func (s *Store) VerifyEmail(ctx context.Context, hash []byte) (User, error) {
	var u User
	err := s.withTx(ctx, func(tx *sqlxTx) error {
		var err error
		if u, err = consumeToken(ctx, tx, PurposeVerifyEmail, hash); err != nil {
			return err
		}
		u.EmailVerified = true
		_, err = tx.ExecContext(ctx, `UPDATE app_user SET email_verified = true WHERE tenant_id = $1 AND id = $2`, u.TenantID, u.ID)
		return err
	})
	return u, err
}
