package models

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/lib/pq"
)

// MaxConsecutiveFailures moves an automation to status error.
const MaxConsecutiveFailures = 5

// RunLog is one step of a run's log.
type RunLog struct {
	At      time.Time `json:"at"`
	Level   string    `json:"level"` // info, warn, error
	Message string    `json:"message"`
}

// ErrRunBusy means another run of the same automation is running; the
// caller hands this one back to start later.
var ErrRunBusy = errors.New("another run of this automation is running")

// StartRun marks a leased run as running, fenced by its lease: a worker
// whose lease ran out (and was reclaimed) gets ErrLeaseLost; a second run
// of an automation that is already running gets ErrRunBusy.
func (s *Store) StartRun(ctx context.Context, r Run, now time.Time, lease time.Duration) (Run, error) {
	var out Run
	err := s.db.GetContext(ctx, &out, `UPDATE automation_run SET status = 'running', started_at = $3, lease_until = $4
		WHERE tenant_id = $1 AND id = $2 AND status = 'queued' AND lease_until = $5 RETURNING `+runColumns,
		r.TenantID, r.ID, now, now.Add(lease), r.LeaseUntil)
	switch err := normalize(err); {
	case errors.Is(err, ErrNotFound):
		return r, ErrLeaseLost
	case errors.Is(err, ErrConflict):
		return r, ErrRunBusy
	case err != nil:
		return r, err
	}
	return out, nil
}

// FinishRun records a run's end: completed with its result, or failed
// with its error. Counters move with it: run_count, error_count and the
// failure streak; the fifth failure in a row puts the automation in status
// error and queues notice(a) to the tenant's admins.
func (s *Store) FinishRun(ctx context.Context, r Run, now time.Time, result any, logs []RunLog, runErr error, notice func(Automation) Email) (Run, error) {
	return s.FinishRunWith(ctx, r, now, result, logs, runErr, RunEffects{}, notice)
}

// FinishRunWith is FinishRun that also commits the run's effects (alert
// state, sync cursors, deliveries) when it completed, in the same
// transaction and behind the same lease check: a worker whose lease was
// lost (ErrLeaseLost) leaves no trace, and a retried attempt of the run
// cannot queue a delivery twice. A failed run commits no effects.
func (s *Store) FinishRunWith(ctx context.Context, r Run, now time.Time, result any, logs []RunLog, runErr error, effects RunEffects, notice func(Automation) Email) (Run, error) {
	out, _, err := s.FinishRunLeasing(ctx, r, now, result, logs, runErr, effects, notice, time.Time{})
	return out, err
}

// FinishRunLeasing is FinishRunWith whose deliveries are written already
// leased to the caller until deliveriesLeased (zero: due now, for the
// queue), and returned (as written, payload included), so the caller makes
// their first attempt at once (notify.Dispatcher.AttemptNow). A caller that
// dies first leaves them to the queue when the lease runs out. Deliveries
// a retried attempt of the run had already written are not returned.
//
// A run that completed with nothing but deliveries (a report) is ended in
// one statement: the run's end, its deliveries and the automation's
// counters, all or nothing, fenced by the lease.
func (s *Store) FinishRunLeasing(ctx context.Context, r Run, now time.Time, result any, logs []RunLog, runErr error, effects RunEffects,
	notice func(Automation) Email, deliveriesLeased time.Time) (Run, []Delivery, error) {
	res, err := json.Marshal(result)
	if err != nil {
		return r, nil, err
	}
	lg, err := json.Marshal(logs)
	if err != nil {
		return r, nil, err
	}
	due := now
	if !deliveriesLeased.IsZero() {
		due = deliveriesLeased.Truncate(time.Microsecond) // as stored: the lease fences the attempt
	}
	if runErr == nil && len(effects.AlertStates) == 0 && len(effects.SyncCursors) == 0 {
		return s.finishCombined(r, now, res, lg, effects.Deliveries, due)
	}
	status, msg := RunCompleted, ""
	if runErr != nil {
		status, msg = RunFailed, runErr.Error()
	}
	var out Run
	var written []Delivery
	err = s.withTx(ctx, func(tx *sqlxTx) error {
		if err := tx.GetContext(ctx, &out, `UPDATE automation_run SET status = $3, completed_at = greatest($4, started_at),
				result = $5, error_message = NULLIF(left($6, 2000), ''), logs = $7, lease_until = NULL
			WHERE tenant_id = $1 AND id = $2 AND status IN ('queued', 'running') AND lease_until = $8 RETURNING `+runColumns,
			r.TenantID, r.ID, status, now, res, msg, lg, r.LeaseUntil); err != nil {
			if errors.Is(normalize(err), ErrNotFound) {
				return ErrLeaseLost
			}
			return err
		}
		if runErr == nil {
			var err error
			if written, err = applyRunEffects(ctx, tx, r.TenantID, r.AutomationID, r.ID, now, due, effects); err != nil {
				return err
			}
		}
		var a struct {
			Automation
			Streak int `db:"consecutive_failures"`
		}
		if err := tx.GetContext(ctx, &a, `UPDATE automation SET last_run = $3, run_count = run_count + 1,
				error_count = error_count + CASE WHEN $4 THEN 1 ELSE 0 END,
				consecutive_failures = CASE WHEN $4 THEN consecutive_failures + 1 ELSE 0 END
			WHERE tenant_id = $1 AND id = $2 RETURNING `+automationColumns+`, consecutive_failures`,
			r.TenantID, r.AutomationID, now, runErr != nil); err != nil {
			return normalize(err)
		}
		streak := a.Streak
		if runErr == nil || streak != MaxConsecutiveFailures || a.Status != AutomationActive {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE automation SET status = 'error' WHERE id = $1`, a.ID); err != nil {
			return err
		}
		if err := recordAudit(ctx, tx, AuditEntry{TenantID: a.TenantID, ActorLabel: "scheduler", Action: "automation.error",
			TargetType: "automation", TargetID: a.ID, After: map[string]any{"failures_in_a_row": streak, "last_error": msg}}); err != nil {
			return err
		}
		if notice == nil {
			return nil
		}
		return mailAdmins(ctx, tx, a.TenantID, notice(a.Automation))
	})
	if err != nil {
		return out, nil, err
	}
	return out, written, nil
}

// finishCompletedQuery is finishCompleted's statement.
const finishCompletedQuery = `WITH r AS (
			UPDATE automation_run SET status = 'completed', completed_at = greatest($3, started_at),
				result = $4, error_message = NULL, logs = $5, lease_until = NULL
			WHERE tenant_id = $1 AND id = $2 AND status IN ('queued', 'running') AND lease_until = $6
			RETURNING ` + runColumns + `),
		d AS (
			INSERT INTO delivery (tenant_id, destination_id, run_id, seq, event, title, payload, next_attempt_at)
			SELECT r.tenant_id, u.destination_id, r.id, u.seq, u.event, left(u.title, 300), convert_to(u.payload, 'UTF8'), $7
			FROM r, unnest($8::uuid[], $9::int[], $10::text[], $11::text[], $12::text[]) AS u (destination_id, seq, event, title, payload)
			ON CONFLICT (run_id, seq) DO NOTHING
			RETURNING id, seq),
		a AS (
			UPDATE automation SET last_run = $3, run_count = run_count + 1, consecutive_failures = 0
			FROM r WHERE automation.tenant_id = r.tenant_id AND automation.id = r.automation_id
			RETURNING automation.id)
		SELECT r.*, ARRAY(SELECT id::text FROM d ORDER BY seq) AS delivery_ids, ARRAY(SELECT seq FROM d ORDER BY seq) AS delivery_seqs,
			now() AS delivery_created
		FROM r, (SELECT count(*) FROM a) AS counted`

// finishCompleted ends a run that completed with deliveries as its only
// effects, in one statement (one round trip, one commit): nothing of it is
// written unless the run's lease still holds. Payloads (JSON, so UTF-8)
// travel as text and become bytea in the server: half the bytes of bytea's
// hex form, and no encoding work on either side.
func (s *Store) finishCompleted(ctx context.Context, r Run, now time.Time, res, lg []byte, ds []DeliveryInput, due time.Time) (Run, []Delivery, error) {
	dests := make([]string, len(ds))
	seqs := make([]int64, len(ds))
	events := make([]string, len(ds))
	titles := make([]string, len(ds))
	payloads := make([]string, len(ds))
	for i, d := range ds {
		dests[i], seqs[i], events[i], titles[i], payloads[i] = d.DestinationID, int64(i), d.Event, d.Title, string(d.Payload)
	}
	var row struct {
		Run
		DeliveryIDs  pq.StringArray `db:"delivery_ids"`
		DeliverySeqs pq.Int64Array  `db:"delivery_seqs"`
		CreatedAt    time.Time      `db:"delivery_created"`
	}
	st, err := s.hot(ctx, finishCompletedQuery)
	if err != nil {
		return r, nil, err
	}
	err = st.GetContext(ctx, &row,

		r.TenantID, r.ID, now, res, lg, r.LeaseUntil, due,
		pq.StringArray(dests), pq.Int64Array(seqs), pq.StringArray(events), pq.StringArray(titles), pq.StringArray(payloads))
	if err != nil {
		if errors.Is(normalize(err), ErrNotFound) {
			return r, nil, ErrLeaseLost
		}
		return r, nil, err
	}
	written := make([]Delivery, len(row.DeliveryIDs))
	for i, id := range row.DeliveryIDs {
		in := ds[row.DeliverySeqs[i]]
		runID, seq := row.Run.ID, int(row.DeliverySeqs[i])
		written[i] = Delivery{ID: id, Seq: &seq, TenantID: row.Run.TenantID, DestinationID: in.DestinationID, RunID: &runID, Event: in.Event,
			Title: truncateRunes(in.Title, 300), Status: DeliveryPending, NextAttemptAt: due, Payload: in.Payload, CreatedAt: row.CreatedAt}
	}
	return row.Run, written, nil
}

func truncateRunes(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

// QueueManualRun queues a run now (Run now, /report): trigger manual,
// leased to the caller, whatever the schedule says.
func (s *Store) QueueManualRun(ctx context.Context, tenantID, automationID string, now time.Time, lease time.Duration) (Run, error) {
	if !validUUID(automationID) {
		return Run{}, ErrNotFound
	}
	var out Run
	err := s.db.GetContext(ctx, &out, `INSERT INTO automation_run (tenant_id, automation_id, status, trigger, started_at, lease_until)
		SELECT tenant_id, id, 'queued', 'manual', $3, $4 FROM automation WHERE tenant_id = $1 AND id = $2 AND status <> 'stopped'
		RETURNING `+runColumns, tenantID, automationID, now, now.Add(lease))
	return out, normalize(err)
}

// finishReq is one completed run's end, waiting to be written in a batch.
type finishReq struct {
	r       Run
	now     time.Time
	res, lg []byte
	ds      []DeliveryInput
	due     time.Time
	done    chan struct{}
	out     Run
	deliver []Delivery
	err     error
}

// finishCompletedBatchQuery ends many completed runs in one statement,
// each fenced by its own lease: a run whose lease no longer holds is left
// as it is, and neither its deliveries nor its automation's counters are
// written.
const finishCompletedBatchQuery = `WITH u AS (
		SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::timestamptz[], $5::text[], $6::text[])
			AS u (tenant_id, id, lease, finished, result, logs)),
	r AS (
		UPDATE automation_run ar SET status = 'completed', completed_at = greatest(u.finished, ar.started_at),
			result = u.result::jsonb, error_message = NULL, logs = u.logs::jsonb, lease_until = NULL
		FROM u WHERE ar.tenant_id = u.tenant_id AND ar.id = u.id AND ar.status IN ('queued', 'running') AND ar.lease_until = u.lease
		RETURNING ` + `ar.id, ar.tenant_id, ar.automation_id, ar.status, ar.trigger, ar.scheduled_for, ar.started_at, ar.completed_at,
			ar.lease_until, ar.attempt, ar.event_id, u.finished),
	d AS (
		INSERT INTO delivery (tenant_id, destination_id, run_id, seq, event, title, payload, next_attempt_at)
		SELECT r.tenant_id, x.destination_id, r.id, x.seq, x.event, left(x.title, 300), convert_to(x.payload, 'UTF8'), x.due
		FROM unnest($7::uuid[], $8::uuid[], $9::int[], $10::text[], $11::text[], $12::text[], $13::timestamptz[])
			AS x (run_id, destination_id, seq, event, title, payload, due)
		JOIN r ON r.id = x.run_id
		ON CONFLICT (run_id, seq) DO NOTHING
		RETURNING id, run_id, seq),
	a AS (
		UPDATE automation SET last_run = c.last, run_count = run_count + c.n, consecutive_failures = 0
		FROM (SELECT tenant_id, automation_id, count(*) AS n, max(finished) AS last FROM r GROUP BY tenant_id, automation_id) c
		WHERE automation.tenant_id = c.tenant_id AND automation.id = c.automation_id
		RETURNING automation.id)
	SELECT r.id, r.tenant_id, r.automation_id, r.status, r.trigger, r.scheduled_for, r.started_at, r.completed_at,
		r.lease_until, r.attempt, r.event_id,
		ARRAY(SELECT d.id::text FROM d WHERE d.run_id = r.id ORDER BY d.seq) AS delivery_ids,
		ARRAY(SELECT d.seq FROM d WHERE d.run_id = r.id ORDER BY d.seq) AS delivery_seqs,
		now() AS delivery_created
	FROM r, (SELECT count(*) FROM a) AS counted`

// finishCombined ends a completed run through the store's combiner: with
// the runs other workers are ending at the same moment, in one statement.
func (s *Store) finishCombined(r Run, now time.Time, res, lg []byte, ds []DeliveryInput, due time.Time) (Run, []Delivery, error) {
	req := &finishReq{r: r, now: now, res: res, lg: lg, ds: ds, due: due, done: make(chan struct{})}
	s.combiners().finish.do(req)
	<-req.done
	return req.out, req.deliver, req.err
}

// writeFinishes writes a batch of runs' ends; if the batch fails as a
// whole, each run is written alone, so one bad run fails only itself.
func (s *Store) writeFinishes(batch []*finishReq) {
	writeBatchOrEach(batch, func(q *finishReq) chan struct{} { return q.done }, s.writeFinishBatch,
		func(ctx context.Context, q *finishReq) {
			q.out, q.deliver, q.err = s.finishCompleted(ctx, q.r, q.now, q.res, q.lg, q.ds, q.due)
		})
}

func (s *Store) writeFinishBatch(ctx context.Context, batch []*finishReq) error {
	n := len(batch)
	tenants, ids, leases, nows := make([]string, n), make([]string, n), make([]sql.NullString, n), make([]string, n)
	results, logs := make([]string, n), make([]string, n)
	var dRuns, dDests, dEvents, dTitles, dDue []string
	var dSeqs []int64
	var dPayloads []string
	for i, q := range batch {
		tenants[i], ids[i], nows[i], results[i], logs[i] = q.r.TenantID, q.r.ID, pgTime(q.now), string(q.res), string(q.lg)
		if q.r.LeaseUntil != nil {
			leases[i] = sql.NullString{String: pgTime(*q.r.LeaseUntil), Valid: true}
		}
		for j, d := range q.ds {
			dRuns, dDests, dEvents, dTitles = append(dRuns, q.r.ID), append(dDests, d.DestinationID), append(dEvents, d.Event), append(dTitles, d.Title)
			dSeqs, dPayloads, dDue = append(dSeqs, int64(j)), append(dPayloads, string(d.Payload)), append(dDue, pgTime(q.due))
		}
	}
	st, err := s.hot(ctx, finishCompletedBatchQuery)
	if err != nil {
		return err
	}
	var rows []struct {
		Run
		DeliveryIDs  pq.StringArray `db:"delivery_ids"`
		DeliverySeqs pq.Int64Array  `db:"delivery_seqs"`
		CreatedAt    time.Time      `db:"delivery_created"`
	}
	if err := st.SelectContext(ctx, &rows, pq.StringArray(tenants), pq.StringArray(ids), pq.Array(leases), pq.StringArray(nows),
		pq.StringArray(results), pq.StringArray(logs),
		pq.StringArray(dRuns), pq.StringArray(dDests), pq.Int64Array(dSeqs), pq.StringArray(dEvents), pq.StringArray(dTitles),
		pq.StringArray(dPayloads), pq.StringArray(dDue)); err != nil {
		return err
	}
	byID := make(map[string]*finishReq, n)
	for _, q := range batch {
		byID[q.r.ID] = q
		q.out, q.err = q.r, ErrLeaseLost // unless the batch ended it
	}
	for _, row := range rows {
		q := byID[row.Run.ID]
		if q == nil {
			continue
		}
		q.out, q.err = row.Run, nil
		q.deliver = make([]Delivery, len(row.DeliveryIDs))
		for i, id := range row.DeliveryIDs {
			in := q.ds[row.DeliverySeqs[i]]
			runID, seq := row.Run.ID, int(row.DeliverySeqs[i])
			q.deliver[i] = Delivery{ID: id, Seq: &seq, TenantID: row.Run.TenantID, DestinationID: in.DestinationID, RunID: &runID,
				Event: in.Event, Title: truncateRunes(in.Title, 300), Status: DeliveryPending, NextAttemptAt: q.due, Payload: in.Payload,
				CreatedAt: row.CreatedAt}
		}
	}
	return nil
}
