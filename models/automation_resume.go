package models

import (
	"context"
	"time"
)

// ResumeAutomation makes a paused, stopped or failed automation active
// again, audited. Its next run is counted from now (next computes it under
// the row lock), so a long pause does not end with an immediate catch-up
// run, and its failure streak starts over. A zero next time (an event
// automation, which no schedule sets off) leaves next_run empty.
func (s *Store) ResumeAutomation(ctx context.Context, actor User, id, via, ip string,
	next func(Automation) (time.Time, error)) (Automation, error) {
	if !validUUID(id) {
		return Automation{}, ErrNotFound
	}
	var before, a Automation
	err := s.withTx(ctx, func(tx *sqlxTx) error {
		if err := tx.GetContext(ctx, &before, `SELECT `+automationColumns+` FROM automation WHERE tenant_id = $1 AND id = $2 FOR UPDATE`,
			actor.TenantID, id); err != nil {
			return normalize(err)
		}
		at, err := next(before)
		if err != nil {
			return err
		}
		if err := tx.GetContext(ctx, &a, `UPDATE automation SET status = 'active', next_run = $3, consecutive_failures = 0
			WHERE tenant_id = $1 AND id = $2 RETURNING `+automationColumns, actor.TenantID, id, nullTime(at)); err != nil {
			return err
		}
		return recordAudit(ctx, tx, AuditEntry{TenantID: actor.TenantID, ActorID: actor.ID, ActorLabel: actor.DisplayName(),
			Action: "automation.status", TargetType: "automation", TargetID: id, IP: ip,
			Before: map[string]string{"status": before.Status}, After: map[string]string{"status": AutomationActive, "via": via}})
	})
	return a, err
}
