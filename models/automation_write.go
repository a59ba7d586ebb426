package models

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// AutomationInput creates or edits an automation. Schedule and Config are
// validated JSON; NextRun is computed by the caller from the schedule.
type AutomationInput struct {
	Name          string
	Type          string
	DestinationID string // "" = none
	ConnectionIDs []string
	Schedule      json.RawMessage
	Config        json.RawMessage
	Status        string // active or paused
	NextRun       time.Time
}

// CreateAutomation adds an automation with its connections, audited.
// A connection or destination of another tenant is ErrNotFound.
func (s *Store) CreateAutomation(ctx context.Context, actor User, in AutomationInput, ip string) (Automation, error) {
	var a Automation
	err := s.withTx(ctx, func(tx *sqlxTx) error {
		id := uuid.NewString()
		if err := tx.GetContext(ctx, &a, `INSERT INTO automation (id, tenant_id, destination_id, name, type, status,
				schedule_config, automation_config, next_run)
			VALUES ($1, $2, NULLIF($3, '')::uuid, $4, $5, $6, $7, $8, $9) RETURNING `+automationColumns,
			id, actor.TenantID, in.DestinationID, in.Name, in.Type, in.Status, in.Schedule, in.Config, nullTime(in.NextRun)); err != nil {
			return foreignKeyNotFound(err)
		}
		if err := setAutomationConnections(ctx, tx, actor.TenantID, a.ID, in.ConnectionIDs); err != nil {
			return err
		}
		return recordAudit(ctx, tx, AuditEntry{TenantID: actor.TenantID, ActorID: actor.ID, ActorLabel: actor.DisplayName(),
			Action: "automation.create", TargetType: "automation", TargetID: a.ID, IP: ip,
			After: map[string]any{"name": a.Name, "type": a.Type, "schedule": a.ScheduleConfig, "config": a.AutomationConfig}})
	})
	return a, err
}

// UpdateAutomation edits an automation (its type stays), audited.
func (s *Store) UpdateAutomation(ctx context.Context, actor User, id string, in AutomationInput, ip string) (Automation, error) {
	if !validUUID(id) {
		return Automation{}, ErrNotFound
	}
	var before, a Automation
	err := s.withTx(ctx, func(tx *sqlxTx) error {
		if err := tx.GetContext(ctx, &before, `SELECT `+automationColumns+` FROM automation WHERE tenant_id = $1 AND id = $2 FOR UPDATE`,
			actor.TenantID, id); err != nil {
			return normalize(err)
		}
		if err := tx.GetContext(ctx, &a, `UPDATE automation SET destination_id = NULLIF($3, '')::uuid, name = $4, status = $5,
				schedule_config = $6, automation_config = $7, next_run = $8,
				consecutive_failures = CASE WHEN $5 = 'active' THEN 0 ELSE consecutive_failures END
			WHERE tenant_id = $1 AND id = $2 RETURNING `+automationColumns,
			actor.TenantID, id, in.DestinationID, in.Name, in.Status, in.Schedule, in.Config, nullTime(in.NextRun)); err != nil {
			return foreignKeyNotFound(err)
		}
		if err := setAutomationConnections(ctx, tx, actor.TenantID, a.ID, in.ConnectionIDs); err != nil {
			return err
		}
		return recordAudit(ctx, tx, AuditEntry{TenantID: actor.TenantID, ActorID: actor.ID, ActorLabel: actor.DisplayName(),
			Action: "automation.update", TargetType: "automation", TargetID: a.ID, IP: ip,
			Before: map[string]any{"name": before.Name, "status": before.Status, "schedule": before.ScheduleConfig, "config": before.AutomationConfig},
			After:  map[string]any{"name": a.Name, "status": a.Status, "schedule": a.ScheduleConfig, "config": a.AutomationConfig}})
	})
	return a, err
}

// DeleteAutomation removes an automation with its runs, audited.
func (s *Store) DeleteAutomation(ctx context.Context, actor User, id, ip string) (Automation, error) {
	if !validUUID(id) {
		return Automation{}, ErrNotFound
	}
	var a Automation
	err := s.withTx(ctx, func(tx *sqlxTx) error {
		if err := tx.GetContext(ctx, &a, `DELETE FROM automation WHERE tenant_id = $1 AND id = $2 RETURNING `+automationColumns,
			actor.TenantID, id); err != nil {
			return normalize(err)
		}
		return recordAudit(ctx, tx, AuditEntry{TenantID: actor.TenantID, ActorID: actor.ID, ActorLabel: actor.DisplayName(),
			Action: "automation.delete", TargetType: "automation", TargetID: a.ID, IP: ip, Before: map[string]any{"name": a.Name, "type": a.Type}})
	})
	return a, err
}

// AutomationConnectionIDs lists the connection ids an automation reads.
func (s *Store) AutomationConnectionIDs(ctx context.Context, tenantID, automationID string) ([]string, error) {
	out := []string{}
	err := s.db.SelectContext(ctx, &out, `SELECT connection_id FROM automation_connection WHERE tenant_id = $1 AND automation_id = $2
		ORDER BY connection_id`, tenantID, automationID)
	return out, err
}

// foreignKeyNotFound maps a reference to another tenant's (or a missing)
// destination onto ErrNotFound.
func foreignKeyNotFound(err error) error {
	if isForeignKeyViolation(err) {
		return ErrNotFound
	}
	return normalize(err)
}

// RunDetail is a run with its result, logs and deliveries, for run history.
type RunDetail struct {
	Run
	Result json.RawMessage `db:"result"`
	Error  string          `db:"error_message"`
	Logs   json.RawMessage `db:"logs"`
}

const runDetailColumns = runColumns + `, COALESCE(result, 'null'::jsonb) AS result, COALESCE(error_message, '') AS error_message, logs`

// ListRuns returns an automation's runs (automationID "" = the tenant's),
// newest first.
func (s *Store) ListRuns(ctx context.Context, tenantID, automationID string, limit, offset int) ([]RunDetail, error) {
	out := []RunDetail{}
	if automationID != "" && !validUUID(automationID) {
		return out, ErrNotFound
	}
	err := s.db.SelectContext(ctx, &out, `SELECT `+runDetailColumns+` FROM automation_run
		WHERE tenant_id = $1 AND ($2 = '' OR automation_id = NULLIF($2, '')::uuid)
		ORDER BY started_at DESC, id LIMIT $3 OFFSET $4`, tenantID, automationID, limit, max(offset, 0))
	return out, err
}

// GetRun returns one of the tenant's runs.
func (s *Store) GetRun(ctx context.Context, tenantID, id string) (RunDetail, error) {
	if !validUUID(id) {
		return RunDetail{}, ErrNotFound
	}
	var r RunDetail
	err := s.db.GetContext(ctx, &r, `SELECT `+runDetailColumns+` FROM automation_run WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	return r, normalize(err)
}

// RunDeliveries returns the deliveries a run made.
func (s *Store) RunDeliveries(ctx context.Context, tenantID, runID string) ([]Delivery, error) {
	out := []Delivery{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+deliveryListColumns+` FROM delivery WHERE tenant_id = $1 AND run_id = $2
		ORDER BY created_at`, tenantID, runID)
	return out, err
}
