package models

import "context"

// RunListItem is a run with its automation's name and type, for run
// history lists.
type RunListItem struct {
	RunDetail
	AutomationName string `db:"automation_name"`
	AutomationType string `db:"automation_type"`
}

// ListRunsNamed is ListRuns with each run's automation name and type, in
// one query (lists show them on every row).
func (s *Store) ListRunsNamed(ctx context.Context, tenantID, automationID string, limit, offset int) ([]RunListItem, error) {
	out := []RunListItem{}
	if automationID != "" && !validUUID(automationID) {
		return out, ErrNotFound
	}
	err := s.db.SelectContext(ctx, &out, `SELECT `+prefixColumns(runColumns, "r.")+`, COALESCE(r.result, 'null'::jsonb) AS result,
			COALESCE(r.error_message, '') AS error_message, r.logs, a.name AS automation_name, a.type AS automation_type
		FROM automation_run r JOIN automation a ON a.tenant_id = r.tenant_id AND a.id = r.automation_id
		WHERE r.tenant_id = $1 AND ($2 = '' OR r.automation_id = NULLIF($2, '')::uuid)
		ORDER BY r.started_at DESC, r.id LIMIT $3 OFFSET $4`, tenantID, automationID, limit, max(offset, 0))
	return out, err
}
