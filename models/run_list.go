package models

import "context"

// RunListItem is a run with its automation's name and type, for run
// history lists.
type RunListItem struct {
	RunDetail
	AutomationName string `db:"automation_name"`
	AutomationType string `db:"automation_type"`
}

// ListRunsNamed is ListRuns with each run's automation name and type (lists
// show them on every row), without the step logs (a run's page shows
// them). The page of runs is picked first, on the (tenant or automation,
// started_at) index, and only then joined to the automations.
func (s *Store) ListRunsNamed(ctx context.Context, tenantID, automationID string, limit, offset int) ([]RunListItem, error) {
	out := []RunListItem{}
	where := `tenant_id = $1`
	args := []any{tenantID, limit, max(offset, 0)}
	if automationID != "" {
		if !validUUID(automationID) {
			return out, ErrNotFound
		}
		where = `tenant_id = $1 AND automation_id = $4`
		args = append(args, automationID)
	}
	err := s.db.SelectContext(ctx, &out, `SELECT `+prefixColumns(runColumns, "r.")+`, COALESCE(r.result, 'null'::jsonb) AS result,
			COALESCE(r.error_message, '') AS error_message, '[]'::jsonb AS logs, a.name AS automation_name, a.type AS automation_type
		FROM (SELECT * FROM automation_run WHERE `+where+` ORDER BY started_at DESC, id LIMIT $2 OFFSET $3) r
		JOIN automation a ON a.tenant_id = r.tenant_id AND a.id = r.automation_id
		ORDER BY r.started_at DESC, r.id`, args...)
	return out, err
}
