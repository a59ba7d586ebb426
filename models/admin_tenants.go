package models

import (
	"context"
)

// Operator queries span tenants by design: only the /admin pages call
// them, behind the platform-operator check.

// AdminTenantFilter selects tenants on the operators' list.
type AdminTenantFilter struct {
	Search string // substring of the name or slug, case-insensitive
	Status string // "active", "inactive" or "" for both
	Limit  int
	Offset int
}

// AdminTenantRow is a tenant with the counts operators look at.
type AdminTenantRow struct {
	Tenant
	Members     int `db:"members"`
	Connections int `db:"connections"`
	Automations int `db:"automations"`
	Runs24h     int `db:"runs_24h"`
	FailedRuns  int `db:"failed_24h"`
}

const adminTenantWhere = ` WHERE ($1 = '' OR t.name ILIKE $1 ESCAPE '\' OR t.slug ILIKE $1 ESCAPE '\')
	AND ($2 = '' OR t.is_active = ($2 = 'active'))`

// ListAdminTenants returns a page of tenants by name with their counts,
// and how many match.
func (s *Store) ListAdminTenants(ctx context.Context, f AdminTenantFilter) ([]AdminTenantRow, int, error) {
	pattern := likePattern(f.Search)
	var total int
	if err := s.db.GetContext(ctx, &total, `SELECT count(*) FROM tenant t`+adminTenantWhere, pattern, f.Status); err != nil {
		return nil, 0, err
	}
	out := []AdminTenantRow{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+prefixColumns(tenantColumns, "t.")+`,
			(SELECT count(*) FROM app_user u WHERE u.tenant_id = t.id AND u.is_active) AS members,
			(SELECT count(*) FROM ad_token c WHERE c.tenant_id = t.id) AS connections,
			(SELECT count(*) FROM automation a WHERE a.tenant_id = t.id) AS automations,
			(SELECT count(*) FROM automation_run r WHERE r.tenant_id = t.id AND r.started_at > now() - interval '24 hours') AS runs_24h,
			(SELECT count(*) FROM automation_run r WHERE r.tenant_id = t.id AND r.status = 'failed'
				AND r.started_at > now() - interval '24 hours') AS failed_24h
		FROM tenant t`+adminTenantWhere+` ORDER BY lower(t.name), t.id LIMIT $3 OFFSET $4`,
		pattern, f.Status, pageLimit(f.Limit), max(f.Offset, 0))
	return out, total, err
}

// SetTenantActive deactivates or reactivates a tenant, audited in the same
// transaction. A deactivated tenant's members cannot sign in (log-in and
// every request check tenant.is_active) and its automations do not run.
// Setting the state it already has changes nothing and is not audited.
func (s *Store) SetTenantActive(ctx context.Context, actor User, tenantID string, active bool, ip string) (Tenant, error) {
	if !validUUID(tenantID) {
		return Tenant{}, ErrNotFound
	}
	var t Tenant
	err := s.withTx(ctx, func(tx *sqlxTx) error {
		if err := tx.GetContext(ctx, &t, `SELECT `+tenantColumns+` FROM tenant WHERE id = $1 FOR UPDATE`, tenantID); err != nil {
			return normalize(err)
		}
		if t.IsActive == active {
			return nil
		}
		before := t.IsActive
		if err := tx.GetContext(ctx, &t, `UPDATE tenant SET is_active = $2 WHERE id = $1 RETURNING `+tenantColumns, tenantID, active); err != nil {
			return err
		}
		action := "tenant.deactivate"
		if active {
			action = "tenant.activate"
		}
		return recordAudit(ctx, tx, AuditEntry{TenantID: tenantID, ActorID: actor.ID, ActorLabel: operatorLabel(actor),
			Action: action, TargetType: "tenant", TargetID: tenantID, IP: ip,
			Before: map[string]any{"is_active": before}, After: map[string]any{"is_active": active}})
	})
	return t, err
}

// AdminRunRow is a run with its automation's and tenant's names.
type AdminRunRow struct {
	Run
	AutomationName string `db:"automation_name"`
	AutomationType string `db:"automation_type"`
	TenantName     string `db:"tenant_name"`
	TenantSlug     string `db:"tenant_slug"`
	Error          string `db:"error_message"`
}

const adminRunSelect = `SELECT ` + `r.id, r.tenant_id, r.automation_id, r.status, r.trigger, r.scheduled_for, r.started_at,
	r.completed_at, r.lease_until, r.attempt, r.event_id, a.name AS automation_name, a.type AS automation_type,
	t.name AS tenant_name, t.slug AS tenant_slug, COALESCE(r.error_message, '') AS error_message
	FROM automation_run r JOIN automation a ON a.tenant_id = r.tenant_id AND a.id = r.automation_id
	JOIN tenant t ON t.id = r.tenant_id`

// TenantRecentRuns returns a tenant's latest runs with their automations' names.
func (s *Store) TenantRecentRuns(ctx context.Context, tenantID string, limit int) ([]AdminRunRow, error) {
	out := []AdminRunRow{}
	err := s.db.SelectContext(ctx, &out, adminRunSelect+` WHERE r.tenant_id = $1 ORDER BY r.started_at DESC, r.id LIMIT $2`,
		tenantID, pageLimit(limit))
	return out, err
}

// operatorLabel names an operator in audit entries, so a tenant reading
// its own log sees that the platform's operator acted.
func operatorLabel(u User) string { return u.DisplayName() + " (platform operator)" }

// likePattern makes a case-insensitive substring pattern of user input ("" stays "").
func likePattern(search string) string {
	if search == "" {
		return ""
	}
	return "%" + likeEscaper.Replace(search) + "%"
}

// pageLimit bounds a page's size: 50 unless 1–200.
func pageLimit(n int) int {
	if n <= 0 || n > 200 {
		return 50
	}
	return n
}
