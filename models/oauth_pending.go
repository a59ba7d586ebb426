package models

import (
	"context"
	"time"

	"github.com/google/uuid"

	"adpilot/vault"
)

// OAuthPendingTTL is how long a user has to pick the accounts to connect
// after an OAuth callback.
const OAuthPendingTTL = 30 * time.Minute

func pendingPlace(id string) []byte { return vault.Place("oauth_pending", id, "payload") }

// SaveOAuthPending keeps an OAuth callback's result (token and accounts,
// serialised by the caller) encrypted until the user picks accounts.
func (s *Store) SaveOAuthPending(ctx context.Context, tenantID, userID, platform string, payload []byte, now time.Time) (string, error) {
	if s.vault == nil {
		return "", errNoVault
	}
	id := uuid.NewString()
	_, err := s.db.ExecContext(ctx, `INSERT INTO oauth_pending (id, tenant_id, user_id, platform, payload_enc, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, id, tenantID, userID, platform, s.vault.Seal(payload, pendingPlace(id)), now.Add(OAuthPendingTTL))
	return id, err
}

// OAuthPending returns the platform and decrypted payload of the user's
// pending pick; another user's, or an expired one, is not found.
func (s *Store) OAuthPending(ctx context.Context, tenantID, userID, id string, now time.Time) (string, []byte, error) {
	if !validUUID(id) {
		return "", nil, ErrNotFound
	}
	var row struct {
		Platform string `db:"platform"`
		Enc      []byte `db:"payload_enc"`
	}
	err := s.db.GetContext(ctx, &row, `SELECT platform, payload_enc FROM oauth_pending
		WHERE tenant_id = $1 AND user_id = $2 AND id = $3 AND expires_at > $4`, tenantID, userID, id, now)
	if err != nil {
		return "", nil, normalize(err)
	}
	if s.vault == nil {
		return "", nil, errNoVault
	}
	payload, err := s.vault.Open(row.Enc, pendingPlace(id))
	return row.Platform, payload, err
}

// DeleteOAuthPending forgets a pending pick once used or cancelled.
func (s *Store) DeleteOAuthPending(ctx context.Context, tenantID, id string) error {
	if !validUUID(id) {
		return nil
	}
	_, err := s.db.ExecContext(ctx, `DELETE FROM oauth_pending WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	return err
}

// DeleteExpiredOAuthPending removes picks nobody finished.
func (s *Store) DeleteExpiredOAuthPending(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM oauth_pending WHERE expires_at < $1`, now)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
