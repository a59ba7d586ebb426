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

// replaceToken voids u's pending links of purpose, stores the hash of the new
// one and queues the email carrying it, inside the caller's transaction.
func replaceToken(ctx context.Context, tx *sqlxTx, u User, purpose string, hash []byte, ttl time.Duration, mail Email) error {
	if _, err := tx.ExecContext(ctx, `UPDATE user_token SET used_at = now()
		WHERE tenant_id = $1 AND user_id = $2 AND purpose = $3 AND used_at IS NULL`, u.TenantID, u.ID, purpose); err != nil {
		return err
	}
	if err := createToken(ctx, tx, u, purpose, hash, ttl); err != nil {
		return err
	}
	mail.TenantID, mail.To = u.TenantID, u.Email.String
	return enqueueEmail(ctx, tx, mail)
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

// ResetPasswordTTL is how long a password-reset link stays valid.
const ResetPasswordTTL = time.Hour

// PeekToken returns the user of a valid, unused token without consuming it
// (to show the form the link leads to).
func (s *Store) PeekToken(ctx context.Context, purpose string, hash []byte) (User, error) {
	var u User
	err := s.db.GetContext(ctx, &u, `SELECT `+prefixColumns(userColumns, "u.")+` FROM user_token t
		JOIN app_user u ON u.tenant_id = t.tenant_id AND u.id = t.user_id
		WHERE t.token_hash = $1 AND t.purpose = $2 AND t.used_at IS NULL AND t.expires_at > now()`, hash, purpose)
	return u, normalize(err)
}

// RequestPasswordReset replaces the user's pending reset links with a new
// one and queues its email, in one transaction.
func (s *Store) RequestPasswordReset(ctx context.Context, u User, tokenHash []byte, mail Email, ip string) error {
	return s.withTx(ctx, func(tx *sqlxTx) error {
		if err := replaceToken(ctx, tx, u, PurposeResetPassword, tokenHash, ResetPasswordTTL, mail); err != nil {
			return err
		}
		return recordAudit(ctx, tx, AuditEntry{TenantID: u.TenantID, ActorLabel: u.Email.String,
			Action: "auth.password_reset_requested", TargetType: "user", TargetID: u.ID, IP: ip})
	})
}

// ResetPassword consumes a reset token and sets the new password. The auth
// epoch moves on, ending every session and token; the email counts as
// verified, since the link reached its inbox.
func (s *Store) ResetPassword(ctx context.Context, tokenHash []byte, newHash, ip string) (User, error) {
	var u User
	err := s.withTx(ctx, func(tx *sqlxTx) error {
		var err error
		if u, err = consumeToken(ctx, tx, PurposeResetPassword, tokenHash); err != nil {
			return err
		}
		if err = tx.GetContext(ctx, &u, `UPDATE app_user SET password_hash = $3, auth_epoch = auth_epoch + 1, email_verified = true
			WHERE tenant_id = $1 AND id = $2 RETURNING `+userColumns, u.TenantID, u.ID, newHash); err != nil {
			return err
		}
		return recordAudit(ctx, tx, AuditEntry{TenantID: u.TenantID, ActorID: u.ID, ActorLabel: u.DisplayName(),
			Action: "auth.password_reset", TargetType: "user", TargetID: u.ID, IP: ip})
	})
	return u, err
}
