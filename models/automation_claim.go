package models

import (
	"context"
	"time"

	"github.com/lib/pq"
)

// Run statuses and triggers.
const (
	RunQueued    = "queued"
	RunRunning   = "running"
	RunCompleted = "completed"
	RunFailed    = "failed"

	TriggerSchedule = "schedule"
	TriggerManual   = "manual"
	TriggerEvent    = "event"
)

// Run is one execution of an automation.
type Run struct {
	ID           string     `db:"id"`
	TenantID     string     `db:"tenant_id"`
	AutomationID string     `db:"automation_id"`
	Status       string     `db:"status"`
	Trigger      string     `db:"trigger"`
	ScheduledFor *time.Time `db:"scheduled_for"`
	StartedAt    time.Time  `db:"started_at"`
	CompletedAt  *time.Time `db:"completed_at"`
	LeaseUntil   *time.Time `db:"lease_until"`
	Attempt      int        `db:"attempt"`
	EventID      *string    `db:"event_id"` // the webhook event that set off an event run
}

const runColumns = `id, tenant_id, automation_id, status, trigger, scheduled_for, started_at, completed_at, lease_until, attempt, event_id`

// NextRunFunc computes an automation's next run after now (its schedule,
// in its zone). An error means the schedule is broken: the automation
// moves to status error instead of running.
type NextRunFunc func(a Automation, now time.Time) (time.Time, error)

// NextRunInFunc is NextRunFunc given the zones the schedule may be in (the
// tenant's and the account zone of the automation's first connection), so
// the claim computes every next run without asking the database again.
type NextRunInFunc func(a Automation, tenantTZ, accountTZ string, now time.Time) (time.Time, error)

// dueAutomation is a claimed automation with the zones of its schedule.
type dueAutomation struct {
	Automation
	TenantTZ  string `db:"tenant_tz"`
	AccountTZ string `db:"account_tz"`
}

// ClaimedRun is a run the scheduler claimed, with the automation it runs
// as the claim read it (its runtime is loaded by LoadRunRuntimes).
type ClaimedRun struct {
	Run        Run
	Automation Automation
}

// ClaimDueRuns takes up to limit due automations (across tenants), moves
// each one's next_run on and queues a run for the slot it was due at, all
// in one transaction. Rows another replica is claiming are skipped (FOR
// UPDATE SKIP LOCKED), and the unique (automation, scheduled_for) key makes
// a second run of one slot impossible even if two replicas raced anyway. A
// slot missed during downtime runs once: next is counted from now. The
// runs come back leased to the caller until now+lease.
func (s *Store) ClaimDueRuns(ctx context.Context, now time.Time, limit int, lease time.Duration, next NextRunFunc) ([]Run, error) {
	claimed, err := s.claimDue(ctx, now, limit, lease, false, func(a dueAutomation) (time.Time, error) { return next(a.Automation, now) })
	out := make([]Run, len(claimed))
	for i, c := range claimed {
		out[i] = c.Run
	}
	return out, err
}

// ClaimAndStartDueRuns is ClaimDueRuns that also starts the runs (the
// scheduler's claim, which hands them straight to its workers): each run
// is inserted running, leased to the caller until now+lease, as StartRun
// would leave it. A slot whose automation already has a run running (a
// Run now under way) is queued instead, exactly as ClaimDueRuns does, and
// comes back queued: Execute then finds it busy and retries it later. Its
// zones are read in the claim's own query, so the whole batch costs a
// handful of statements whatever its size.
func (s *Store) ClaimAndStartDueRuns(ctx context.Context, now time.Time, limit int, lease time.Duration, next NextRunInFunc) ([]ClaimedRun, error) {
	return s.claimDue(ctx, now, limit, lease, true, func(a dueAutomation) (time.Time, error) {
		return next(a.Automation, a.TenantTZ, a.AccountTZ, now)
	})
}

func (s *Store) claimDue(ctx context.Context, now time.Time, limit int, lease time.Duration, start bool,
	next func(dueAutomation) (time.Time, error)) ([]ClaimedRun, error) {
	var out []ClaimedRun
	err := s.withTx(ctx, func(tx *sqlxTx) error {
		out = out[:0]
		var due []dueAutomation
		// An automation whose connection is invalid waits (its last run
		// said why) and runs once when the connection is reconnected; a
		// deactivated tenant's automations wait until it is reactivated.
		if err := tx.SelectContext(ctx, &due, `SELECT `+prefixColumns(automationColumns, "a.")+`,
				COALESCE(t.settings->>'timezone', '') AS tenant_tz, COALESCE(c.account_tz, '') AS account_tz
			FROM automation a JOIN tenant t ON t.id = a.tenant_id
			LEFT JOIN LATERAL (
				SELECT bool_and(tk.is_valid) AS valid,
					(array_agg(tk.meta->>'timezone_name' ORDER BY ac.connection_id))[1] AS account_tz
				FROM automation_connection ac JOIN ad_token tk ON tk.tenant_id = ac.tenant_id AND tk.id = ac.connection_id
				WHERE ac.tenant_id = a.tenant_id AND ac.automation_id = a.id) c ON true
			WHERE a.status = 'active' AND a.next_run <= $1 AND c.valid IS NOT FALSE AND t.is_active
			ORDER BY a.next_run LIMIT $2 FOR UPDATE OF a SKIP LOCKED`, now, limit); err != nil {
			return err
		}
		if len(due) == 0 {
			return nil
		}
		byID := make(map[string]Automation, len(due))
		var ids, tenants, nexts, slots []string
		for _, a := range due {
			n, err := next(a)
			if err != nil {
				if _, err := tx.ExecContext(ctx, `UPDATE automation SET status = 'error', next_run = NULL WHERE id = $1`, a.ID); err != nil {
					return err
				}
				if err := recordAudit(ctx, tx, AuditEntry{TenantID: a.TenantID, ActorLabel: "scheduler", Action: "automation.schedule_error",
					TargetType: "automation", TargetID: a.ID, After: map[string]string{"error": err.Error()}}); err != nil {
					return err
				}
				continue
			}
			byID[a.ID] = a.Automation
			ids, tenants = append(ids, a.ID), append(tenants, a.TenantID)
			nexts, slots = append(nexts, pgTime(n)), append(slots, pgTime(*a.NextRun))
		}
		if len(ids) == 0 {
			return nil
		}
		// Zero next runs (event automations: never due again) become NULL.
		if _, err := tx.ExecContext(ctx, `UPDATE automation a SET next_run = NULLIF(u.next, '0001-01-01 00:00:00+00'::timestamptz)
			FROM unnest($1::uuid[], $2::timestamptz[]) AS u (id, next) WHERE a.id = u.id`,
			pq.StringArray(ids), pq.StringArray(nexts)); err != nil {
			return err
		}
		var runs []Run
		status, conflict := RunQueued, `(automation_id, scheduled_for) WHERE trigger = 'schedule'`
		if start {
			// Any conflict: the slot's run exists already (nothing to do) or
			// the automation has a run running (queued below instead).
			status, conflict = RunRunning, ``
		}
		if err := tx.SelectContext(ctx, &runs, `INSERT INTO automation_run
				(tenant_id, automation_id, status, trigger, scheduled_for, started_at, lease_until)
			SELECT u.tenant_id, u.id, $4, 'schedule', u.slot, $5, $6
			FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[]) AS u (id, tenant_id, slot)
			ON CONFLICT `+conflict+` DO NOTHING
			RETURNING `+runColumns, pq.StringArray(ids), pq.StringArray(tenants), pq.StringArray(slots), status, now, now.Add(lease)); err != nil {
			return err
		}
		if start && len(runs) < len(ids) {
			got := make(map[string]bool, len(runs))
			for _, r := range runs {
				got[r.AutomationID] = true
			}
			var busyIDs, busyTenants, busySlots []string
			for i, id := range ids {
				if !got[id] {
					busyIDs, busyTenants, busySlots = append(busyIDs, id), append(busyTenants, tenants[i]), append(busySlots, slots[i])
				}
			}
			var queued []Run
			if err := tx.SelectContext(ctx, &queued, `INSERT INTO automation_run
					(tenant_id, automation_id, status, trigger, scheduled_for, started_at, lease_until)
				SELECT u.tenant_id, u.id, 'queued', 'schedule', u.slot, $4, $5
				FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[]) AS u (id, tenant_id, slot)
				ON CONFLICT (automation_id, scheduled_for) WHERE trigger = 'schedule' DO NOTHING
				RETURNING `+runColumns, pq.StringArray(busyIDs), pq.StringArray(busyTenants), pq.StringArray(busySlots),
				now, now.Add(lease)); err != nil {
				return err
			}
			runs = append(runs, queued...)
		}
		out = make([]ClaimedRun, len(runs))
		for i, r := range runs {
			out[i] = ClaimedRun{Run: r, Automation: byID[r.AutomationID]}
		}
		return nil
	})
	if err != nil {
		return nil, err // rolled back: none of these runs exist
	}
	return out, nil
}

// pgTime formats t for a timestamptz[] parameter, to the microsecond.
func pgTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.999999Z07:00") }

// MaxRunAttempts bounds retries of a run whose worker died: a run that
// crashes its worker must not crash every replica in turn.
const MaxRunAttempts = 3

// ReclaimExpiredRuns takes up runs whose lease ran out (their process
// crashed or stalled): each is leased to the caller again. A run that had
// started counts as a retry (attempt+1); one still queued (claimed, never
// started) just moves to a live worker.
func (s *Store) ReclaimExpiredRuns(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]Run, error) {
	out := []Run{}
	err := s.db.SelectContext(ctx, &out, `UPDATE automation_run SET status = 'queued', lease_until = $2,
			attempt = attempt + CASE WHEN status = 'running' THEN 1 ELSE 0 END
		WHERE id IN (SELECT r.id FROM automation_run r JOIN automation a ON a.id = r.automation_id
			WHERE r.status IN ('queued', 'running') AND r.lease_until < $1 AND r.attempt < $4
				AND (a.status = 'active' OR r.trigger <> 'schedule')
			ORDER BY r.lease_until LIMIT $3 FOR UPDATE OF r SKIP LOCKED)
		RETURNING `+runColumns, now, now.Add(lease), limit, MaxRunAttempts)
	if err != nil {
		return out, err
	}
	// Runs that used up their attempts are failed for good.
	_, err = s.db.ExecContext(ctx, `UPDATE automation_run SET status = 'failed', completed_at = greatest($1, started_at),
			error_message = 'the run was interrupted ' || attempt || ' times (its worker stopped or crashed); it was given up',
			lease_until = NULL
		WHERE status IN ('queued', 'running') AND lease_until < $1 AND attempt >= $2`, now, MaxRunAttempts)
	return out, err
}

// ReleaseRun hands a run back to the queue untouched (a worker shutting
// down): another replica takes it up at once, and nothing is counted. It
// is fenced by the run's lease: a worker whose lease ran out (and whose
// run another replica took up) does not pull the run from under it.
func (s *Store) ReleaseRun(ctx context.Context, r Run, now time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE automation_run SET status = 'queued', lease_until = $3
		WHERE tenant_id = $1 AND id = $2 AND status IN ('queued', 'running') AND lease_until = $4`, r.TenantID, r.ID, now, r.LeaseUntil)
	return err
}
