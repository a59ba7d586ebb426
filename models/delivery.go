package models

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/lib/pq"
)

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// Attempt outcomes.
const (
	OutcomeDelivered = "delivered"
	OutcomeRetry     = "retry"
	OutcomeFailed    = "failed"
	OutcomeGone      = "gone"
	OutcomeMigrated  = "migrated"
)

// Delivery is one message on its way to one destination.
type Delivery struct {
	ID             string     `db:"id"`
	TenantID       string     `db:"tenant_id"`
	DestinationID  string     `db:"destination_id"`
	RunID          *string    `db:"run_id"`
	Event          string     `db:"event"`
	Title          string     `db:"title"`
	Status         string     `db:"status"`
	Attempts       int        `db:"attempts"`
	NextAttemptAt  time.Time  `db:"next_attempt_at"`
	LastStatusCode *int       `db:"last_status_code"`
	LastError      string     `db:"last_error"`
	Payload        []byte     `db:"payload"`
	CreatedAt      time.Time  `db:"created_at"`
	DeliveredAt    *time.Time `db:"delivered_at"`
	// Seq is the delivery's place among its run's messages (set only on
	// the deliveries FinishRunLeasing returns).
	Seq *int `db:"seq"`
}

// DeliveryAttempt is one try of a delivery.
type DeliveryAttempt struct {
	Attempt    int       `db:"attempt"`
	StartedAt  time.Time `db:"started_at"`
	DurationMS int       `db:"duration_ms"`
	StatusCode *int      `db:"status_code"`
	Outcome    string    `db:"outcome"`
	Error      string    `db:"error"`
}

const deliveryColumns = `id, tenant_id, destination_id, run_id, event, title, status, attempts, next_attempt_at,
	last_status_code, last_error, payload, created_at, delivered_at`

// deliveryListColumns leave the payload out of lists.
const deliveryListColumns = `id, tenant_id, destination_id, run_id, event, title, status, attempts, next_attempt_at,
	last_status_code, last_error, ''::bytea AS payload, created_at, delivered_at`

// EnqueueLeasedDelivery writes a delivery already claimed by the caller
// until leaseUntil (Send test tries it at once; no queue worker races it).
func (s *Store) EnqueueLeasedDelivery(ctx context.Context, tenantID, destinationID, event, title string, payload []byte, leaseUntil time.Time) (Delivery, error) {
	return s.EnqueueDelivery(ctx, tenantID, destinationID, "", event, title, payload, leaseUntil)
}

// EnqueueDelivery writes a delivery before anything is attempted, so a
// crash never loses it. runID may be ""; due is when it is first tried.
func (s *Store) EnqueueDelivery(ctx context.Context, tenantID, destinationID, runID, event, title string, payload []byte, due time.Time) (Delivery, error) {
	var d Delivery
	err := s.db.GetContext(ctx, &d, `INSERT INTO delivery (tenant_id, destination_id, run_id, event, title, payload, next_attempt_at)
		VALUES ($1, $2, NULLIF($3, '')::uuid, $4, left($5, 300), $6, $7) RETURNING `+deliveryColumns,
		tenantID, destinationID, runID, event, title, payload, due)
	return d, normalize(err)
}

// ClaimDueDeliveries leases up to limit pending deliveries that are due,
// across tenants: their next attempt moves lease ahead, so no other replica
// takes them meanwhile, and a worker that crashes leaves them to come due
// again. Deliveries to an inactive destination are failed on the way.
func (s *Store) ClaimDueDeliveries(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]Delivery, error) {
	out := []Delivery{}
	err := s.db.SelectContext(ctx, &out, `WITH due AS (
			SELECT id FROM delivery WHERE status = 'pending' AND next_attempt_at <= $1
			ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED)
		UPDATE delivery d SET next_attempt_at = $1::timestamptz + $3 * interval '1 millisecond'
		FROM due WHERE d.id = due.id RETURNING `+prefixColumns(deliveryColumns, "d."), now, limit, lease.Milliseconds())
	return out, err
}

// ClaimDelivery leases one delivery now (Send test, Retry), if it is still
// pending and nobody else holds it.
func (s *Store) ClaimDelivery(ctx context.Context, tenantID, id string, now time.Time, lease time.Duration) (Delivery, error) {
	if !validUUID(id) {
		return Delivery{}, ErrNotFound
	}
	var d Delivery
	err := s.db.GetContext(ctx, &d, `UPDATE delivery SET next_attempt_at = $3::timestamptz + $4 * interval '1 millisecond'
		WHERE id = (SELECT id FROM delivery WHERE tenant_id = $1 AND id = $2 AND status = 'pending' AND next_attempt_at <= $3
			FOR UPDATE SKIP LOCKED)
		RETURNING `+deliveryColumns, tenantID, id, now, lease.Milliseconds())
	return d, normalize(err)
}

// AttemptResult is what one attempt did.
type AttemptResult struct {
	StartedAt  time.Time
	Duration   time.Duration
	StatusCode int    // 0: none
	Outcome    string // Outcome* constants
	Error      string
	// NextAttemptAt, for OutcomeRetry and OutcomeMigrated: when to try again.
	NextAttemptAt time.Time
}

// ErrLeaseLost means another worker claimed the delivery after this one's
// lease ran out: this worker's result is dropped, not written over theirs.
var ErrLeaseLost = errors.New("the delivery's lease was lost to another worker")

// RecordAttempt stores an attempt and moves the delivery on: delivered,
// pending again (retry, migrated) or failed (failed, gone). d must be the
// claimed row: its lease time fences off a worker whose lease ran out.
func (s *Store) RecordAttempt(ctx context.Context, d Delivery, r AttemptResult) (Delivery, error) {
	status := DeliveryPending
	switch r.Outcome {
	case OutcomeDelivered:
		status = DeliveryDelivered
	case OutcomeFailed, OutcomeGone:
		status = DeliveryFailed
	}
	req := &attemptReq{d: d, r: r, status: status, done: make(chan struct{})}
	s.combiners().attempt.do(req)
	<-req.done
	return req.out, req.err
}

// recordAttempt writes one attempt alone, in one statement (one round
// trip, one commit): the delivery moves on and its attempt is stored, only
// if this worker still holds the lease.
func (s *Store) recordAttempt(ctx context.Context, d Delivery, r AttemptResult, status string) (Delivery, error) {
	var out Delivery
	st, err := s.hot(ctx, recordAttemptQuery)
	if err != nil {
		return out, err
	}
	err = st.GetContext(ctx, &out,
		d.TenantID, d.ID, status, nullTime(r.NextAttemptAt), nullInt(r.StatusCode), r.Error, d.NextAttemptAt,
		r.StartedAt, r.Duration.Milliseconds(), r.Outcome)
	if errors.Is(normalize(err), ErrNotFound) {
		return out, ErrLeaseLost
	}
	return out, err
}

// recordAttemptQuery is RecordAttempt's statement.
const recordAttemptQuery = `WITH u AS (
			UPDATE delivery SET attempts = attempts + 1, status = $3,
				next_attempt_at = COALESCE($4, next_attempt_at), last_status_code = $5, last_error = left($6, 1000),
				delivered_at = CASE WHEN $3 = 'delivered' THEN now() ELSE delivered_at END
			WHERE tenant_id = $1 AND id = $2 AND status = 'pending' AND next_attempt_at = $7 RETURNING ` + deliveryColumns + `),
		a AS (
			INSERT INTO delivery_attempt (tenant_id, delivery_id, attempt, started_at, duration_ms, status_code, outcome, error)
			SELECT u.tenant_id, u.id, u.attempts, $8, $9, $5, $10, left($6, 1000) FROM u)
		SELECT * FROM u`

// attemptReq is one attempt waiting to be recorded in a batch.
type attemptReq struct {
	d      Delivery
	r      AttemptResult
	status string
	done   chan struct{}
	out    Delivery
	err    error
}

// recordAttemptsQuery records many attempts in one statement, each fenced
// by its delivery's own lease.
const recordAttemptsQuery = `WITH x AS (
		SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[], $5::int[], $6::text[], $7::timestamptz[],
			$8::timestamptz[], $9::bigint[], $10::text[])
			AS x (tenant_id, id, status, next_at, status_code, error, lease, started, duration_ms, outcome)),
	u AS (
		UPDATE delivery d SET attempts = d.attempts + 1, status = x.status,
			next_attempt_at = COALESCE(x.next_at, d.next_attempt_at), last_status_code = x.status_code, last_error = left(x.error, 1000),
			delivered_at = CASE WHEN x.status = 'delivered' THEN now() ELSE d.delivered_at END
		FROM x WHERE d.tenant_id = x.tenant_id AND d.id = x.id AND d.status = 'pending' AND d.next_attempt_at = x.lease
		RETURNING ` + "d.id, d.tenant_id, d.destination_id, d.run_id, d.event, d.title, d.status, d.attempts, d.next_attempt_at, " + `
			d.last_status_code, d.last_error, ''::bytea AS payload, d.created_at, d.delivered_at,
			x.started, x.duration_ms, x.outcome, x.error AS attempt_error),
	a AS (
		INSERT INTO delivery_attempt (tenant_id, delivery_id, attempt, started_at, duration_ms, status_code, outcome, error)
		SELECT u.tenant_id, u.id, u.attempts, u.started, u.duration_ms, u.last_status_code, u.outcome, left(u.attempt_error, 1000) FROM u)
	SELECT id, tenant_id, destination_id, run_id, event, title, status, attempts, next_attempt_at, last_status_code, last_error,
		payload, created_at, delivered_at FROM u`

// writeAttempts records a batch of attempts; if the batch fails as a
// whole, each is recorded alone, so one bad attempt fails only itself.
func (s *Store) writeAttempts(batch []*attemptReq) {
	writeBatchOrEach(batch, func(q *attemptReq) chan struct{} { return q.done }, s.writeAttemptBatch,
		func(ctx context.Context, q *attemptReq) { q.out, q.err = s.recordAttempt(ctx, q.d, q.r, q.status) })
}

func (s *Store) writeAttemptBatch(ctx context.Context, batch []*attemptReq) error {
	n := len(batch)
	tenants, ids, statuses, errs := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	nexts, leases := make([]sql.NullString, n), make([]string, n)
	codes := make([]sql.NullInt64, n)
	started, durations, outcomes := make([]string, n), make([]int64, n), make([]string, n)
	for i, q := range batch {
		tenants[i], ids[i], statuses[i], errs[i] = q.d.TenantID, q.d.ID, q.status, q.r.Error
		if !q.r.NextAttemptAt.IsZero() {
			nexts[i] = sql.NullString{String: pgTime(q.r.NextAttemptAt), Valid: true}
		}
		if q.r.StatusCode != 0 {
			codes[i] = sql.NullInt64{Int64: int64(q.r.StatusCode), Valid: true}
		}
		leases[i], started[i], durations[i], outcomes[i] = pgTime(q.d.NextAttemptAt), pgTime(q.r.StartedAt), q.r.Duration.Milliseconds(), q.r.Outcome
	}
	st, err := s.hot(ctx, recordAttemptsQuery)
	if err != nil {
		return err
	}
	var rows []Delivery
	if err := st.SelectContext(ctx, &rows, pq.StringArray(tenants), pq.StringArray(ids), pq.StringArray(statuses), pq.Array(nexts),
		pq.Array(codes), pq.StringArray(errs), pq.StringArray(leases), pq.StringArray(started), pq.Int64Array(durations),
		pq.StringArray(outcomes)); err != nil {
		return err
	}
	byID := make(map[string]*attemptReq, n)
	for _, q := range batch {
		byID[q.d.ID] = q
		q.out, q.err = Delivery{}, ErrLeaseLost // unless the batch recorded it
	}
	for _, row := range rows {
		if q := byID[row.ID]; q != nil {
			q.out, q.err = row, nil
		}
	}
	return nil
}

func nullInt(n int) any {
	if n == 0 {
		return nil
	}
	return n
}

// GetDelivery returns one of the tenant's deliveries, payload included.
func (s *Store) GetDelivery(ctx context.Context, tenantID, id string) (Delivery, error) {
	if !validUUID(id) {
		return Delivery{}, ErrNotFound
	}
	var d Delivery
	err := s.db.GetContext(ctx, &d, `SELECT `+deliveryColumns+` FROM delivery WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	return d, normalize(err)
}

// ListDeliveries returns a destination's latest deliveries (no payloads).
func (s *Store) ListDeliveries(ctx context.Context, tenantID, destinationID string, limit int) ([]Delivery, error) {
	out := []Delivery{}
	if !validUUID(destinationID) {
		return out, ErrNotFound
	}
	err := s.db.SelectContext(ctx, &out, `SELECT `+deliveryListColumns+` FROM delivery WHERE tenant_id = $1 AND destination_id = $2
		ORDER BY created_at DESC LIMIT $3`, tenantID, destinationID, limit)
	return out, err
}

// ListAttempts returns a delivery's attempts in order.
func (s *Store) ListAttempts(ctx context.Context, tenantID, deliveryID string) ([]DeliveryAttempt, error) {
	out := []DeliveryAttempt{}
	err := s.db.SelectContext(ctx, &out, `SELECT attempt, started_at, duration_ms, status_code, outcome, error FROM delivery_attempt
		WHERE tenant_id = $1 AND delivery_id = $2 ORDER BY attempt`, tenantID, deliveryID)
	return out, err
}

// RetryDelivery puts a failed delivery back in the queue, due now, audited.
func (s *Store) RetryDelivery(ctx context.Context, actor User, id, ip string) (Delivery, error) {
	if !validUUID(id) {
		return Delivery{}, ErrNotFound
	}
	var d Delivery
	err := s.withTx(ctx, func(tx *sqlxTx) error {
		// A hand retry gets the whole retry schedule again.
		if err := tx.GetContext(ctx, &d, `UPDATE delivery SET status = 'pending', next_attempt_at = now(), attempts = 0
			WHERE tenant_id = $1 AND id = $2 AND status = 'failed' RETURNING `+deliveryColumns, actor.TenantID, id); err != nil {
			return normalize(err)
		}
		return recordAudit(ctx, tx, AuditEntry{TenantID: actor.TenantID, ActorID: actor.ID, ActorLabel: actor.DisplayName(),
			Action: "delivery.retry", TargetType: "delivery", TargetID: id, IP: ip})
	})
	return d, err
}

// QueueEmailDelivery turns an email delivery into outbox emails (one per
// address, attachments included) and marks it delivered, in one
// transaction: the outbox then owns retries, and nothing is sent twice.
func (s *Store) QueueEmailDelivery(ctx context.Context, d Delivery, mails []Email, r AttemptResult) (Delivery, error) {
	var out Delivery
	err := s.withTx(ctx, func(tx *sqlxTx) error {
		for _, m := range mails {
			m.TenantID = d.TenantID
			if err := enqueueEmail(ctx, tx, m); err != nil {
				return err
			}
		}
		if err := tx.GetContext(ctx, &out, `UPDATE delivery SET attempts = attempts + 1, status = 'delivered', delivered_at = now(),
				last_error = '', last_status_code = NULL
			WHERE tenant_id = $1 AND id = $2 AND status = 'pending' AND next_attempt_at = $3 RETURNING `+deliveryColumns,
			d.TenantID, d.ID, d.NextAttemptAt); err != nil {
			if errors.Is(normalize(err), ErrNotFound) {
				return ErrLeaseLost
			}
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO delivery_attempt (tenant_id, delivery_id, attempt, started_at, duration_ms, outcome, error)
			VALUES ($1, $2, $3, $4, $5, 'delivered', $6)`, d.TenantID, d.ID, out.Attempts, r.StartedAt, r.Duration.Milliseconds(), r.Error)
		return err
	})
	return out, err
}
