package models

import (
	"context"
	"encoding/json"
	"time"

	"github.com/lib/pq"
	"github.com/shopspring/decimal"
)

// AutomationConnections returns the connections an automation reads, with
// their decrypted credentials, in the automation's tenant.
func (s *Store) AutomationConnections(ctx context.Context, tenantID, automationID string) ([]Connection, []Credentials, error) {
	var ids []string
	if err := s.db.SelectContext(ctx, &ids, `SELECT connection_id FROM automation_connection
		WHERE tenant_id = $1 AND automation_id = $2 ORDER BY connection_id`, tenantID, automationID); err != nil {
		return nil, nil, err
	}
	conns := make([]Connection, 0, len(ids))
	creds := make([]Credentials, 0, len(ids))
	for _, id := range ids {
		c, cr, err := s.ConnectionCredentials(ctx, tenantID, id)
		if err != nil {
			return nil, nil, err
		}
		conns, creds = append(conns, c), append(creds, cr)
	}
	return conns, creds, nil
}

// SetAutomationConnections replaces the connections an automation reads
// (all of the tenant's own; another tenant's id is ErrNotFound).
func (s *Store) SetAutomationConnections(ctx context.Context, tenantID, automationID string, connectionIDs []string) error {
	return s.withTx(ctx, func(tx *sqlxTx) error {
		return setAutomationConnections(ctx, tx, tenantID, automationID, connectionIDs)
	})
}

func setAutomationConnections(ctx context.Context, tx *sqlxTx, tenantID, automationID string, ids []string) error {
	for _, id := range ids {
		if !validUUID(id) {
			return ErrNotFound
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM automation_connection WHERE tenant_id = $1 AND automation_id = $2`, tenantID, automationID); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO automation_connection (tenant_id, automation_id, connection_id)
		SELECT $1, $2, t.id FROM ad_token t WHERE t.tenant_id = $1 AND t.id = ANY($3::uuid[])`, tenantID, automationID, pq.StringArray(ids))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); int(n) != len(dedupe(ids)) {
		return ErrNotFound
	}
	return nil
}

func dedupe(ids []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// Snapshot is one entity's metrics on one day, as fetched from a platform.
type Snapshot struct {
	ConnectionID string          `db:"connection_id"`
	Level        string          `db:"level"`
	EntityID     string          `db:"entity_id"`
	EntityName   string          `db:"entity_name"`
	Day          time.Time       `db:"day"`
	Currency     string          `db:"currency"`
	Spend        decimal.Decimal `db:"spend"`
	Impressions  int64           `db:"impressions"`
	Clicks       int64           `db:"clicks"`
	Conversions  decimal.Decimal `db:"conversions"`
	Revenue      decimal.Decimal `db:"revenue"`
}

// SaveSnapshots upserts daily rows and reports how many were new or changed
// (a data sync pushes only those).
func (s *Store) SaveSnapshots(ctx context.Context, tenantID string, rows []Snapshot) ([]Snapshot, error) {
	var changed []Snapshot
	err := s.withTx(ctx, func(tx *sqlxTx) error {
		changed = changed[:0]
		for _, r := range rows {
			var n int
			err := tx.GetContext(ctx, &n, `WITH up AS (
					INSERT INTO metric_snapshot (tenant_id, connection_id, level, entity_id, entity_name, day, currency,
						spend, impressions, clicks, conversions, revenue)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
					ON CONFLICT (connection_id, level, entity_id, day) DO UPDATE SET
						entity_name = EXCLUDED.entity_name, currency = EXCLUDED.currency, spend = EXCLUDED.spend,
						impressions = EXCLUDED.impressions, clicks = EXCLUDED.clicks, conversions = EXCLUDED.conversions,
						revenue = EXCLUDED.revenue, fetched_at = now()
					WHERE (metric_snapshot.spend, metric_snapshot.impressions, metric_snapshot.clicks,
						metric_snapshot.conversions, metric_snapshot.revenue) IS DISTINCT FROM
						(EXCLUDED.spend, EXCLUDED.impressions, EXCLUDED.clicks, EXCLUDED.conversions, EXCLUDED.revenue)
					RETURNING 1)
				SELECT count(*) FROM up`, tenantID, r.ConnectionID, r.Level, r.EntityID, r.EntityName, r.Day.Format(time.DateOnly),
				r.Currency, r.Spend, r.Impressions, r.Clicks, r.Conversions, r.Revenue)
			if err != nil {
				return err
			}
			if n > 0 {
				changed = append(changed, r)
			}
		}
		return nil
	})
	return changed, err
}

// Snapshots returns a connection's stored daily rows at a level for a date
// range (inclusive), by day then entity.
func (s *Store) Snapshots(ctx context.Context, tenantID, connectionID, level string, since, until time.Time) ([]Snapshot, error) {
	out := []Snapshot{}
	err := s.db.SelectContext(ctx, &out, `SELECT connection_id, level, entity_id, entity_name, day, currency, spend, impressions, clicks,
			conversions, revenue
		FROM metric_snapshot WHERE tenant_id = $1 AND connection_id = $2 AND level = $3 AND day BETWEEN $4 AND $5
		ORDER BY day, entity_id`, tenantID, connectionID, level, since.Format(time.DateOnly), until.Format(time.DateOnly))
	return out, err
}

// AlertStates returns an alert automation's per-entity state (raw JSON,
// decoded by the alert runner).
func (s *Store) AlertStates(ctx context.Context, tenantID, automationID string) (map[string]json.RawMessage, error) {
	var rows []struct {
		Key   string          `db:"entity_key"`
		State json.RawMessage `db:"state"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT entity_key, state FROM alert_state WHERE tenant_id = $1 AND automation_id = $2`,
		tenantID, automationID); err != nil {
		return nil, err
	}
	out := make(map[string]json.RawMessage, len(rows))
	for _, r := range rows {
		out[r.Key] = r.State
	}
	return out, nil
}

// SaveAlertState stores one entity's alert state.
func (s *Store) SaveAlertState(ctx context.Context, tenantID, automationID, entityKey string, state any, now time.Time) error {
	raw, err := json.Marshal(state)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO alert_state (tenant_id, automation_id, entity_key, state, changed_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (automation_id, entity_key) DO UPDATE SET state = EXCLUDED.state, changed_at = EXCLUDED.changed_at`,
		tenantID, automationID, entityKey, raw, now)
	return err
}

// ScheduleZones returns the zones an automation's schedule may be in: the
// tenant's, and the account zone of its first connection (by id), in one
// query that decrypts nothing (the scheduler asks for every claimed run).
func (s *Store) ScheduleZones(ctx context.Context, tenantID, automationID string) (tenantTZ, accountTZ string, err error) {
	var z struct {
		Tenant  string `db:"tenant_tz"`
		Account string `db:"account_tz"`
	}
	err = s.db.GetContext(ctx, &z, `SELECT COALESCE(t.settings->>'timezone', '') AS tenant_tz,
			COALESCE((SELECT tk.meta->>'timezone_name' FROM automation_connection ac JOIN ad_token tk
				ON tk.tenant_id = ac.tenant_id AND tk.id = ac.connection_id
				WHERE ac.tenant_id = t.id AND ac.automation_id = $2 ORDER BY ac.connection_id LIMIT 1), '') AS account_tz
		FROM tenant t WHERE t.id = $1`, tenantID, automationID)
	return z.Tenant, z.Account, normalize(err)
}
