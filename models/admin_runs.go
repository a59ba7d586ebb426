package models

import (
	"context"
	"errors"
	"time"
)

// AdminRunFilter selects failed runs across tenants.
type AdminRunFilter struct {
	Since    time.Time // runs started at or after
	Search   string    // substring of the automation's or tenant's name, or the error
	TenantID string
	Limit    int
	Offset   int
}

// ListFailedRuns returns a page of failed runs of every tenant, newest
// first, and how many match.
func (s *Store) ListFailedRuns(ctx context.Context, f AdminRunFilter) ([]AdminRunRow, int, error) {
	if f.TenantID != "" && !validUUID(f.TenantID) {
		return []AdminRunRow{}, 0, nil
	}
	const where = ` WHERE r.status = 'failed' AND r.started_at >= $1
		AND ($2 = '' OR a.name ILIKE $2 ESCAPE '\' OR t.name ILIKE $2 ESCAPE '\' OR r.error_message ILIKE $2 ESCAPE '\')
		AND ($3 = '' OR r.tenant_id = NULLIF($3, '')::uuid)`
	pattern := likePattern(f.Search)
	var total int
	if err := s.db.GetContext(ctx, &total, `SELECT count(*) FROM automation_run r
		JOIN automation a ON a.tenant_id = r.tenant_id AND a.id = r.automation_id JOIN tenant t ON t.id = r.tenant_id`+where,
		f.Since, pattern, f.TenantID); err != nil {
		return nil, 0, err
	}
	out := []AdminRunRow{}
	err := s.db.SelectContext(ctx, &out, adminRunSelect+where+` ORDER BY r.started_at DESC, r.id LIMIT $4 OFFSET $5`,
		f.Since, pattern, f.TenantID, pageLimit(f.Limit), max(f.Offset, 0))
	return out, total, err
}

// Reasons a failed run cannot be retried.
var (
	ErrRunNotFailed    = errors.New("only a failed run can be retried")
	ErrTenantInactive  = errors.New("the tenant is deactivated")
	ErrAutomationGone  = errors.New("the automation is stopped")
	ErrAlreadyRetrying = errors.New("the automation already has a run queued or running")
)

// RetryFailedRun queues a manual run of a failed run's automation, leased
// to the caller until now+lease so the caller executes it at once (as Run
// now does), and audits it, in one transaction. If the caller dies before
// running it, the lease runs out and a replica takes the run up.
func (s *Store) RetryFailedRun(ctx context.Context, actor User, runID, ip string, now time.Time, lease time.Duration) (Run, error) {
	if !validUUID(runID) {
		return Run{}, ErrNotFound
	}
	var out Run
	err := s.withTx(ctx, func(tx *sqlxTx) error {
		var failed struct {
			Run
			AutomationStatus string `db:"automation_status"`
			TenantActive     bool   `db:"tenant_active"`
		}
		if err := tx.GetContext(ctx, &failed, `SELECT `+prefixColumns(runColumns, "r.")+`, a.status AS automation_status,
				t.is_active AS tenant_active
			FROM automation_run r JOIN automation a ON a.tenant_id = r.tenant_id AND a.id = r.automation_id
			JOIN tenant t ON t.id = r.tenant_id
			WHERE r.id = $1 FOR UPDATE OF a`, runID); err != nil {
			return normalize(err)
		}
		switch {
		case failed.Status != "failed":
			return ErrRunNotFailed
		case !failed.TenantActive:
			return ErrTenantInactive
		case failed.AutomationStatus == AutomationStopped:
			return ErrAutomationGone
		}
		var pending int
		if err := tx.GetContext(ctx, &pending, `SELECT count(*) FROM automation_run
			WHERE tenant_id = $1 AND automation_id = $2 AND status IN ('queued', 'running')`, failed.TenantID, failed.AutomationID); err != nil {
			return err
		}
		if pending > 0 {
			return ErrAlreadyRetrying
		}
		if err := tx.GetContext(ctx, &out, `INSERT INTO automation_run (tenant_id, automation_id, status, trigger, started_at, lease_until)
			VALUES ($1, $2, 'queued', 'manual', $3, $4) RETURNING `+runColumns,
			failed.TenantID, failed.AutomationID, now, now.Add(lease)); err != nil {
			return normalize(err)
		}
		return recordAudit(ctx, tx, AuditEntry{TenantID: failed.TenantID, ActorID: actor.ID, ActorLabel: operatorLabel(actor),
			Action: "run.retry", TargetType: "automation", TargetID: failed.AutomationID, IP: ip,
			Before: map[string]string{"run_id": failed.ID}, After: map[string]string{"run_id": out.ID}})
	})
	return out, err
}
