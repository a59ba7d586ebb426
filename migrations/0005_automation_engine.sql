-- The automation engine: runs that are queued, leased and unique per
-- scheduled slot; the connections each automation reads; alert state per
-- automation and entity; and daily metric snapshots (syncs, reports,
-- alerts and the dashboard read them).

-- +migrate Up
ALTER TABLE automation
    ADD COLUMN consecutive_failures integer NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0);

ALTER TABLE automation_run DROP CONSTRAINT automation_run_status_check;
ALTER TABLE automation_run
    ADD CONSTRAINT automation_run_status_check CHECK (status IN ('queued', 'running', 'completed', 'failed')),
    ADD COLUMN trigger text NOT NULL DEFAULT 'schedule' CHECK (trigger IN ('schedule', 'manual', 'event')),
    -- The schedule slot this run is for; one run per slot, however many
    -- replicas tick at once.
    ADD COLUMN scheduled_for timestamptz,
    -- A worker holds a run until lease_until; an expired lease (a crashed
    -- process) lets another replica take the run up again.
    ADD COLUMN lease_until timestamptz,
    ADD COLUMN attempt integer NOT NULL DEFAULT 1 CHECK (attempt >= 1);
CREATE UNIQUE INDEX automation_run_slot_key ON automation_run (automation_id, scheduled_for) WHERE trigger = 'schedule';
CREATE INDEX automation_run_lease_idx ON automation_run (lease_until) WHERE status IN ('queued', 'running');
-- One running run per automation: a manual run and a scheduled one never
-- read and write the same alert state or snapshots at once.
CREATE UNIQUE INDEX automation_run_one_running_key ON automation_run (automation_id) WHERE status = 'running';

CREATE TABLE automation_connection (
    tenant_id     uuid NOT NULL,
    automation_id uuid NOT NULL,
    connection_id uuid NOT NULL,
    PRIMARY KEY (automation_id, connection_id),
    FOREIGN KEY (tenant_id, automation_id) REFERENCES automation (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, connection_id) REFERENCES ad_token (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX automation_connection_connection_idx ON automation_connection (connection_id);

CREATE TABLE alert_state (
    tenant_id     uuid NOT NULL,
    automation_id uuid NOT NULL,
    entity_key    text NOT NULL, -- connection id + level + entity id
    state         jsonb NOT NULL DEFAULT '{}'::jsonb,
    changed_at    timestamptz NOT NULL DEFAULT now(), -- set by the engine with each decision
    PRIMARY KEY (automation_id, entity_key),
    FOREIGN KEY (tenant_id, automation_id) REFERENCES automation (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE metric_snapshot (
    tenant_id     uuid NOT NULL,
    connection_id uuid NOT NULL,
    level         text NOT NULL CHECK (level IN ('account', 'campaign', 'adset', 'ad')),
    entity_id     text NOT NULL,
    entity_name   text NOT NULL DEFAULT '',
    day           date NOT NULL,
    currency      text NOT NULL DEFAULT '',
    spend         numeric(20, 4) NOT NULL DEFAULT 0,
    impressions   bigint NOT NULL DEFAULT 0,
    clicks        bigint NOT NULL DEFAULT 0,
    conversions   numeric(20, 4) NOT NULL DEFAULT 0,
    revenue       numeric(20, 4) NOT NULL DEFAULT 0,
    fetched_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (connection_id, level, entity_id, day),
    FOREIGN KEY (tenant_id, connection_id) REFERENCES ad_token (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX metric_snapshot_tenant_day_idx ON metric_snapshot (tenant_id, level, day);

-- +migrate Down
DROP TABLE metric_snapshot;
DROP TABLE alert_state;
DROP TABLE automation_connection;
DROP INDEX automation_run_one_running_key;
DROP INDEX automation_run_lease_idx;
DROP INDEX automation_run_slot_key;
DELETE FROM automation_run WHERE status = 'queued';
ALTER TABLE automation_run
    DROP COLUMN attempt,
    DROP COLUMN lease_until,
    DROP COLUMN scheduled_for,
    DROP COLUMN trigger,
    DROP CONSTRAINT automation_run_status_check;
ALTER TABLE automation_run ADD CONSTRAINT automation_run_status_check CHECK (status IN ('running', 'completed', 'failed'));
ALTER TABLE automation DROP COLUMN consecutive_failures;
