package models

import (
	"context"
	"errors"
	"time"
)

// QueueEventRun queues the run of an event automation for one webhook
// event, leased to the caller, at most once per (automation, event): a
// second call (the event's processing retried) returns the existing run
// with created false, so the caller runs it only if it is not finished.
// An automation that is not an active alert of the tenant is ErrNotFound.
func (s *Store) QueueEventRun(ctx context.Context, tenantID, automationID, eventID string, now time.Time, lease time.Duration) (run Run, created bool, err error) {
	if !validUUID(automationID) || !validUUID(eventID) {
		return Run{}, false, ErrNotFound
	}
	err = s.db.GetContext(ctx, &run, `INSERT INTO automation_run (tenant_id, automation_id, status, trigger, started_at, lease_until, event_id)
		SELECT tenant_id, id, 'queued', 'event', $4, $5, $3 FROM automation
		WHERE tenant_id = $1 AND id = $2 AND status = 'active' AND type = 'alert'
		ON CONFLICT (automation_id, event_id) WHERE event_id IS NOT NULL DO NOTHING
		RETURNING `+runColumns, tenantID, automationID, eventID, now, now.Add(lease))
	if err == nil {
		return run, true, nil
	}
	if err = normalize(err); !errors.Is(err, ErrNotFound) {
		return Run{}, false, err
	}
	// Already queued for this event, or not an active alert.
	err = s.db.GetContext(ctx, &run, `SELECT `+runColumns+` FROM automation_run
		WHERE tenant_id = $1 AND automation_id = $2 AND event_id = $3`, tenantID, automationID, eventID)
	return run, false, normalize(err)
}
