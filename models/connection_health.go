package models

import (
	"context"
	"time"

	"github.com/lib/pq"
)

// RecordConnectionCheck notes a successful check: the token works, and the
// platform told us its expiry (zero: unknown or never, kept as it was).
func (s *Store) RecordConnectionCheck(ctx context.Context, tenantID, id string, expiresAt time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE ad_token SET last_validated = now(), last_check_error = '',
			expires_at = COALESCE($3, expires_at)
		WHERE tenant_id = $1 AND id = $2`, tenantID, id, nullTime(expiresAt))
	return err
}

// RecordConnectionCheckError notes a check that could not tell (the
// platform was down or throttled); the token keeps its validity.
func (s *Store) RecordConnectionCheckError(ctx context.Context, tenantID, id, message string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE ad_token SET last_validated = now(), last_check_error = left($3, 500)
		WHERE tenant_id = $1 AND id = $2`, tenantID, id, message)
	return err
}

// InvalidateConnection marks a connection invalid with the reason. The
// first time (per invalidation) the tenant's admins get notice(c), queued in
// the same transaction, so they are told exactly once however many runs
// meet the dead token. It reports whether this call invalidated the row.
func (s *Store) InvalidateConnection(ctx context.Context, tenantID, id, reason string, notice func(Connection) Email) (bool, error) {
	if !validUUID(id) {
		return false, ErrNotFound
	}
	var changed bool
	err := s.withTx(ctx, func(tx *sqlxTx) error {
		var c Connection
		err := tx.GetContext(ctx, &c, `UPDATE ad_token SET is_valid = false, invalid_reason = left($3, 500),
				invalidated_at = COALESCE(invalidated_at, now()), last_validated = now(),
				invalid_notified_at = COALESCE(invalid_notified_at, now())
			WHERE tenant_id = $1 AND id = $2
			RETURNING `+connectionColumns, tenantID, id, reason)
		if err != nil {
			return normalize(err)
		}
		// invalidated_at equals now() only when this statement set it.
		if err := tx.GetContext(ctx, &changed, `SELECT invalidated_at = now() FROM ad_token WHERE id = $1`, id); err != nil {
			return err
		}
		if !changed || notice == nil {
			return nil
		}
		return mailAdmins(ctx, tx, tenantID, notice(c))
	})
	return changed, err
}

// MailAdmins queues e to every active admin of the tenant with an address.
func (s *Store) MailAdmins(ctx context.Context, tenantID string, e Email) error {
	return s.withTx(ctx, func(tx *sqlxTx) error { return mailAdmins(ctx, tx, tenantID, e) })
}

// mailAdmins queues e to every active admin of the tenant with an address.
func mailAdmins(ctx context.Context, tx *sqlxTx, tenantID string, e Email) error {
	var to []string
	if err := tx.SelectContext(ctx, &to, `SELECT email FROM app_user
		WHERE tenant_id = $1 AND role = 'admin' AND is_active AND email IS NOT NULL ORDER BY email`, tenantID); err != nil {
		return err
	}
	for _, addr := range to {
		e.TenantID, e.To = tenantID, addr
		if err := enqueueEmail(ctx, tx, e); err != nil {
			return err
		}
	}
	return nil
}

// ConnectionsToCheck returns valid connections, across tenants, whose last
// check is older than checkedBefore (never checked first), for the token
// health job.
func (s *Store) ConnectionsToCheck(ctx context.Context, checkedBefore time.Time, limit int) ([]Connection, error) {
	out := []Connection{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+connectionColumns+` FROM ad_token
		WHERE is_valid AND (last_validated IS NULL OR last_validated < $1)
		ORDER BY last_validated NULLS FIRST LIMIT $2`, checkedBefore, limit)
	return out, err
}

// WarnExpiring queues notice(c) to the admins of every valid connection that
// expires between now and deadline and was not yet warned about this expiry date.
// Tokens with a refresh token are renewed instead, so never warned about.
// A reconnect (a new expiry) warns again. It returns how many were warned.
func (s *Store) WarnExpiring(ctx context.Context, now, deadline time.Time, notice func(Connection) Email) (int, error) {
	warned := 0
	for {
		var done bool
		err := s.withTx(ctx, func(tx *sqlxTx) error {
			var c Connection
			err := tx.GetContext(ctx, &c, `SELECT `+connectionColumns+` FROM ad_token
				WHERE is_valid AND expires_at < $1 AND expires_at > $2 AND refresh_token_enc IS NULL
					AND expiry_warned_for IS DISTINCT FROM expires_at
				ORDER BY expires_at LIMIT 1 FOR UPDATE SKIP LOCKED`, deadline, now)
			if err != nil {
				done = true
				return ignoreNotFound(normalize(err))
			}
			if _, err := tx.ExecContext(ctx, `UPDATE ad_token SET expiry_warned_for = expires_at WHERE id = $1`, c.ID); err != nil {
				return err
			}
			warned++
			return mailAdmins(ctx, tx, c.TenantID, notice(c))
		})
		if err != nil || done {
			return warned, err
		}
	}
}

// TokenUpdate is a refreshed token pair.
type TokenUpdate struct {
	AccessToken      string
	RefreshToken     string // "" keeps the stored refresh token
	ExpiresAt        time.Time
	RefreshExpiresAt time.Time
	Scope            string // "" keeps the stored scope
}

// RefreshOutcome is what happened to one connection in RefreshExpiring.
type RefreshOutcome struct {
	Connection Connection
	Err        error // nil: refreshed
}

// RefreshExpiring refreshes every valid connection of platform whose token
// expires before deadline. Each row is locked (FOR UPDATE SKIP LOCKED) while
// refresh runs, so across replicas a token is refreshed once, and the new
// pair is stored in one statement. Rows whose refresh fails are reported,
// not changed: the caller decides (invalidate, retry next time).
func (s *Store) RefreshExpiring(ctx context.Context, platform string, deadline time.Time, refresh RefreshFunc) ([]RefreshOutcome, error) {
	var out []RefreshOutcome
	tried := pq.StringArray{}
	for {
		o, found, err := s.refreshLocked(ctx, `platform = $1 AND is_valid AND refresh_token_enc IS NOT NULL
			AND expires_at < $2 AND NOT (id::text = ANY($3)) ORDER BY expires_at`, []any{platform, deadline, tried}, refresh)
		if err != nil || !found {
			return out, err
		}
		tried = append(tried, o.Connection.ID)
		out = append(out, o)
	}
}

// RefreshConnection refreshes one connection now (its access token was
// refused but it holds a refresh token). A row another replica is
// refreshing at this moment is not found.
func (s *Store) RefreshConnection(ctx context.Context, tenantID, id string, refresh RefreshFunc) (RefreshOutcome, error) {
	if !validUUID(id) {
		return RefreshOutcome{}, ErrNotFound
	}
	o, found, err := s.refreshLocked(ctx, `tenant_id = $1 AND id = $2 AND refresh_token_enc IS NOT NULL`, []any{tenantID, id}, refresh)
	if err == nil && !found {
		err = ErrNotFound
	}
	return o, err
}

// RefreshFunc trades a connection's credentials for fresh tokens.
type RefreshFunc func(context.Context, Connection, Credentials) (TokenUpdate, error)

// refreshLocked locks the first row matching where, runs refresh while
// holding the lock, and stores its result in the same transaction.
func (s *Store) refreshLocked(ctx context.Context, where string, args []any, refresh RefreshFunc) (RefreshOutcome, bool, error) {
	var out RefreshOutcome
	found := false
	err := s.withTx(ctx, func(tx *sqlxTx) error {
		var row struct {
			Connection
			AccessEnc  []byte `db:"access_token_enc"`
			RefreshEnc []byte `db:"refresh_token_enc"`
		}
		err := tx.GetContext(ctx, &row, `SELECT `+connectionColumns+`, access_token_enc, refresh_token_enc FROM ad_token
			WHERE `+where+` LIMIT 1 FOR UPDATE SKIP LOCKED`, args...)
		if err != nil {
			return ignoreNotFound(normalize(err))
		}
		found = true
		out.Connection = row.Connection
		creds, err := s.openCredentials(row.ID, row.AccessEnc, row.RefreshEnc)
		if err != nil {
			out.Err = err
			return nil
		}
		upd, err := refresh(ctx, row.Connection, creds)
		if err != nil {
			out.Err = err
			return nil
		}
		var rt []byte
		if upd.RefreshToken != "" {
			rt = s.vault.Seal([]byte(upd.RefreshToken), refreshPlace(row.ID))
		}
		return tx.GetContext(ctx, &out.Connection, `UPDATE ad_token SET access_token_enc = $2, token_fingerprint = $7,
				refresh_token_enc = COALESCE($3, refresh_token_enc), expires_at = $4,
				refresh_expires_at = CASE WHEN $3::bytea IS NULL THEN refresh_expires_at ELSE COALESCE($5, refresh_expires_at) END,
				scope = COALESCE(NULLIF($6, ''), scope), last_validated = now(), last_check_error = ''
			WHERE id = $1 RETURNING `+connectionColumns,
			row.ID, s.vault.Seal([]byte(upd.AccessToken), accessPlace(row.ID)), rt,
			nullTime(upd.ExpiresAt), nullTime(upd.RefreshExpiresAt), upd.Scope, fingerprint(upd.AccessToken))
	})
	return out, found, err
}

func ignoreNotFound(err error) error {
	if err == ErrNotFound {
		return nil
	}
	return err
}
