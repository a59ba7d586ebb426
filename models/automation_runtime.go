package models

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

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
						metric_snapshot.conversions, metric_snapshot.revenue, metric_snapshot.currency, metric_snapshot.entity_name) IS DISTINCT FROM
						(EXCLUDED.spend, EXCLUDED.impressions, EXCLUDED.clicks, EXCLUDED.conversions, EXCLUDED.revenue, EXCLUDED.currency, EXCLUDED.entity_name)
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

// RunRuntime is everything a run of an automation reads before it calls a
// platform: the automation, its tenant, its connections with their
// credentials (ordered by connection id), and its destination with the
// webhook's secrets.
type RunRuntime struct {
	Automation  Automation
	Tenant      Tenant
	Connections []Connection
	Credentials []Credentials // same order as Connections
	Destination *Destination  // nil: the automation has none (or it was deleted)
	// WebhookSecrets of a webhook destination (nil otherwise).
	WebhookSecrets *WebhookSecrets
}

// LoadRunRuntime reads one automation's runtime (a manual or event run).
func (s *Store) LoadRunRuntime(ctx context.Context, tenantID, automationID string) (*RunRuntime, error) {
	a, err := s.GetAutomation(ctx, tenantID, automationID)
	if err != nil {
		return nil, err
	}
	rts, err := s.LoadRunRuntimes(ctx, []Automation{a})
	if err != nil {
		return nil, err
	}
	return rts[a.ID], nil
}

// LoadRunRuntimes reads the runtime of many automations (a claimed batch)
// in three queries whatever their number: tenants, connections and
// destinations, each decrypted once per distinct row. Keyed by automation.
func (s *Store) LoadRunRuntimes(ctx context.Context, autos []Automation) (map[string]*RunRuntime, error) {
	out := make(map[string]*RunRuntime, len(autos))
	if len(autos) == 0 {
		return out, nil
	}
	var ids, tenantIDs, destIDs, destTenants []string
	seenTenant := map[string]bool{}
	seenDest := map[string]bool{}
	for _, a := range autos {
		out[a.ID] = &RunRuntime{Automation: a}
		ids = append(ids, a.ID)
		if !seenTenant[a.TenantID] {
			seenTenant[a.TenantID] = true
			tenantIDs = append(tenantIDs, a.TenantID)
		}
		if a.DestinationID != nil && !seenDest[*a.DestinationID] {
			seenDest[*a.DestinationID] = true
			destIDs, destTenants = append(destIDs, *a.DestinationID), append(destTenants, a.TenantID)
		}
	}
	var tenants []Tenant
	if err := s.db.SelectContext(ctx, &tenants, `SELECT `+tenantColumns+` FROM tenant WHERE id = ANY($1::uuid[])`,
		pq.StringArray(tenantIDs)); err != nil {
		return nil, err
	}
	tenantByID := make(map[string]Tenant, len(tenants))
	for _, t := range tenants {
		tenantByID[t.ID] = t
	}
	var conns []struct {
		AutomationID string `db:"automation_id"`
		Connection
		AccessEnc  []byte `db:"access_token_enc"`
		RefreshEnc []byte `db:"refresh_token_enc"`
	}
	tenantsOf := make([]string, len(autos))
	for i, a := range autos {
		tenantsOf[i] = a.TenantID
	}
	if err := s.db.SelectContext(ctx, &conns, `SELECT ac.automation_id, `+prefixColumns(connectionColumns, "t.")+`,
			t.access_token_enc, t.refresh_token_enc
		FROM unnest($1::uuid[], $2::uuid[]) AS k (tenant_id, automation_id)
		JOIN automation_connection ac ON ac.tenant_id = k.tenant_id AND ac.automation_id = k.automation_id
		JOIN ad_token t ON t.tenant_id = ac.tenant_id AND t.id = ac.connection_id
		ORDER BY ac.automation_id, ac.connection_id`, pq.StringArray(tenantsOf), pq.StringArray(ids)); err != nil {
		return nil, err
	}
	creds := map[string]Credentials{}
	for _, c := range conns {
		cr, ok := creds[c.ID]
		if !ok {
			var err error
			if cr, err = s.openCredentials(c.ID, c.AccessEnc, c.RefreshEnc); err != nil {
				return nil, err
			}
			creds[c.ID] = cr
		}
		rt := out[c.AutomationID]
		rt.Connections, rt.Credentials = append(rt.Connections, c.Connection), append(rt.Credentials, cr)
	}
	dests := map[string]*Destination{}
	secrets := map[string]*WebhookSecrets{}
	if len(destIDs) > 0 {
		var rows []struct {
			Destination
			SecretEnc []byte `db:"secret_enc"`
		}
		if err := s.db.SelectContext(ctx, &rows, `SELECT `+destinationColumns+`, secret_enc FROM destination
			WHERE (tenant_id, id) IN (SELECT * FROM unnest($1::uuid[], $2::uuid[]))`,
			pq.StringArray(destTenants), pq.StringArray(destIDs)); err != nil {
			return nil, err
		}
		for _, r := range rows {
			d := r.Destination
			dests[d.ID] = &d
			if d.Type == DestinationWebhook && len(r.SecretEnc) > 0 {
				if s.vault == nil {
					return nil, errNoVault
				}
				plain, err := s.vault.Open(r.SecretEnc, secretPlace(d.ID))
				if err != nil {
					return nil, err
				}
				var sec WebhookSecrets
				if err := json.Unmarshal(plain, &sec); err != nil {
					return nil, err
				}
				secrets[d.ID] = &sec
			}
		}
	}
	for _, rt := range out {
		if t, ok := tenantByID[rt.Automation.TenantID]; ok {
			rt.Tenant = t
		} else {
			return nil, ErrNotFound
		}
		if id := rt.Automation.DestinationID; id != nil {
			rt.Destination, rt.WebhookSecrets = dests[*id], secrets[*id]
		}
	}
	return out, nil
}

// hotStmts are the prepared statements of the scheduler's hot path (a
// run's end, a delivery's attempt), per database: executed thousands of
// times a second, they are parsed and planned once per connection, and
// each execution is one round trip instead of two.
var hotStmts sync.Map // hotKey -> *sqlx.Stmt

type hotKey struct {
	db    *sqlx.DB
	query string
}

// hot returns query prepared on s's database (prepared on first use).
func (s *Store) hot(ctx context.Context, query string) (*sqlx.Stmt, error) {
	key := hotKey{s.db, query}
	if st, ok := hotStmts.Load(key); ok {
		return st.(*sqlx.Stmt), nil
	}
	st, err := s.db.PreparexContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := hotStmts.LoadOrStore(key, st); loaded {
		_ = st.Close()
		return prev.(*sqlx.Stmt), nil
	}
	return st, nil
}

// combiner batches the scheduler's hot writes (runs' ends, deliveries'
// attempts) across workers: a caller queues its request and, unless
// enough callers are already writing, writes the queued requests itself,
// many in one statement, until none are left. Under load each statement
// carries every request that came in while the previous one ran (one
// round trip and one commit for many runs); alone, a request is written
// at once, as before. Every request in a batch keeps its own fence (its
// lease), so a batch never writes for a worker that lost its lease.
type combiner[R any] struct {
	mu      sync.Mutex
	pending []R
	writers int
	// write writes a batch and hands each request its result.
	write func(batch []R)
}

// combinerWriters is how many batches are written at once; maxCombine
// bounds one batch.
const (
	combinerWriters = 2
	maxCombine      = 128
)

func (c *combiner[R]) do(r R) {
	c.mu.Lock()
	c.pending = append(c.pending, r)
	if c.writers >= combinerWriters {
		c.mu.Unlock()
		return
	}
	c.writers++
	for {
		n := min(len(c.pending), maxCombine)
		if n == 0 {
			c.writers--
			c.mu.Unlock()
			return
		}
		batch := make([]R, n)
		copy(batch, c.pending)
		c.pending = append(c.pending[:0], c.pending[n:]...)
		c.mu.Unlock()
		c.write(batch)
		c.mu.Lock()
	}
}

// writeBatchOrEach writes batch in one statement with all; if that fails
// as a whole, it writes each item alone with one, so one bad item fails
// only itself. Every item's done channel is closed at the end.
func writeBatchOrEach[R any](batch []R, done func(R) chan struct{}, all func(context.Context, []R) error, one func(context.Context, R)) {
	defer func() {
		for _, q := range batch {
			close(done(q))
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if len(batch) > 1 && all(ctx, batch) == nil {
		return
	}
	for _, q := range batch {
		one(ctx, q)
	}
}

// storeCombiners are each store's combiners, made on first use.
var storeCombiners sync.Map // *sqlx.DB -> *combiners

type combiners struct {
	finish  *combiner[*finishReq]
	attempt *combiner[*attemptReq]
}

func (s *Store) combiners() *combiners {
	if c, ok := storeCombiners.Load(s.db); ok {
		return c.(*combiners)
	}
	c := &combiners{}
	c.finish = &combiner[*finishReq]{write: s.writeFinishes}
	c.attempt = &combiner[*attemptReq]{write: s.writeAttempts}
	actual, _ := storeCombiners.LoadOrStore(s.db, c)
	return actual.(*combiners)
}
