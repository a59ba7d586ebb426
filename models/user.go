package models

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"
)

// Roles, from most to least powerful.
const (
	RoleAdmin  = "admin"
	RoleUser   = "user"
	RoleViewer = "viewer"
)

// RoleRank orders roles so a check can ask for "at least user".
func RoleRank(role string) int {
	switch role {
	case RoleAdmin:
		return 3
	case RoleUser:
		return 2
	case RoleViewer:
		return 1
	}
	return 0
}

// User is a member of one tenant.
type User struct {
	ID              string          `db:"id"`
	TenantID        string          `db:"tenant_id"`
	TelegramUserID  sql.NullInt64   `db:"telegram_user_id"`
	Email           sql.NullString  `db:"email"`
	Username        sql.NullString  `db:"username"`
	PasswordHash    sql.NullString  `db:"password_hash"`
	EmailVerified   bool            `db:"email_verified"`
	Role            string          `db:"role"`
	IsActive        bool            `db:"is_active"`
	IsPlatformAdmin bool            `db:"is_platform_admin"`
	AuthEpoch       int             `db:"auth_epoch"`
	InvitedAt       sql.NullTime    `db:"invited_at"`
	LastLogin       sql.NullTime    `db:"last_login"`
	ProfileData     json.RawMessage `db:"profile_data"`
	CreatedAt       time.Time       `db:"created_at"`
	UpdatedAt       time.Time       `db:"updated_at"`
}

// DisplayName is the username, else the email.
func (u User) DisplayName() string {
	if u.Username.Valid && u.Username.String != "" {
		return u.Username.String
	}
	return u.Email.String
}

const userColumns = `id, tenant_id, telegram_user_id, email, username, password_hash, email_verified, role,
	is_active, is_platform_admin, auth_epoch, invited_at, last_login, profile_data, created_at, updated_at`

// GetUser returns a user of the tenant.
func (s *Store) GetUser(ctx context.Context, tenantID, id string) (User, error) {
	if !validUUID(tenantID) || !validUUID(id) {
		return User{}, ErrNotFound
	}
	var u User
	err := s.db.GetContext(ctx, &u, `SELECT `+userColumns+` FROM app_user WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	return u, normalize(err)
}

// LoginCandidate is a user who may sign in with a given email or username,
// with the tenant it belongs to.
type LoginCandidate struct {
	User   User
	Tenant Tenant
}

// FindLoginCandidates returns the active, joined users of active tenants whose
// email or username is login (case-insensitive). The same email may belong to
// users of several tenants: the caller then lets the person pick. This is the
// one user lookup that spans tenants, by design: log-in precedes any tenant.
func (s *Store) FindLoginCandidates(ctx context.Context, login string) ([]LoginCandidate, error) {
	q := `SELECT ` + prefixColumns(userColumns, "u.") + `, t.id, t.name, t.slug
		FROM app_user u JOIN tenant t ON t.id = u.tenant_id
		WHERE (u.email = lower($1) OR lower(u.username) = lower($1))
		  AND u.is_active AND t.is_active AND u.password_hash IS NOT NULL
		ORDER BY t.name`
	rows, err := s.db.QueryxContext(ctx, q, login)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []LoginCandidate
	for rows.Next() {
		var c LoginCandidate
		if err := rows.Scan(&c.User.ID, &c.User.TenantID, &c.User.TelegramUserID, &c.User.Email, &c.User.Username,
			&c.User.PasswordHash, &c.User.EmailVerified, &c.User.Role, &c.User.IsActive, &c.User.IsPlatformAdmin,
			&c.User.AuthEpoch, &c.User.InvitedAt, &c.User.LastLogin, &c.User.ProfileData, &c.User.CreatedAt,
			&c.User.UpdatedAt, &c.Tenant.ID, &c.Tenant.Name, &c.Tenant.Slug); err != nil {
			return nil, err
		}
		c.Tenant.IsActive = true
		out = append(out, c)
	}
	return out, rows.Err()
}

// RecordLogin stamps last_login and writes the audit entry.
func (s *Store) RecordLogin(ctx context.Context, u User, ip string) error {
	return s.withTx(ctx, func(tx *sqlxTx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE app_user SET last_login = now() WHERE tenant_id = $1 AND id = $2`, u.TenantID, u.ID); err != nil {
			return err
		}
		return recordAudit(ctx, tx, AuditEntry{TenantID: u.TenantID, ActorID: u.ID, ActorLabel: u.DisplayName(),
			Action: "auth.login", TargetType: "user", TargetID: u.ID, IP: ip})
	})
}

// ListMembers returns the tenant's users, admins first.
func (s *Store) ListMembers(ctx context.Context, tenantID string) ([]User, error) {
	out := []User{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+userColumns+` FROM app_user WHERE tenant_id = $1
		ORDER BY CASE role WHEN 'admin' THEN 0 WHEN 'user' THEN 1 ELSE 2 END, lower(coalesce(email, username)), id`, tenantID)
	return out, err
}

// GetUserWithTenant loads a user and its tenant in one query: this runs on
// every signed-in request.
func (s *Store) GetUserWithTenant(ctx context.Context, tenantID, userID string) (User, Tenant, error) {
	if !validUUID(tenantID) || !validUUID(userID) {
		return User{}, Tenant{}, ErrNotFound
	}
	var row struct {
		User
		Tenant `db:"t"`
	}
	q := `SELECT ` + prefixColumns(userColumns, "u.") + `, ` + aliasColumns(tenantColumns, "t.", "t.") + `
		FROM app_user u JOIN tenant t ON t.id = u.tenant_id WHERE u.tenant_id = $1 AND u.id = $2`
	err := s.db.GetContext(ctx, &row, q, tenantID, userID)
	return row.User, row.Tenant, normalize(err)
}
