package models

import (
	"context"
	"encoding/json"
)

// ConversionActions are the action types a Facebook ad account counts as
// conversions (meta.conversion_actions); nil means the platform default.
func (c Connection) ConversionActions() []string {
	var m struct {
		Actions []string `json:"conversion_actions"`
	}
	_ = json.Unmarshal(c.Meta, &m) // meta is only written from maps
	return m.Actions
}

// SetConversionActions stores which action types count as conversions for
// one connection (empty: back to the default) and audits the change.
func (s *Store) SetConversionActions(ctx context.Context, actor User, id string, actions []string, ip string) (Connection, error) {
	if !validUUID(id) {
		return Connection{}, ErrNotFound
	}
	var value any
	if len(actions) > 0 {
		value = actions
	}
	raw, err := json.Marshal(value)
	if err != nil {
		return Connection{}, err
	}
	var c Connection
	err = s.withTx(ctx, func(tx *sqlxTx) error {
		var before Connection
		if err := tx.GetContext(ctx, &before, `SELECT `+connectionColumns+` FROM ad_token WHERE tenant_id = $1 AND id = $2 FOR UPDATE`,
			actor.TenantID, id); err != nil {
			return normalize(err)
		}
		if err := tx.GetContext(ctx, &c, `UPDATE ad_token SET meta = CASE WHEN $3::jsonb = 'null'::jsonb THEN meta - 'conversion_actions'
				ELSE jsonb_set(meta, '{conversion_actions}', $3::jsonb) END
			WHERE tenant_id = $1 AND id = $2 RETURNING `+connectionColumns, actor.TenantID, id, string(raw)); err != nil {
			return err
		}
		return recordAudit(ctx, tx, AuditEntry{
			TenantID: actor.TenantID, ActorID: actor.ID, ActorLabel: actor.DisplayName(), Action: "connection.settings",
			TargetType: "connection", TargetID: id, IP: ip,
			Before: map[string]any{"conversion_actions": before.ConversionActions()},
			After:  map[string]any{"conversion_actions": c.ConversionActions()},
		})
	})
	return c, err
}
