package models

import (
	"context"
	"time"
)

// RequestManualRun is "Run now" by a member (the Telegram bot's /report
// and Run now buttons): a manual run of an active automation is queued,
// leased to the caller until now+lease so the caller executes it at once,
// and the request is audited, in one transaction. A paused, stopped or
// unknown automation is ErrNotFound. If the caller dies before running it,
// the lease runs out and another replica takes the run up.
func (s *Store) RequestManualRun(ctx context.Context, actor User, id, via, ip string, now time.Time, lease time.Duration) (Automation, Run, error) {
	if !validUUID(id) {
		return Automation{}, Run{}, ErrNotFound
	}
	var a Automation
	var r Run
	err := s.withTx(ctx, func(tx *sqlxTx) error {
		if err := tx.GetContext(ctx, &a, `SELECT `+automationColumns+` FROM automation
			WHERE tenant_id = $1 AND id = $2 AND status = 'active' FOR UPDATE`, actor.TenantID, id); err != nil {
			return normalize(err)
		}
		if err := tx.GetContext(ctx, &r, `INSERT INTO automation_run (tenant_id, automation_id, status, trigger, started_at, lease_until)
			VALUES ($1, $2, 'queued', 'manual', $3, $4) RETURNING `+runColumns, a.TenantID, a.ID, now, now.Add(lease)); err != nil {
			return normalize(err)
		}
		return recordAudit(ctx, tx, AuditEntry{TenantID: actor.TenantID, ActorID: actor.ID, ActorLabel: actor.DisplayName(),
			Action: "automation.run_now", TargetType: "automation", TargetID: id, IP: ip,
			After: map[string]string{"via": via, "run_id": r.ID}})
	})
	return a, r, err
}
