-- Destinations and delivery: webhook signing secrets (vault-encrypted),
-- deactivation with a reason, Telegram link codes, the durable delivery
-- queue with one row per attempt, and email attachments in the outbox.

-- +migrate Up
ALTER TABLE destination
    ADD COLUMN secret_enc bytea,
    ADD COLUMN deactivated_reason text NOT NULL DEFAULT '',
    ADD COLUMN deactivated_at timestamptz;
-- One destination per Telegram chat and tenant: linking a chat twice updates it.
CREATE UNIQUE INDEX destination_telegram_chat_key ON destination (tenant_id, (config->>'chat_id'))
    WHERE type = 'telegram_chat';
CREATE INDEX destination_telegram_chat_idx ON destination ((config->>'chat_id')) WHERE type = 'telegram_chat';

-- "Add Telegram chat": a one-time code (stored hashed) for /start <code>.
CREATE TABLE telegram_link (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id      uuid NOT NULL,
    user_id        uuid NOT NULL,
    code_hash      bytea NOT NULL UNIQUE,
    expires_at     timestamptz NOT NULL,
    used_at        timestamptz,
    destination_id uuid,
    chat_title     text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, user_id) REFERENCES app_user (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, destination_id) REFERENCES destination (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX telegram_link_expires_idx ON telegram_link (expires_at);

-- A delivery is written before it is attempted; the queue claims due rows.
CREATE TABLE delivery (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id        uuid NOT NULL,
    destination_id   uuid NOT NULL,
    run_id           uuid, -- the automation run it reports (runs are pruned: no key)
    event            text NOT NULL,
    title            text NOT NULL DEFAULT '',
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_status_code integer,
    last_error       text NOT NULL DEFAULT '',
    payload          bytea NOT NULL, -- the notify.Message as JSON
    created_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, destination_id) REFERENCES destination (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX delivery_due_idx ON delivery (next_attempt_at) WHERE status = 'pending';
CREATE INDEX delivery_destination_idx ON delivery (destination_id, created_at DESC);
CREATE INDEX delivery_tenant_idx ON delivery (tenant_id, created_at DESC);

CREATE TABLE delivery_attempt (
    id          bigserial PRIMARY KEY,
    tenant_id   uuid NOT NULL,
    delivery_id uuid NOT NULL,
    attempt     integer NOT NULL,
    started_at  timestamptz NOT NULL,
    duration_ms integer NOT NULL DEFAULT 0,
    status_code integer,
    outcome     text NOT NULL CHECK (outcome IN ('delivered', 'retry', 'failed', 'gone', 'migrated')),
    error       text NOT NULL DEFAULT '',
    FOREIGN KEY (tenant_id, delivery_id) REFERENCES delivery (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX delivery_attempt_delivery_idx ON delivery_attempt (delivery_id, attempt);

ALTER TABLE email_outbox ADD COLUMN attachments jsonb NOT NULL DEFAULT '[]'::jsonb;

-- +migrate Down
ALTER TABLE email_outbox DROP COLUMN attachments;
DROP TABLE delivery_attempt;
DROP TABLE delivery;
DROP TABLE telegram_link;
DROP INDEX destination_telegram_chat_idx;
DROP INDEX destination_telegram_chat_key;
ALTER TABLE destination
    DROP COLUMN deactivated_at,
    DROP COLUMN deactivated_reason,
    DROP COLUMN secret_enc;
