package models

import (
	"context"
	"strconv"
)

// AdminConnectionFilter selects connections across tenants.
type AdminConnectionFilter struct {
	Search   string // substring of the account name or ref, or the tenant's name
	Status   string // valid, expiring, expired, invalid or ""
	Platform string // "" = all
	TenantID string // "" = all
	Limit    int
	Offset   int
}

// AdminConnectionRow is a connection with its tenant.
type AdminConnectionRow struct {
	Connection
	TenantName string `db:"tenant_name"`
	TenantSlug string `db:"tenant_slug"`
	Health     string `db:"health"`
}

// connectionHealthSQL is Connection.Status in SQL (for filtering and
// ordering): the refresh token's expiry when there is one, else the
// access token's.
var connectionHealthSQL = `CASE
	WHEN NOT c.is_valid THEN 'invalid'
	WHEN COALESCE(CASE WHEN c.refresh_token_enc IS NOT NULL THEN c.refresh_expires_at ELSE c.expires_at END, 'infinity') <= now() THEN 'expired'
	WHEN COALESCE(CASE WHEN c.refresh_token_enc IS NOT NULL THEN c.refresh_expires_at ELSE c.expires_at END, 'infinity')
		< now() + interval '` + strconv.Itoa(int(ExpiryWarning.Seconds())) + ` seconds' THEN 'expiring'
	ELSE 'valid' END`

// ListAdminConnections returns a page of connections of every tenant, the
// unhealthy first (invalid, expired, expiring, then valid; soonest expiry
// first), and how many match.
func (s *Store) ListAdminConnections(ctx context.Context, f AdminConnectionFilter) ([]AdminConnectionRow, int, error) {
	if f.TenantID != "" && !validUUID(f.TenantID) {
		return []AdminConnectionRow{}, 0, nil
	}
	inner := `SELECT ` + prefixColumns(connectionColumnsNoRefresh, "c.") + `, c.refresh_token_enc IS NOT NULL AS has_refresh,
			t.name AS tenant_name, t.slug AS tenant_slug, ` + connectionHealthSQL + ` AS health,
			COALESCE(CASE WHEN c.refresh_token_enc IS NOT NULL THEN c.refresh_expires_at ELSE c.expires_at END, 'infinity') AS expiry
		FROM ad_token c JOIN tenant t ON t.id = c.tenant_id
		WHERE ($1 = '' OR c.account_name ILIKE $1 ESCAPE '\' OR c.account_ref ILIKE $1 ESCAPE '\' OR t.name ILIKE $1 ESCAPE '\')
		  AND ($2 = '' OR c.platform = $2) AND ($3 = '' OR c.tenant_id = NULLIF($3, '')::uuid)`
	where := ` WHERE ($4 = '' OR x.health = $4)`
	pattern := likePattern(f.Search)
	var total int
	if err := s.db.GetContext(ctx, &total, `SELECT count(*) FROM (`+inner+`) x`+where, pattern, f.Platform, f.TenantID, f.Status); err != nil {
		return nil, 0, err
	}
	out := []AdminConnectionRow{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+connectionColumnsNoRefresh+`, has_refresh, tenant_name, tenant_slug, health
		FROM (`+inner+`) x`+where+`
		ORDER BY CASE x.health WHEN 'invalid' THEN 0 WHEN 'expired' THEN 1 WHEN 'expiring' THEN 2 ELSE 3 END, x.expiry,
			lower(x.tenant_name), x.platform, lower(x.account_name), x.id
		LIMIT $5 OFFSET $6`, pattern, f.Platform, f.TenantID, f.Status, pageLimit(f.Limit), max(f.Offset, 0))
	return out, total, err
}

// connectionColumnsNoRefresh are the connection columns without the
// computed has_refresh, so the derived table above can name them plainly.
const connectionColumnsNoRefresh = `id, tenant_id, platform, kind, account_ref, account_name, scope, expires_at,
	refresh_expires_at, is_valid, last_validated, invalid_reason, invalidated_at, last_check_error,
	platform_user_id, meta, created_at, updated_at`
