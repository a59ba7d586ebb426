package models

import (
	"context"
	"encoding/json"
	"time"
)

// AuditEntry is one audited action. Before and After hold the changed values
// where there are any (never secrets).
type AuditEntry struct {
	TenantID   string // "" for instance-wide actions
	ActorID    string // "" when nobody is signed in (failed log-in, reset)
	ActorLabel string
	Action     string // e.g. auth.login, member.role_change
	TargetType string
	TargetID   string
	IP         string
	Before     any
	After      any
}

// AuditRecord is a stored audit entry.
type AuditRecord struct {
	ID         string    `db:"id"`
	TenantID   *string   `db:"tenant_id"`
	ActorID    *string   `db:"actor_id"`
	ActorLabel string    `db:"actor_label"`
	Action     string    `db:"action"`
	TargetType string    `db:"target_type"`
	TargetID   string    `db:"target_id"`
	IP         string    `db:"ip"`
	Before     string    `db:"before"` // JSON, "" when none
	After      string    `db:"after"`
	CreatedAt  time.Time `db:"created_at"`
}

// RecordAudit writes an audit entry on its own.
func (s *Store) RecordAudit(ctx context.Context, e AuditEntry) error {
	return recordAudit(ctx, s.db, e)
}

// recordAudit is the one way audit entries are written; store methods call it
// inside the transaction of the action they record.
func recordAudit(ctx context.Context, q querier, e AuditEntry) error {
	before, err := jsonOrNull(e.Before)
	if err != nil {
		return err
	}
	after, err := jsonOrNull(e.After)
	if err != nil {
		return err
	}
	const stmt = `INSERT INTO audit_log (tenant_id, actor_id, actor_label, action, target_type, target_id, ip, before, after)
		VALUES (NULLIF($1, '')::uuid, NULLIF($2, '')::uuid, $3, $4, $5, $6, $7, $8, $9)`
	_, err = q.ExecContext(ctx, stmt, e.TenantID, e.ActorID, e.ActorLabel, e.Action, e.TargetType, e.TargetID, e.IP, before, after)
	return err
}

func jsonOrNull(v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	return json.Marshal(v)
}

// AuditFilter selects a tenant's audit entries.
type AuditFilter struct {
	Action string    // exact action, "" = all
	Actor  string    // substring of the actor label, case-insensitive
	From   time.Time // zero = no lower bound
	To     time.Time // zero = no upper bound (exclusive)
	Limit  int
	Offset int
}

// ListAudit returns a page of the tenant's audit log, newest first, and the
// number of matching entries.
func (s *Store) ListAudit(ctx context.Context, tenantID string, f AuditFilter) ([]AuditRecord, int, error) {
	if !validUUID(tenantID) {
		return nil, 0, ErrNotFound
	}
	const where = ` WHERE tenant_id = $1 AND ($2 = '' OR action = $2)
		AND ($3 = '' OR actor_label ILIKE $3 ESCAPE '\')
		AND ($4::timestamptz IS NULL OR created_at >= $4) AND ($5::timestamptz IS NULL OR created_at < $5)`
	limit := f.Limit
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	actor := ""
	if f.Actor != "" {
		actor = "%" + likeEscaper.Replace(f.Actor) + "%"
	}
	from, to := nullTime(f.From), nullTime(f.To)
	var total int
	if err := s.db.GetContext(ctx, &total, `SELECT count(*) FROM audit_log`+where, tenantID, f.Action, actor, from, to); err != nil {
		return nil, 0, err
	}
	out := []AuditRecord{}
	err := s.db.SelectContext(ctx, &out, `SELECT id, tenant_id, actor_id, actor_label, action, target_type, target_id, ip,
		COALESCE(before::text, '') AS before, COALESCE(after::text, '') AS after, created_at FROM audit_log`+where+` ORDER BY created_at DESC, id DESC LIMIT $6 OFFSET $7`,
		tenantID, f.Action, actor, from, to, limit, max(f.Offset, 0))
	return out, total, err
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}
