package models

import "context"

// ChangePassword stores a new password hash and bumps the auth epoch, which
// ends every session and bearer token issued before. It returns the updated
// user so the caller can keep its own session alive.
func (s *Store) ChangePassword(ctx context.Context, u User, newHash, ip string) (User, error) {
	var out User
	err := s.withTx(ctx, func(tx *sqlxTx) error {
		err := tx.GetContext(ctx, &out, `UPDATE app_user SET password_hash = $3, auth_epoch = auth_epoch + 1
			WHERE tenant_id = $1 AND id = $2 RETURNING `+userColumns, u.TenantID, u.ID, newHash)
		if err != nil {
			return normalize(err)
		}
		return recordAudit(ctx, tx, AuditEntry{TenantID: u.TenantID, ActorID: u.ID, ActorLabel: u.DisplayName(),
			Action: "auth.password_change", TargetType: "user", TargetID: u.ID, IP: ip})
	})
	return out, err
}

// ResendVerification replaces the user's pending verification links with a
// new one and queues its email.
func (s *Store) ResendVerification(ctx context.Context, u User, tokenHash []byte, mail Email) error {
	return s.withTx(ctx, func(tx *sqlxTx) error {
		return replaceToken(ctx, tx, u, PurposeVerifyEmail, tokenHash, VerifyEmailTTL, mail)
	})
}
