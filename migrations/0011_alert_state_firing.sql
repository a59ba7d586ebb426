-- The dashboard lists a tenant's firing alerts: a partial index keeps that
-- read from scanning every tenant's alert states.

-- +migrate Up
CREATE INDEX alert_state_firing_idx ON alert_state (tenant_id, changed_at DESC) WHERE state->>'firing' = 'true';

-- +migrate Down
DROP INDEX alert_state_firing_idx;
