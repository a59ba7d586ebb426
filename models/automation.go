package models

import (
	"context"
	"encoding/json"
	"time"
)

// Automation statuses.
const (
	AutomationActive  = "active"
	AutomationPaused  = "paused"
	AutomationStopped = "stopped"
	AutomationError   = "error"
)

// Automation is a scheduled report, alert or data sync. (The editor and the
// engine come with the automation issue; the bot lists and steers them.)
type Automation struct {
	ID               string          `db:"id"`
	TenantID         string          `db:"tenant_id"`
	DestinationID    *string         `db:"destination_id"`
	Name             string          `db:"name"`
	Type             string          `db:"type"`
	Status           string          `db:"status"`
	ScheduleConfig   json.RawMessage `db:"schedule_config"`
	AutomationConfig json.RawMessage `db:"automation_config"`
	LastRun          *time.Time      `db:"last_run"`
	NextRun          *time.Time      `db:"next_run"`
	RunCount         int             `db:"run_count"`
	ErrorCount       int             `db:"error_count"`
	CreatedAt        time.Time       `db:"created_at"`
}

const automationColumns = `id, tenant_id, destination_id, name, type, status, schedule_config, automation_config,
	last_run, next_run, run_count, error_count, created_at`

// ListAutomations returns the tenant's automations by name.
func (s *Store) ListAutomations(ctx context.Context, tenantID string) ([]Automation, error) {
	out := []Automation{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+automationColumns+` FROM automation WHERE tenant_id = $1
		ORDER BY lower(name), created_at`, tenantID)
	return out, err
}

// GetAutomation returns one of the tenant's automations.
func (s *Store) GetAutomation(ctx context.Context, tenantID, id string) (Automation, error) {
	if !validUUID(id) {
		return Automation{}, ErrNotFound
	}
	var a Automation
	err := s.db.GetContext(ctx, &a, `SELECT `+automationColumns+` FROM automation WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	return a, normalize(err)
}

// FindAutomationByName returns the tenant's automation with this name
// (case-insensitive), for /report <name>.
func (s *Store) FindAutomationByName(ctx context.Context, tenantID, name string) (Automation, error) {
	var a Automation
	err := s.db.GetContext(ctx, &a, `SELECT `+automationColumns+` FROM automation WHERE tenant_id = $1 AND lower(name) = lower($2)
		ORDER BY created_at LIMIT 1`, tenantID, name)
	return a, normalize(err)
}

// SetAutomationStatus pauses (paused), resumes (active) or stops an
// automation, audited; via says where (web, telegram).
func (s *Store) SetAutomationStatus(ctx context.Context, actor User, id, status, via, ip string) (Automation, error) {
	if !validUUID(id) {
		return Automation{}, ErrNotFound
	}
	var before, a Automation
	err := s.withTx(ctx, func(tx *sqlxTx) error {
		if err := tx.GetContext(ctx, &before, `SELECT `+automationColumns+` FROM automation WHERE tenant_id = $1 AND id = $2 FOR UPDATE`,
			actor.TenantID, id); err != nil {
			return normalize(err)
		}
		if err := tx.GetContext(ctx, &a, `UPDATE automation SET status = $3 WHERE tenant_id = $1 AND id = $2 RETURNING `+automationColumns,
			actor.TenantID, id, status); err != nil {
			return err
		}
		return recordAudit(ctx, tx, AuditEntry{TenantID: actor.TenantID, ActorID: actor.ID, ActorLabel: actor.DisplayName(),
			Action: "automation.status", TargetType: "automation", TargetID: id, IP: ip,
			Before: map[string]string{"status": before.Status}, After: map[string]string{"status": status, "via": via}})
	})
	return a, err
}

// RequestRun makes an active automation due now ("Run now"): the
// dispatcher picks it up at its next tick.
func (s *Store) RequestRun(ctx context.Context, actor User, id, via, ip string) (Automation, error) {
	if !validUUID(id) {
		return Automation{}, ErrNotFound
	}
	var a Automation
	err := s.withTx(ctx, func(tx *sqlxTx) error {
		if err := tx.GetContext(ctx, &a, `UPDATE automation SET next_run = now() WHERE tenant_id = $1 AND id = $2 AND status = 'active'
			RETURNING `+automationColumns, actor.TenantID, id); err != nil {
			return normalize(err)
		}
		return recordAudit(ctx, tx, AuditEntry{TenantID: actor.TenantID, ActorID: actor.ID, ActorLabel: actor.DisplayName(),
			Action: "automation.run_now", TargetType: "automation", TargetID: id, IP: ip, After: map[string]string{"via": via}})
	})
	return a, err
}

// RunSummary is one recent run, for /status and the dashboard.
type RunSummary struct {
	AutomationName string     `db:"automation_name"`
	Status         string     `db:"status"`
	StartedAt      time.Time  `db:"started_at"`
	CompletedAt    *time.Time `db:"completed_at"`
	Error          string     `db:"error_message"`
}

// RecentRuns returns the tenant's latest runs.
func (s *Store) RecentRuns(ctx context.Context, tenantID string, limit int) ([]RunSummary, error) {
	out := []RunSummary{}
	err := s.db.SelectContext(ctx, &out, `SELECT a.name AS automation_name, r.status, r.started_at, r.completed_at,
			COALESCE(r.error_message, '') AS error_message
		FROM automation_run r JOIN automation a ON a.tenant_id = r.tenant_id AND a.id = r.automation_id
		WHERE r.tenant_id = $1 ORDER BY r.started_at DESC LIMIT $2`, tenantID, limit)
	return out, err
}
