package models

import "context"

// AdminAuditFilter selects audit entries across tenants.
type AdminAuditFilter struct {
	AuditFilter
	TenantID string // "" = every tenant (and instance-wide entries)
}

// AdminAuditRecord is an audit entry with its tenant's name ("" for
// instance-wide entries).
type AdminAuditRecord struct {
	AuditRecord
	TenantName string `db:"tenant_name"`
}

const adminAuditWhere = ` WHERE ($1 = '' OR l.tenant_id = NULLIF($1, '')::uuid) AND ($2 = '' OR l.action = $2)
	AND ($3 = '' OR l.actor_label ILIKE $3 ESCAPE '\')
	AND ($4::timestamptz IS NULL OR l.created_at >= $4) AND ($5::timestamptz IS NULL OR l.created_at < $5)`

const adminAuditSelect = `SELECT l.id, l.tenant_id, l.actor_id, l.actor_label, l.action, l.target_type, l.target_id, l.ip,
	COALESCE(l.before::text, '') AS before, COALESCE(l.after::text, '') AS after, l.created_at,
	COALESCE(t.name, '') AS tenant_name
	FROM audit_log l LEFT JOIN tenant t ON t.id = l.tenant_id`

// ListAllAudit returns a page of the audit log across tenants, newest
// first, and how many entries match. A limit above 200 is honoured up to
// MaxAuditExport (the CSV export).
func (s *Store) ListAllAudit(ctx context.Context, f AdminAuditFilter) ([]AdminAuditRecord, int, error) {
	if f.TenantID != "" && !validUUID(f.TenantID) {
		return []AdminAuditRecord{}, 0, nil
	}
	args := []any{f.TenantID, f.Action, likePattern(f.Actor), nullTime(f.From), nullTime(f.To)}
	var total int
	if err := s.db.GetContext(ctx, &total, `SELECT count(*) FROM audit_log l`+adminAuditWhere, args...); err != nil {
		return nil, 0, err
	}
	limit := f.Limit
	if limit <= 0 || limit > MaxAuditExport {
		limit = 50
	}
	out := []AdminAuditRecord{}
	err := s.db.SelectContext(ctx, &out, adminAuditSelect+adminAuditWhere+` ORDER BY l.created_at DESC, l.id DESC LIMIT $6 OFFSET $7`,
		append(args, limit, max(f.Offset, 0))...)
	return out, total, err
}

// MaxAuditExport bounds one CSV export of the audit log.
const MaxAuditExport = 100_000

// AuditActions returns the distinct actions recorded so far, for filters.
func (s *Store) AuditActions(ctx context.Context) ([]string, error) {
	out := []string{}
	err := s.db.SelectContext(ctx, &out, `SELECT DISTINCT action FROM audit_log ORDER BY action`)
	return out, err
}
