package models

import "context"

// AdminUserFilter selects users across tenants.
type AdminUserFilter struct {
	Search string // substring of the email, username, tenant name or slug
	Status string // "active", "inactive" or ""
	Limit  int
	Offset int
}

// AdminUserRow is a user with its tenant's name.
type AdminUserRow struct {
	User
	TenantName   string `db:"tenant_name"`
	TenantSlug   string `db:"tenant_slug"`
	TenantActive bool   `db:"tenant_active"`
}

const adminUserWhere = ` WHERE ($1 = '' OR u.email ILIKE $1 ESCAPE '\' OR u.username ILIKE $1 ESCAPE '\'
		OR t.name ILIKE $1 ESCAPE '\' OR t.slug ILIKE $1 ESCAPE '\')
	AND ($2 = '' OR u.is_active = ($2 = 'active'))`

// ListAdminUsers returns a page of users of every tenant, and how many match.
func (s *Store) ListAdminUsers(ctx context.Context, f AdminUserFilter) ([]AdminUserRow, int, error) {
	pattern := likePattern(f.Search)
	const from = ` FROM app_user u JOIN tenant t ON t.id = u.tenant_id`
	var total int
	if err := s.db.GetContext(ctx, &total, `SELECT count(*)`+from+adminUserWhere, pattern, f.Status); err != nil {
		return nil, 0, err
	}
	out := []AdminUserRow{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+prefixColumns(userColumns, "u.")+`, t.name AS tenant_name,
			t.slug AS tenant_slug, t.is_active AS tenant_active`+from+adminUserWhere+`
		ORDER BY lower(coalesce(u.email, u.username)), lower(t.name), u.id LIMIT $3 OFFSET $4`,
		pattern, f.Status, pageLimit(f.Limit), max(f.Offset, 0))
	return out, total, err
}

// GetAnyUser returns a user of any tenant (operators).
func (s *Store) GetAnyUser(ctx context.Context, id string) (User, error) {
	if !validUUID(id) {
		return User{}, ErrNotFound
	}
	var u User
	err := s.db.GetContext(ctx, &u, `SELECT `+userColumns+` FROM app_user WHERE id = $1`, id)
	return u, normalize(err)
}

// OperatorSetUserActive deactivates or reactivates a user of any tenant,
// audited. Deactivation ends every session and token of the user (the auth
// epoch moves on, and signed-in requests check is_active) and voids their
// pending links. Unlike a tenant admin, an operator may deactivate a
// tenant's last admin (an abusive account); an operator cannot deactivate
// themselves.
func (s *Store) OperatorSetUserActive(ctx context.Context, actor User, userID string, active bool, ip string) (User, error) {
	if !validUUID(userID) {
		return User{}, ErrNotFound
	}
	if userID == actor.ID && !active {
		return User{}, ErrConflict
	}
	var u User
	err := s.withTx(ctx, func(tx *sqlxTx) error {
		var before User
		if err := tx.GetContext(ctx, &before, `SELECT `+userColumns+` FROM app_user WHERE id = $1 FOR UPDATE`, userID); err != nil {
			return normalize(err)
		}
		u = before
		if before.IsActive == active {
			return nil
		}
		epoch := ``
		if !active {
			epoch = `, auth_epoch = auth_epoch + 1`
		}
		if err := tx.GetContext(ctx, &u, `UPDATE app_user SET is_active = $3`+epoch+`
			WHERE tenant_id = $1 AND id = $2 RETURNING `+userColumns, before.TenantID, before.ID, active); err != nil {
			return err
		}
		if !active {
			if _, err := tx.ExecContext(ctx, `UPDATE user_token SET used_at = now()
				WHERE tenant_id = $1 AND user_id = $2 AND used_at IS NULL`, before.TenantID, before.ID); err != nil {
				return err
			}
		}
		action := "user.deactivate"
		if active {
			action = "user.activate"
		}
		return recordAudit(ctx, tx, AuditEntry{TenantID: before.TenantID, ActorID: actor.ID, ActorLabel: operatorLabel(actor),
			Action: action, TargetType: "user", TargetID: before.ID, IP: ip,
			Before: map[string]any{"is_active": before.IsActive}, After: map[string]any{"is_active": active}})
	})
	return u, err
}

// OperatorPasswordReset queues a password-reset link for a user of any
// tenant, as /auth/forgot would, and audits that an operator sent it.
// Users without an address, not yet joined, or deactivated get ErrConflict.
func (s *Store) OperatorPasswordReset(ctx context.Context, actor User, u User, tokenHash []byte, mail Email, ip string) error {
	if !u.Email.Valid || u.Email.String == "" || !u.PasswordHash.Valid || !u.IsActive {
		return ErrConflict
	}
	return s.withTx(ctx, func(tx *sqlxTx) error {
		if err := replaceToken(ctx, tx, u, PurposeResetPassword, tokenHash, ResetPasswordTTL, mail); err != nil {
			return err
		}
		return recordAudit(ctx, tx, AuditEntry{TenantID: u.TenantID, ActorID: actor.ID, ActorLabel: operatorLabel(actor),
			Action: "user.password_reset_sent", TargetType: "user", TargetID: u.ID, IP: ip,
			After: map[string]string{"email": u.Email.String}})
	})
}
