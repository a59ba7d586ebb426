package models

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/lib/pq"
)

// Webhook event statuses (webhook_event.status; a match has all but unmatched).
const (
	WebhookReceived  = "received"
	WebhookProcessed = "processed"
	WebhookUnmatched = "unmatched"
	WebhookFailed    = "failed"
)

// ErrWebhookLeaseLost means the event is no longer held by this claim (its
// lease ran out and another worker took it up, or it was finished).
var ErrWebhookLeaseLost = errors.New("the webhook event's lease was lost to another worker")

// WebhookEventInput is one event to store, as the webhooks package parsed it.
type WebhookEventInput struct {
	Platform   string
	Type       string
	DedupeKey  string
	ObjectID   string
	OccurredAt time.Time // zero: unknown
	Payload    []byte    // JSON
}

// WebhookEvent is one stored platform event. It belongs to no tenant: the
// tenants it concerns are its matches.
type WebhookEvent struct {
	ID            string          `db:"id"`
	Platform      string          `db:"platform"`
	Type          string          `db:"event_type"`
	DedupeKey     string          `db:"dedupe_key"`
	ObjectID      string          `db:"object_id"`
	Payload       json.RawMessage `db:"payload"`
	Status        string          `db:"status"`
	Attempts      int             `db:"attempts"`
	NextAttemptAt time.Time       `db:"next_attempt_at"`
	LastError     string          `db:"last_error"`
	OccurredAt    *time.Time      `db:"occurred_at"`
	ReceivedAt    time.Time       `db:"received_at"`
	ProcessedAt   *time.Time      `db:"processed_at"`
	Matches       int             `db:"matches"` // how many tenants' connections it matched
}

// WebhookEventMatch is one tenant's record of an event: which connection it
// matched, what processing fetched, and what it set off.
type WebhookEventMatch struct {
	TenantID      string          `db:"tenant_id"`
	EventID       string          `db:"event_id"`
	ConnectionID  string          `db:"connection_id"`
	Status        string          `db:"status"`
	Data          json.RawMessage `db:"data"` // JSON null until fetched
	AutomationIDs pq.StringArray  `db:"automation_ids"`
	RunIDs        pq.StringArray  `db:"run_ids"`
	Error         string          `db:"error"`
	CreatedAt     time.Time       `db:"created_at"`
	ProcessedAt   *time.Time      `db:"processed_at"`
}

// TenantWebhookEvent is an event as one tenant sees it: the event and its
// match for that tenant. Status is the match's, or failed when the event
// failed before the match was done.
type TenantWebhookEvent struct {
	WebhookEvent
	Match WebhookEventMatch `db:"m"`
}

const webhookEventColumns = `id, platform, event_type, dedupe_key, object_id, payload, status, attempts,
	next_attempt_at, last_error, occurred_at, received_at, processed_at`

const webhookMatchColumns = `tenant_id, event_id, connection_id, status, automation_ids, run_ids, error,
	created_at, processed_at`

// webhookMatchData selects data, JSON null until fetched (a RawMessage
// cannot hold SQL NULL).
const webhookMatchData = `COALESCE(data, 'null'::jsonb)`

// maxWebhookError bounds a stored error message.
const maxWebhookError = 2000

func webhookError(s string) string {
	if len(s) > maxWebhookError {
		s = strings.ToValidUTF8(s[:maxWebhookError], "") + "…"
	}
	return s
}

// InsertWebhookEvents stores events in one statement, each once: an event
// whose (platform, dedupe key) is already stored, or repeated within evs,
// is skipped. It returns how many were new.
func (s *Store) InsertWebhookEvents(ctx context.Context, evs []WebhookEventInput) (int, error) {
	switch len(evs) {
	case 0:
		return 0, nil
	case 1:
		// Nearly every delivery is one event. A plain single-row VALUES
		// insert costs PostgreSQL about a quarter less than the unnest form
		// below (2 cores, 32 goroutines over 10 connections: ~3,100
		// unnest statements/s against ~4,200 VALUES ones). Same effect.
		e := evs[0]
		var occurred any // nil: unknown
		if !e.OccurredAt.IsZero() {
			occurred = e.OccurredAt.UTC()
		}
		res, err := s.db.ExecContext(ctx, `INSERT INTO webhook_event (platform, event_type, dedupe_key, object_id, payload, occurred_at)
			VALUES ($1, $2, $3, $4, $5::jsonb, $6)
			ON CONFLICT (platform, dedupe_key) DO NOTHING`, e.Platform, e.Type, e.DedupeKey, e.ObjectID, string(e.Payload), occurred)
		if err != nil {
			return 0, err
		}
		inserted, err := res.RowsAffected()
		return int(inserted), err
	}
	n := len(evs)
	platforms, types, keys, objects := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	payloads := make([]string, n)
	occurred := make([]string, n) // "" = unknown
	for i, e := range evs {
		platforms[i], types[i], keys[i], objects[i], payloads[i] = e.Platform, e.Type, e.DedupeKey, e.ObjectID, string(e.Payload)
		if !e.OccurredAt.IsZero() {
			occurred[i] = e.OccurredAt.UTC().Format(time.RFC3339Nano)
		}
	}
	const insert = `INSERT INTO webhook_event (platform, event_type, dedupe_key, object_id, payload, occurred_at)
		SELECT p, t, k, o, x::jsonb, NULLIF(a, '')::timestamptz
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
			AS u(p, t, k, o, x, a)
		ON CONFLICT (platform, dedupe_key) DO NOTHING`
	res, err := s.db.ExecContext(ctx, insert, pq.StringArray(platforms), pq.StringArray(types), pq.StringArray(keys),
		pq.StringArray(objects), pq.StringArray(payloads), pq.StringArray(occurred))
	if err != nil {
		return 0, err
	}
	inserted, err := res.RowsAffected()
	return int(inserted), err
}

// ClaimWebhookEvents takes up to limit received events that are due (new,
// waiting for a retry, or whose worker's lease ran out), oldest due first,
// across tenants. Each claim counts an attempt and moves next_attempt_at
// lease ahead, so no other replica takes them meanwhile; rows another
// transaction is claiming are skipped, not waited for. Finish each with
// one of the Mark/Retry/Fail methods, passing the claimed event (its
// attempts fence out a claim that lost its lease).
func (s *Store) ClaimWebhookEvents(ctx context.Context, limit int, lease time.Duration) ([]WebhookEvent, error) {
	claim := `WITH due AS (
			SELECT id FROM webhook_event
			WHERE status = 'received' AND next_attempt_at <= now()
			ORDER BY next_attempt_at
			LIMIT $1
			FOR UPDATE SKIP LOCKED
		)
		UPDATE webhook_event e SET attempts = e.attempts + 1, next_attempt_at = now() + make_interval(secs => $2)
		FROM due WHERE e.id = due.id
		RETURNING ` + webhookEventPrefixed
	if limit <= 0 {
		return nil, nil
	}
	out := []WebhookEvent{}
	err := s.db.SelectContext(ctx, &out, claim, limit, lease.Seconds())
	return out, err
}

// webhookEventPrefixed is webhookEventColumns of alias e, plus no matches.
var webhookEventPrefixed = prefixColumns(webhookEventColumns, "e.") + ", 0 AS matches"

// MarkWebhookEventProcessed finishes a claimed event: processed.
func (s *Store) MarkWebhookEventProcessed(ctx context.Context, ev WebhookEvent) error {
	return s.finishWebhookEvent(ctx, ev, WebhookProcessed, "")
}

// MarkWebhookEventUnmatched finishes a claimed event that concerns no
// tenant: it is kept for operators and never retried.
func (s *Store) MarkWebhookEventUnmatched(ctx context.Context, ev WebhookEvent) error {
	return s.finishWebhookEvent(ctx, ev, WebhookUnmatched, "")
}

// FailWebhookEvent gives a claimed event up (its last try failed, or
// retrying cannot help): status failed with the error, and every match
// not yet processed fails with it.
func (s *Store) FailWebhookEvent(ctx context.Context, ev WebhookEvent, errText string) error {
	return s.finishWebhookEvent(ctx, ev, WebhookFailed, errText)
}

func (s *Store) finishWebhookEvent(ctx context.Context, ev WebhookEvent, status, errText string) error {
	return s.withTx(ctx, func(tx *sqlxTx) error {
		res, err := tx.ExecContext(ctx, `UPDATE webhook_event SET status = $3, processed_at = now(), last_error = $4
			WHERE id = $1 AND status = 'received' AND attempts = $2`, ev.ID, ev.Attempts, status, webhookError(errText))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrWebhookLeaseLost
		}
		if status != WebhookFailed {
			return nil
		}
		_, err = tx.ExecContext(ctx, `UPDATE webhook_event_match SET status = 'failed', error = $2, processed_at = now()
			WHERE event_id = $1 AND status = 'received'`, ev.ID, webhookError(errText))
		return err
	})
}

// RetryWebhookEvent records a failed attempt of a claimed event: it stays
// received, with the error, and is due again after retryIn.
func (s *Store) RetryWebhookEvent(ctx context.Context, ev WebhookEvent, errText string, retryIn time.Duration) error {
	res, err := s.db.ExecContext(ctx, `UPDATE webhook_event SET last_error = $3, next_attempt_at = now() + make_interval(secs => $4)
		WHERE id = $1 AND status = 'received' AND attempts = $2`, ev.ID, ev.Attempts, webhookError(errText), retryIn.Seconds())
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrWebhookLeaseLost
	}
	return nil
}

// WebhookConnections returns, across tenants, the connections an event is
// about: platform's rows with account_ref ref (and, unless kind is "", of
// that kind), or whose granting user is ref when byUser is set. For the
// webhook job only: it is not a tenant query.
func (s *Store) WebhookConnections(ctx context.Context, platform, kind, ref string, byUser bool) ([]Connection, error) {
	out := []Connection{}
	if ref == "" {
		return out, nil
	}
	err := s.db.SelectContext(ctx, &out, `SELECT `+connectionColumns+` FROM ad_token
		WHERE platform = $1 AND ($2 = '' OR kind = $2) AND (account_ref = $3 OR ($4 AND platform_user_id = $3))
		ORDER BY tenant_id, id`, platform, kind, ref, byUser)
	return out, err
}

// AddWebhookEventMatches records that ev concerns each connection's tenant
// (again for a retried event: rows already there are kept as they are).
func (s *Store) AddWebhookEventMatches(ctx context.Context, eventID string, conns []Connection) error {
	if len(conns) == 0 {
		return nil
	}
	tenants, ids := make([]string, len(conns)), make([]string, len(conns))
	for i, c := range conns {
		tenants[i], ids[i] = c.TenantID, c.ID
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO webhook_event_match (tenant_id, event_id, connection_id)
		SELECT t, $1, c FROM unnest($2::uuid[], $3::uuid[]) AS u(t, c)
		ON CONFLICT (event_id, connection_id) DO NOTHING`, eventID, pq.StringArray(tenants), pq.StringArray(ids))
	return err
}

// WebhookEventMatches returns every tenant's match of an event, for the
// webhook job and operators (not a tenant query).
func (s *Store) WebhookEventMatches(ctx context.Context, eventID string) ([]WebhookEventMatch, error) {
	out := []WebhookEventMatch{}
	if !validUUID(eventID) {
		return out, nil
	}
	err := s.db.SelectContext(ctx, &out, `SELECT `+webhookMatchColumns+`, `+webhookMatchData+` AS data FROM webhook_event_match
		WHERE event_id = $1 ORDER BY created_at, tenant_id, connection_id`, eventID)
	return out, err
}

// SaveWebhookMatchData keeps what processing fetched for the tenant's match
// (a lead), so a retry does not fetch it again.
func (s *Store) SaveWebhookMatchData(ctx context.Context, tenantID, eventID, connectionID string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	return s.updateWebhookMatch(ctx, `UPDATE webhook_event_match SET data = $4
		WHERE tenant_id = $1 AND event_id = $2 AND connection_id = $3 AND status = 'received'`,
		tenantID, eventID, connectionID, string(b))
}

// MarkWebhookMatchProcessed finishes the tenant's match with the
// automations and runs the event set off.
func (s *Store) MarkWebhookMatchProcessed(ctx context.Context, tenantID, eventID, connectionID string, automationIDs, runIDs []string) error {
	return s.updateWebhookMatch(ctx, `UPDATE webhook_event_match SET status = 'processed', processed_at = now(), error = '',
			automation_ids = $4::uuid[], run_ids = $5::uuid[]
		WHERE tenant_id = $1 AND event_id = $2 AND connection_id = $3 AND status = 'received'`,
		tenantID, eventID, connectionID, pq.StringArray(nonNil(automationIDs)), pq.StringArray(nonNil(runIDs)))
}

// MarkWebhookMatchFailed gives up the tenant's match with the error (the
// other tenants' matches go on).
func (s *Store) MarkWebhookMatchFailed(ctx context.Context, tenantID, eventID, connectionID, errText string) error {
	return s.updateWebhookMatch(ctx, `UPDATE webhook_event_match SET status = 'failed', processed_at = now(), error = $4
		WHERE tenant_id = $1 AND event_id = $2 AND connection_id = $3 AND status = 'received'`,
		tenantID, eventID, connectionID, webhookError(errText))
}

func (s *Store) updateWebhookMatch(ctx context.Context, update, tenantID, eventID, connectionID string, args ...any) error {
	if !validUUID(tenantID) || !validUUID(eventID) || !validUUID(connectionID) {
		return ErrNotFound
	}
	res, err := s.db.ExecContext(ctx, update, append([]any{tenantID, eventID, connectionID}, args...)...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// WebhookEventFilter selects events for a list.
type WebhookEventFilter struct {
	Status   string // "" = every status
	Type     string // "" = every type; else exact (facebook.leadgen)
	Platform string // "" = both
	Limit    int    // 50 when 0 or less, at most 500
	Offset   int
}

func (f WebhookEventFilter) page() (limit, offset int) {
	limit = f.Limit
	switch {
	case limit <= 0:
		limit = 50
	case limit > 500:
		limit = 500
	}
	return limit, max(f.Offset, 0)
}

// tenantEventStatus is a match's status as the tenant sees it.
const tenantEventStatus = `CASE WHEN m.status = 'received' AND e.status = 'failed' THEN 'failed' ELSE m.status END`

var tenantEventColumns = prefixColumns(webhookEventColumns, "e.") + `, 1 AS matches, ` +
	strings.Replace(aliasColumns(webhookMatchColumns, "m.", "m."), `m.status AS "m.status"`, tenantEventStatus+` AS "m.status"`, 1) +
	`, COALESCE(m.data, 'null'::jsonb) AS "m.data"`

// ListWebhookEvents returns the tenant's events, newest first, and how
// many match the filter in all.
func (s *Store) ListWebhookEvents(ctx context.Context, tenantID string, f WebhookEventFilter) ([]TenantWebhookEvent, int, error) {
	const where = ` FROM webhook_event_match m JOIN webhook_event e ON e.id = m.event_id
		WHERE m.tenant_id = $1 AND ($2 = '' OR ` + tenantEventStatus + ` = $2) AND ($3 = '' OR e.event_type = $3)
			AND ($4 = '' OR e.platform = $4)`
	out := []TenantWebhookEvent{}
	if !validUUID(tenantID) {
		return out, 0, nil
	}
	limit, offset := f.page()
	var total int
	if err := s.db.GetContext(ctx, &total, `SELECT count(*)`+where, tenantID, f.Status, f.Type, f.Platform); err != nil {
		return nil, 0, err
	}
	if total <= offset {
		return out, total, nil
	}
	err := s.db.SelectContext(ctx, &out, `SELECT `+tenantEventColumns+where+`
		ORDER BY e.received_at DESC, e.id, m.connection_id LIMIT $5 OFFSET $6`, tenantID, f.Status, f.Type, f.Platform, limit, offset)
	return out, total, err
}

// GetWebhookEvent returns one event as the tenant sees it; ErrNotFound when
// it does not concern the tenant. (An event matching several of the
// tenant's connections shows the first match.)
func (s *Store) GetWebhookEvent(ctx context.Context, tenantID, id string) (TenantWebhookEvent, error) {
	var out TenantWebhookEvent
	if !validUUID(tenantID) || !validUUID(id) {
		return out, ErrNotFound
	}
	err := s.db.GetContext(ctx, &out, `SELECT `+tenantEventColumns+`
		FROM webhook_event_match m JOIN webhook_event e ON e.id = m.event_id
		WHERE m.tenant_id = $1 AND e.id = $2 ORDER BY m.created_at, m.connection_id LIMIT 1`, tenantID, id)
	return out, normalize(err)
}

// ListAllWebhookEvents returns every event, unmatched ones included,
// newest first, and how many match in all. An operator query across every
// tenant: only platform operators may reach it.
func (s *Store) ListAllWebhookEvents(ctx context.Context, f WebhookEventFilter) ([]WebhookEvent, int, error) {
	const where = ` FROM webhook_event e WHERE ($1 = '' OR e.status = $1) AND ($2 = '' OR e.event_type = $2)
		AND ($3 = '' OR e.platform = $3)`
	limit, offset := f.page()
	var total int
	if err := s.db.GetContext(ctx, &total, `SELECT count(*)`+where, f.Status, f.Type, f.Platform); err != nil {
		return nil, 0, err
	}
	out := []WebhookEvent{}
	if total <= offset {
		return out, total, nil
	}
	err := s.db.SelectContext(ctx, &out, `SELECT `+prefixColumns(webhookEventColumns, "e.")+`,
			(SELECT count(*) FROM webhook_event_match m WHERE m.event_id = e.id) AS matches`+where+`
		ORDER BY e.received_at DESC, e.id LIMIT $4 OFFSET $5`, f.Status, f.Type, f.Platform, limit, offset)
	return out, total, err
}

// GetAnyWebhookEvent returns one event with every tenant's match: an
// operator query across tenants.
func (s *Store) GetAnyWebhookEvent(ctx context.Context, id string) (WebhookEvent, []WebhookEventMatch, error) {
	var ev WebhookEvent
	if !validUUID(id) {
		return ev, nil, ErrNotFound
	}
	if err := s.db.GetContext(ctx, &ev, `SELECT `+webhookEventColumns+`,
			(SELECT count(*) FROM webhook_event_match m WHERE m.event_id = $1) AS matches
		FROM webhook_event WHERE id = $1`, id); err != nil {
		return ev, nil, normalize(err)
	}
	matches, err := s.WebhookEventMatches(ctx, id)
	return ev, matches, err
}

// DeleteWebhookEventsBefore removes events received before cutoff, with
// their matches (retention). It returns how many events went.
func (s *Store) DeleteWebhookEventsBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM webhook_event WHERE received_at < $1`, cutoff)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// EventAutomations returns the tenant's active alert automations that run
// on the named event ("trigger": "event", "event": name in their config).
func (s *Store) EventAutomations(ctx context.Context, tenantID, eventName string) ([]Automation, error) {
	out := []Automation{}
	if !validUUID(tenantID) {
		return out, nil
	}
	// A deactivated tenant's automations do not run, on events either.
	err := s.db.SelectContext(ctx, &out, `SELECT `+prefixColumns(automationColumns, "a.")+` FROM automation a
		JOIN tenant t ON t.id = a.tenant_id AND t.is_active
		WHERE a.tenant_id = $1 AND a.type = 'alert' AND a.status = 'active'
			AND a.automation_config->>'trigger' = 'event' AND a.automation_config->>'event' = $2
		ORDER BY a.created_at, a.id`, tenantID, eventName)
	return out, err
}
