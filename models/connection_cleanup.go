package models

import (
	"context"
	"fmt"
	"strings"
	"time"

	"adpilot/vault"
)

// DeleteDeadConnections removes connections that have been invalid, or
// expired, since before cutoff, auditing each deletion in its tenant's log.
func (s *Store) DeleteDeadConnections(ctx context.Context, cutoff time.Time) (int, error) {
	var n int
	err := s.withTx(ctx, func(tx *sqlxTx) error {
		var gone []Connection
		if err := tx.SelectContext(ctx, &gone, `DELETE FROM ad_token
			WHERE (NOT is_valid AND invalidated_at < $1) OR expires_at < $1
			RETURNING `+connectionColumns, cutoff); err != nil {
			return err
		}
		n = len(gone)
		for _, c := range gone {
			if err := recordAudit(ctx, tx, AuditEntry{
				TenantID: c.TenantID, ActorLabel: "system", Action: "connection.cleanup",
				TargetType: "connection", TargetID: c.ID,
				Before: map[string]any{"platform": c.Platform, "account_ref": c.AccountRef, "account_name": c.AccountName,
					"invalid_reason": c.InvalidReason, "expires_at": c.ExpiresAt},
			}); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

// DeletePlatformUserConnections removes, in every tenant, the connections a
// platform user granted (Facebook's deauthorize and data-deletion
// callbacks), auditing each. It returns how many rows went.
func (s *Store) DeletePlatformUserConnections(ctx context.Context, platform, platformUserID, reason string) (int, error) {
	var n int
	err := s.withTx(ctx, func(tx *sqlxTx) error {
		var err error
		n, err = deletePlatformUser(ctx, tx, platform, platformUserID, reason)
		return err
	})
	return n, err
}

func deletePlatformUser(ctx context.Context, tx *sqlxTx, platform, platformUserID, reason string) (int, error) {
	if platformUserID == "" {
		return 0, nil
	}
	var gone []Connection
	if err := tx.SelectContext(ctx, &gone, `DELETE FROM ad_token WHERE platform = $1 AND platform_user_id = $2
		RETURNING `+connectionColumns, platform, platformUserID); err != nil {
		return 0, err
	}
	for _, c := range gone {
		if err := recordAudit(ctx, tx, AuditEntry{
			TenantID: c.TenantID, ActorLabel: platform, Action: "connection." + reason,
			TargetType: "connection", TargetID: c.ID,
			Before: map[string]string{"platform": c.Platform, "account_ref": c.AccountRef, "account_name": c.AccountName},
		}); err != nil {
			return 0, err
		}
	}
	return len(gone), nil
}

// DataDeletion is a Facebook data-deletion request and its outcome; its
// status page is public under the confirmation code.
type DataDeletion struct {
	ConfirmationCode string     `db:"confirmation_code"`
	Platform         string     `db:"platform"`
	DeletedCount     int        `db:"deleted_count"`
	Status           string     `db:"status"`
	CreatedAt        time.Time  `db:"created_at"`
	CompletedAt      *time.Time `db:"completed_at"`
}

// RecordDataDeletion deletes the user's connections in every tenant and
// records the request under code, in one transaction.
func (s *Store) RecordDataDeletion(ctx context.Context, platform, platformUserID, code string) (DataDeletion, error) {
	var d DataDeletion
	err := s.withTx(ctx, func(tx *sqlxTx) error {
		n, err := deletePlatformUser(ctx, tx, platform, platformUserID, "data_deletion")
		if err != nil {
			return err
		}
		return tx.GetContext(ctx, &d, `INSERT INTO data_deletion_request
				(confirmation_code, platform, platform_user_id, deleted_count, status, completed_at)
			VALUES ($1, $2, $3, $4, 'completed', now())
			RETURNING confirmation_code, platform, deleted_count, status, created_at, completed_at`,
			code, platform, platformUserID, n)
	})
	return d, err
}

// GetDataDeletion returns the request with this confirmation code.
func (s *Store) GetDataDeletion(ctx context.Context, code string) (DataDeletion, error) {
	var d DataDeletion
	err := s.db.GetContext(ctx, &d, `SELECT confirmation_code, platform, deleted_count, status, created_at, completed_at
		FROM data_deletion_request WHERE confirmation_code = $1`, code)
	return d, normalize(err)
}

// RotateVault re-encrypts every stored token and pending OAuth payload under
// the vault's current key (after MASTER_SECRET_KEY changed and the old one
// moved to MASTER_SECRET_KEY_PREVIOUS). Rows already under the current key
// are skipped, so it can be run again after an interruption. It returns how
// many values were re-encrypted. A value no key opens is skipped (the rest
// still rotate) and reported in the error.
func (s *Store) RotateVault(ctx context.Context) (int, error) {
	if s.vault == nil {
		return 0, errNoVault
	}
	rotated := 0
	var unreadable []string
	columns := []struct{ table, column string }{
		{"ad_token", "access_token_enc"}, {"ad_token", "refresh_token_enc"}, {"oauth_pending", "payload_enc"},
	}
	for _, col := range columns {
		place := func(id string) []byte {
			return vault.Place(col.table, id, trimEnc(col.column))
		}
		var rows []struct {
			ID  string `db:"id"`
			Enc []byte `db:"enc"`
		}
		if err := s.db.SelectContext(ctx, &rows, `SELECT id, `+col.column+` AS enc FROM `+col.table+
			` WHERE `+col.column+` IS NOT NULL`); err != nil {
			return rotated, err
		}
		for _, r := range rows {
			if s.vault.Current(r.Enc, place(r.ID)) {
				continue
			}
			plain, err := s.vault.Open(r.Enc, place(r.ID))
			if err != nil {
				unreadable = append(unreadable, col.table+" "+r.ID+" "+trimEnc(col.column))
				continue
			}
			// Only replace the value read: a concurrent reconnect wins.
			res, err := s.db.ExecContext(ctx, `UPDATE `+col.table+` SET `+col.column+` = $2 WHERE id = $1 AND `+col.column+` = $3`,
				r.ID, s.vault.Seal(plain, place(r.ID)), r.Enc)
			if err != nil {
				return rotated, err
			}
			if n, _ := res.RowsAffected(); n == 1 {
				rotated++
			}
		}
	}
	if len(unreadable) > 0 {
		return rotated, fmt.Errorf("%d value(s) open with no configured key and were left as they are: %s",
			len(unreadable), strings.Join(unreadable, "; "))
	}
	return rotated, nil
}

// trimEnc maps a column to its place name: access_token_enc → access_token.
func trimEnc(column string) string { return column[:len(column)-len("_enc")] }
