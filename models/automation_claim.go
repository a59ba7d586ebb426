package models

import (
	"context"
	"time"
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

// ClaimDueRuns takes up to limit due automations (across tenants), moves
// each one's next_run on and queues a run for the slot it was due at, all
// in one transaction. Rows another replica is claiming are skipped (FOR
// UPDATE SKIP LOCKED), and the unique (automation, scheduled_for) key makes
// a second run of one slot impossible even if two replicas raced anyway. A
// slot missed during downtime runs once: next is counted from now. The
// runs come back leased to the caller until now+lease.
func (s *Store) ClaimDueRuns(ctx context.Context, now time.Time, limit int, lease time.Duration, next NextRunFunc) ([]Run, error) {
	var out []Run
	err := s.withTx(ctx, func(tx *sqlxTx) error {
		out = out[:0]
		var due []Automation
		// An automation whose connection is invalid waits (its last run
		// said why) and runs once when the connection is reconnected.
		if err := tx.SelectContext(ctx, &due, `SELECT `+automationColumns+` FROM automation a
			WHERE status = 'active' AND next_run <= $1
				AND NOT EXISTS (SELECT 1 FROM automation_connection ac JOIN ad_token t ON t.id = ac.connection_id
					WHERE ac.automation_id = a.id AND NOT t.is_valid)
			ORDER BY next_run LIMIT $2 FOR UPDATE SKIP LOCKED`, now, limit); err != nil {
			return err
		}
		for _, a := range due {
			n, err := next(a, now)
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
			if _, err := tx.ExecContext(ctx, `UPDATE automation SET next_run = $2 WHERE id = $1`, a.ID, n); err != nil {
				return err
			}
			var runs []Run
			if err := tx.SelectContext(ctx, &runs, `INSERT INTO automation_run
					(tenant_id, automation_id, status, trigger, scheduled_for, started_at, lease_until)
				VALUES ($1, $2, 'queued', 'schedule', $3, $4, $5)
				ON CONFLICT (automation_id, scheduled_for) WHERE trigger = 'schedule' DO NOTHING
				RETURNING `+runColumns, a.TenantID, a.ID, a.NextRun, now, now.Add(lease)); err != nil {
				return err
			}
			out = append(out, runs...)
		}
		return nil
	})
	if err != nil {
		return nil, err // rolled back: none of these runs exist
	}
	return out, nil
}

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
