-- Side effects of automation runs happen once: each delivery of a run has
-- a sequence number, unique per run, so a retried attempt of the same run
-- cannot queue a message twice; and a data sync remembers, per automation,
-- connection and level, when it last synced and what it pushed (a hash of
-- each row), so two syncs of one connection each push every row new or
-- changed for them.

-- +migrate Up
ALTER TABLE delivery ADD COLUMN seq integer CHECK (seq >= 0);
-- NULLs are distinct: deliveries without a run (Send test) never collide.
CREATE UNIQUE INDEX delivery_run_seq_key ON delivery (run_id, seq);

CREATE TABLE sync_cursor (
    tenant_id     uuid NOT NULL,
    automation_id uuid NOT NULL,
    connection_id uuid NOT NULL,
    level         text NOT NULL CHECK (level IN ('account', 'campaign', 'adset', 'ad')),
    synced_day    date NOT NULL, -- the last day (in the account's zone) of the last successful sync
    synced_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (automation_id, connection_id, level),
    FOREIGN KEY (tenant_id, automation_id) REFERENCES automation (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, connection_id) REFERENCES ad_token (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX sync_cursor_connection_idx ON sync_cursor (connection_id);

-- What a sync pushed, per row key: a row is pushed again when its hash changes.
CREATE TABLE sync_row (
    tenant_id     uuid NOT NULL,
    automation_id uuid NOT NULL,
    connection_id uuid NOT NULL,
    level         text NOT NULL,
    entity_id     text NOT NULL,
    day           date NOT NULL,
    hash          text NOT NULL,
    PRIMARY KEY (automation_id, connection_id, level, entity_id, day),
    FOREIGN KEY (automation_id, connection_id, level) REFERENCES sync_cursor (automation_id, connection_id, level) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, automation_id) REFERENCES automation (tenant_id, id) ON DELETE CASCADE
);

-- +migrate Down
DROP TABLE sync_row;
DROP TABLE sync_cursor;
DROP INDEX delivery_run_seq_key;
ALTER TABLE delivery DROP COLUMN seq;
