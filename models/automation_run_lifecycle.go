package models

import (
	"context"
	"encoding/json"
	"errors"
	"time"
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
	res, err := json.Marshal(result)
	if err != nil {
		return r, err
	}
	lg, err := json.Marshal(logs)
	if err != nil {
		return r, err
	}
	status, msg := RunCompleted, ""
	if runErr != nil {
		status, msg = RunFailed, runErr.Error()
	}
	var out Run
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
			if err := applyRunEffects(ctx, tx, r.TenantID, r.AutomationID, r.ID, now, effects); err != nil {
				return err
			}
		}
		var a Automation
		if err := tx.GetContext(ctx, &a, `UPDATE automation SET last_run = $3, run_count = run_count + 1,
				error_count = error_count + CASE WHEN $4 THEN 1 ELSE 0 END,
				consecutive_failures = CASE WHEN $4 THEN consecutive_failures + 1 ELSE 0 END
			WHERE tenant_id = $1 AND id = $2 RETURNING `+automationColumns, r.TenantID, r.AutomationID, now, runErr != nil); err != nil {
			return normalize(err)
		}
		var streak int
		if err := tx.GetContext(ctx, &streak, `SELECT consecutive_failures FROM automation WHERE id = $1`, a.ID); err != nil {
			return err
		}
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
		return mailAdmins(ctx, tx, a.TenantID, notice(a))
	})
	return out, err
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
