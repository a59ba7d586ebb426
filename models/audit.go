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
	ID         string          `db:"id"`
	TenantID   *string         `db:"tenant_id"`
	ActorID    *string         `db:"actor_id"`
	ActorLabel string          `db:"actor_label"`
	Action     string          `db:"action"`
	TargetType string          `db:"target_type"`
	TargetID   string          `db:"target_id"`
	IP         string          `db:"ip"`
	Before     json.RawMessage `db:"before"`
	After      json.RawMessage `db:"after"`
	CreatedAt  time.Time       `db:"created_at"`
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
