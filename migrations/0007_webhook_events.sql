-- Incoming platform webhooks (Facebook, TikTok): every event is stored
-- before the delivery is answered, once per platform and dedupe key, then
-- processed by a job with a lease, retries and a final failed state. One
-- event can concern several tenants (a Page connected by several teams):
-- each gets its own webhook_event_match row, with what processing fetched
-- for it (a lead) and the automations it set off. The event itself belongs
-- to no tenant: unmatched events are kept for operators.

-- +migrate Up
CREATE TABLE webhook_event (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    platform        text NOT NULL CHECK (platform IN ('facebook', 'tiktok')),
    -- facebook.leadgen, facebook.feed, tiktok.authorization.removed, …
    event_type      text NOT NULL CHECK (event_type <> ''),
    -- The same for every delivery of one event (leadgen:<id>, mid:<id>, or a hash).
    dedupe_key      text NOT NULL CHECK (dedupe_key <> ''),
    -- The account the event is about: a Page id, a Facebook user id, a TikTok open_id.
    object_id       text NOT NULL DEFAULT '',
    payload         jsonb NOT NULL,
    status          text NOT NULL DEFAULT 'received'
        CHECK (status IN ('received', 'processed', 'unmatched', 'failed')),
    -- Claims so far; a claim moves next_attempt_at a lease ahead, so an
    -- event whose worker died is taken up again when the lease ends.
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text NOT NULL DEFAULT '',
    occurred_at     timestamptz, -- the platform's time, when it gave one
    received_at     timestamptz NOT NULL DEFAULT now(),
    processed_at    timestamptz,
    UNIQUE (platform, dedupe_key),
    CHECK ((status = 'received') = (processed_at IS NULL))
);
CREATE INDEX webhook_event_due_idx ON webhook_event (next_attempt_at) WHERE status = 'received';
CREATE INDEX webhook_event_received_idx ON webhook_event (received_at);

CREATE TABLE webhook_event_match (
    tenant_id      uuid NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
    event_id       uuid NOT NULL REFERENCES webhook_event (id) ON DELETE CASCADE,
    -- The connection the event matched through. No foreign key: the
    -- tenant's record of the event outlives a disconnect.
    connection_id  uuid NOT NULL,
    status         text NOT NULL DEFAULT 'received' CHECK (status IN ('received', 'processed', 'failed')),
    -- What processing fetched for this tenant (a lead's fields), once fetched.
    data           jsonb,
    -- The event automations it set off, and their runs.
    automation_ids uuid[] NOT NULL DEFAULT '{}',
    run_ids        uuid[] NOT NULL DEFAULT '{}',
    error          text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    processed_at   timestamptz,
    PRIMARY KEY (event_id, connection_id)
);
CREATE INDEX webhook_event_match_tenant_idx ON webhook_event_match (tenant_id, created_at DESC);

-- +migrate Down
DROP TABLE webhook_event_match;
DROP TABLE webhook_event;
