-- Accounts: platform operators, the auth epoch that ends sessions and JWTs,
-- one-time tokens (email verification, password reset, invitations), revoked
-- JWTs, the email outbox, the audit log and shared rate-limit counters.

-- +migrate Up
ALTER TABLE app_user
    ADD COLUMN is_platform_admin boolean NOT NULL DEFAULT false,
    -- Bumped on password change or reset: every session and JWT carrying an
    -- older epoch stops being accepted.
    ADD COLUMN auth_epoch integer NOT NULL DEFAULT 0,
    -- Set for a member invited but not yet joined (no password yet).
    ADD COLUMN invited_at timestamptz;

CREATE TABLE user_token (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id  uuid NOT NULL,
    user_id    uuid NOT NULL,
    purpose    text NOT NULL CHECK (purpose IN ('verify_email', 'reset_password', 'invitation')),
    -- SHA-256 of the token sent by email; the token itself is never stored.
    token_hash bytea NOT NULL UNIQUE,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, user_id) REFERENCES app_user (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX user_token_user_idx ON user_token (user_id, purpose);

-- JWTs ended by POST /auth/logout before their expiry.
CREATE TABLE revoked_token (
    jti        uuid PRIMARY KEY,
    expires_at timestamptz NOT NULL
);

CREATE TABLE email_outbox (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id       uuid REFERENCES tenant (id) ON DELETE CASCADE,
    to_address      text NOT NULL,
    subject         text NOT NULL,
    text_body       text NOT NULL,
    html_body       text NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
CREATE INDEX email_outbox_due_idx ON email_outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX email_outbox_created_idx ON email_outbox (created_at DESC);

CREATE TABLE audit_log (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id   uuid REFERENCES tenant (id) ON DELETE CASCADE,
    actor_id    uuid,
    actor_label text NOT NULL DEFAULT '',
    action      text NOT NULL,
    target_type text NOT NULL DEFAULT '',
    target_id   text NOT NULL DEFAULT '',
    ip          text NOT NULL DEFAULT '',
    before      jsonb,
    after       jsonb,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_tenant_idx ON audit_log (tenant_id, created_at DESC);
CREATE INDEX audit_log_created_idx ON audit_log (created_at DESC);

-- Fixed-window counters shared by every replica (log-in, sign-up, ... limits).
CREATE TABLE rate_limit (
    key          text NOT NULL,
    window_start timestamptz NOT NULL,
    hits         integer NOT NULL DEFAULT 0,
    PRIMARY KEY (key, window_start)
);
CREATE INDEX rate_limit_window_idx ON rate_limit (window_start);

-- +migrate Down
DROP TABLE rate_limit;
DROP TABLE audit_log;
DROP TABLE email_outbox;
DROP TABLE revoked_token;
DROP TABLE user_token;
ALTER TABLE app_user DROP COLUMN invited_at, DROP COLUMN auth_epoch, DROP COLUMN is_platform_admin;
