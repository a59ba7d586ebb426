package models

import (
	"context"
	"errors"
	"time"
)

// InvitationTTL is how long an invitation link stays valid.
const InvitationTTL = 7 * 24 * time.Hour

// ErrLastAdmin refuses a change that would leave a tenant with no active admin.
var ErrLastAdmin = errors.New("a team needs at least one active admin")

// InviteMember adds email to the actor's tenant with role, not yet joined,
// and queues the invitation. Inviting someone invited before (but not
// joined) sends a fresh link; a joined member gives ErrConflict.
func (s *Store) InviteMember(ctx context.Context, actor User, email, role string, tokenHash []byte, mail Email, ip string) (User, error) {
	var u User
	err := s.withTx(ctx, func(tx *sqlxTx) error {
		err := tx.GetContext(ctx, &u, `INSERT INTO app_user (tenant_id, email, role, invited_at) VALUES ($1, $2, $3, now())
			ON CONFLICT (tenant_id, email) DO UPDATE SET role = EXCLUDED.role, invited_at = now()
				WHERE app_user.password_hash IS NULL
			RETURNING `+userColumns, actor.TenantID, email, role)
		if err != nil {
			return normalize(err) // no row: the conflict's WHERE refused a joined member
		}
		if err := replaceToken(ctx, tx, u, PurposeInvitation, tokenHash, InvitationTTL, mail); err != nil {
			return err
		}
		return recordAudit(ctx, tx, AuditEntry{TenantID: actor.TenantID, ActorID: actor.ID, ActorLabel: actor.DisplayName(),
			Action: "member.invite", TargetType: "user", TargetID: u.ID, IP: ip, After: map[string]string{"email": email, "role": role}})
	})
	if errors.Is(err, ErrNotFound) {
		return u, ErrConflict
	}
	return u, err
}

// AcceptInvitation consumes an invitation and sets the member's password
// (and username, if given): they have joined, and their email is verified.
func (s *Store) AcceptInvitation(ctx context.Context, tokenHash []byte, username, passwordHash, ip string) (User, error) {
	var u User
	err := s.withTx(ctx, func(tx *sqlxTx) error {
		var err error
		if u, err = consumeToken(ctx, tx, PurposeInvitation, tokenHash); err != nil {
			return err
		}
		if !u.IsActive {
			return ErrNotFound // deactivated after being invited
		}
		if err = tx.GetContext(ctx, &u, `UPDATE app_user SET password_hash = $3, username = COALESCE(NULLIF($4, ''), username),
				email_verified = true
			WHERE tenant_id = $1 AND id = $2 RETURNING `+userColumns, u.TenantID, u.ID, passwordHash, username); err != nil {
			return normalize(err)
		}
		return recordAudit(ctx, tx, AuditEntry{TenantID: u.TenantID, ActorID: u.ID, ActorLabel: u.DisplayName(),
			Action: "member.join", TargetType: "user", TargetID: u.ID, IP: ip})
	})
	return u, err
}

// ChangeRole sets a member's role; the tenant keeps at least one active admin.
func (s *Store) ChangeRole(ctx context.Context, actor User, userID, role, ip string) error {
	return s.changeMember(ctx, actor, userID, ip, "member.role_change", func(tx *sqlxTx, before User) (map[string]any, map[string]any, error) {
		if before.Role == RoleAdmin && role != RoleAdmin {
			if err := ensureAnotherAdmin(ctx, tx, before); err != nil {
				return nil, nil, err
			}
		}
		_, err := tx.ExecContext(ctx, `UPDATE app_user SET role = $3 WHERE tenant_id = $1 AND id = $2`, before.TenantID, before.ID, role)
		return map[string]any{"role": before.Role}, map[string]any{"role": role}, err
	})
}

// SetMemberActive deactivates or reactivates a member; the tenant keeps at
// least one active admin. A deactivated member cannot sign in.
func (s *Store) SetMemberActive(ctx context.Context, actor User, userID string, active bool, ip string) error {
	action := "member.deactivate"
	if active {
		action = "member.activate"
	}
	return s.changeMember(ctx, actor, userID, ip, action, func(tx *sqlxTx, before User) (map[string]any, map[string]any, error) {
		if !active && before.Role == RoleAdmin {
			if err := ensureAnotherAdmin(ctx, tx, before); err != nil {
				return nil, nil, err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE app_user SET is_active = $3 WHERE tenant_id = $1 AND id = $2`, before.TenantID, before.ID, active); err != nil {
			return nil, nil, err
		}
		if !active { // pending invitation, reset and verification links die with the access
			if _, err := tx.ExecContext(ctx, `UPDATE user_token SET used_at = now()
				WHERE tenant_id = $1 AND user_id = $2 AND used_at IS NULL`, before.TenantID, before.ID); err != nil {
				return nil, nil, err
			}
		}
		return map[string]any{"is_active": before.IsActive}, map[string]any{"is_active": active}, nil
	})
}

// changeMember locks the tenant's members (so two admins demoting each
// other cannot both succeed), applies change to the target and audits it.
func (s *Store) changeMember(ctx context.Context, actor User, userID, ip, action string,
	change func(tx *sqlxTx, before User) (map[string]any, map[string]any, error)) error {
	if !validUUID(userID) {
		return ErrNotFound
	}
	return s.withTx(ctx, func(tx *sqlxTx) error {
		if _, err := tx.ExecContext(ctx, `SELECT 1 FROM app_user WHERE tenant_id = $1 FOR UPDATE`, actor.TenantID); err != nil {
			return err
		}
		var before User
		if err := tx.GetContext(ctx, &before, `SELECT `+userColumns+` FROM app_user WHERE tenant_id = $1 AND id = $2`, actor.TenantID, userID); err != nil {
			return normalize(err)
		}
		old, updated, err := change(tx, before)
		if err != nil {
			return err
		}
		return recordAudit(ctx, tx, AuditEntry{TenantID: actor.TenantID, ActorID: actor.ID, ActorLabel: actor.DisplayName(),
			Action: action, TargetType: "user", TargetID: userID, IP: ip, Before: old, After: updated})
	})
}

func ensureAnotherAdmin(ctx context.Context, tx *sqlxTx, u User) error {
	var others int
	if err := tx.GetContext(ctx, &others, `SELECT count(*) FROM app_user
		WHERE tenant_id = $1 AND id <> $2 AND role = 'admin' AND is_active AND password_hash IS NOT NULL`, u.TenantID, u.ID); err != nil {
		return err
	}
	if others == 0 {
		return ErrLastAdmin
	}
	return nil
}
