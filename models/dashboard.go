package models

import (
	"context"
	"encoding/json"
	"time"

	"github.com/shopspring/decimal"
)

// DailyTotal is one day of a tenant's account-level snapshots, summed per
// currency (the dashboard's chart).
type DailyTotal struct {
	Day         time.Time       `db:"day"`
	Currency    string          `db:"currency"`
	Spend       decimal.Decimal `db:"spend"`
	Conversions decimal.Decimal `db:"conversions"`
}

// DailyTotals sums account-level snapshots per day and currency between
// since and until (inclusive), for one connection or ("") all of them.
func (s *Store) DailyTotals(ctx context.Context, tenantID, connectionID string, since, until time.Time) ([]DailyTotal, error) {
	out := []DailyTotal{}
	if connectionID != "" && !validUUID(connectionID) {
		return out, nil
	}
	err := s.db.SelectContext(ctx, &out, `SELECT day, currency, sum(spend) AS spend, sum(conversions) AS conversions
		FROM metric_snapshot WHERE tenant_id = $1 AND level = 'account' AND day BETWEEN $3 AND $4
			AND ($2 = '' OR connection_id = NULLIF($2, '')::uuid)
		GROUP BY day, currency ORDER BY day, currency`, tenantID, connectionID, since.Format(time.DateOnly), until.Format(time.DateOnly))
	return out, err
}

// FiringAlert is an alert now firing for one entity.
type FiringAlert struct {
	AutomationID   string          `db:"automation_id"`
	AutomationName string          `db:"automation_name"`
	EntityKey      string          `db:"entity_key"` // connection id:level:entity id
	AccountName    string          `db:"account_name"`
	State          json.RawMessage `db:"state"`
	ChangedAt      time.Time       `db:"changed_at"`
}

// FiringAlerts lists the tenant's alert states that are firing, newest first.
func (s *Store) FiringAlerts(ctx context.Context, tenantID string, limit int) ([]FiringAlert, error) {
	out := []FiringAlert{}
	err := s.db.SelectContext(ctx, &out, `SELECT st.automation_id, a.name AS automation_name, st.entity_key,
			COALESCE(c.account_name, '') AS account_name, st.state, st.changed_at
		FROM alert_state st JOIN automation a ON a.tenant_id = st.tenant_id AND a.id = st.automation_id
		LEFT JOIN ad_token c ON c.tenant_id = st.tenant_id AND c.id::text = split_part(st.entity_key, ':', 1)
		WHERE st.tenant_id = $1 AND st.state->>'firing' = 'true'
		ORDER BY st.changed_at DESC, st.entity_key LIMIT $2`, tenantID, limit)
	return out, err
}
