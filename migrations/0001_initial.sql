-- The complete schema of the original system: tenants, users, platform
-- connections (ad_token), destinations, automations and their runs.
-- Enumerations are CHECK constraints so later migrations can widen them in a
-- transaction. Every tenant-owned row carries tenant_id; child rows reference
-- (tenant_id, id) so a row can never point into another tenant.

-- +migrate Up

-- +migrate StatementBegin
CREATE FUNCTION set_updated_at() RETURNS trigger AS $$
BEGIN
    NEW.updated_at = now();
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
-- +migrate StatementEnd

CREATE TABLE tenant (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name       text NOT NULL CHECK (btrim(name) <> ''),
    slug       text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    is_active  boolean NOT NULL DEFAULT true,
    settings   jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- "user" is reserved in SQL, hence app_user.
CREATE TABLE app_user (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id        uuid NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
    telegram_user_id bigint,
    email            text CHECK (email = lower(email) AND email LIKE '%_@_%'),
    username         text CHECK (btrim(username) <> ''),
    password_hash    text,
    email_verified   boolean NOT NULL DEFAULT false,
    role             text NOT NULL DEFAULT 'user' CHECK (role IN ('admin', 'user', 'viewer')),
    is_active        boolean NOT NULL DEFAULT true,
    last_login       timestamptz,
    profile_data     jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, telegram_user_id),
    UNIQUE (tenant_id, email),
    UNIQUE (tenant_id, id)
);
CREATE UNIQUE INDEX app_user_tenant_username_key ON app_user (tenant_id, lower(username));
-- Log-in looks people up by email or username across tenants.
CREATE INDEX app_user_email_idx ON app_user (email);
CREATE INDEX app_user_username_idx ON app_user (lower(username));

CREATE TABLE ad_token (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id         uuid NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
    platform          text NOT NULL CHECK (platform IN ('facebook', 'tiktok', 'tiktok_ads', 'demo')),
    account_ref       text NOT NULL CHECK (account_ref <> ''),
    account_name      text NOT NULL DEFAULT '',
    -- AES-256-GCM ciphertexts: key-id byte, nonce, sealed token.
    access_token_enc  bytea NOT NULL,
    refresh_token_enc bytea,
    scope             text NOT NULL DEFAULT '',
    expires_at        timestamptz,
    is_valid          boolean NOT NULL DEFAULT true,
    last_validated    timestamptz,
    meta              jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, platform, account_ref),
    UNIQUE (tenant_id, id)
);
-- Token refresh scans for what expires soonest across tenants.
CREATE INDEX ad_token_expires_idx ON ad_token (expires_at) WHERE is_valid;

CREATE TABLE destination (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id  uuid NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
    name       text NOT NULL CHECK (btrim(name) <> ''),
    type       text NOT NULL CHECK (type IN ('telegram_chat', 'webhook', 'email')),
    config     jsonb NOT NULL DEFAULT '{}'::jsonb,
    is_active  boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, id)
);
CREATE INDEX destination_tenant_idx ON destination (tenant_id, name);

CREATE TABLE automation (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id         uuid NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
    destination_id    uuid,
    name              text NOT NULL CHECK (btrim(name) <> ''),
    type              text NOT NULL CHECK (type IN ('scheduled_report', 'alert', 'data_sync')),
    status            text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'stopped', 'error')),
    schedule_config   jsonb NOT NULL DEFAULT '{}'::jsonb,
    automation_config jsonb NOT NULL DEFAULT '{}'::jsonb,
    platforms         jsonb NOT NULL DEFAULT '[]'::jsonb,
    last_run          timestamptz,
    next_run          timestamptz,
    run_count         integer NOT NULL DEFAULT 0 CHECK (run_count >= 0),
    error_count       integer NOT NULL DEFAULT 0 CHECK (error_count >= 0),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, id),
    -- A destination in use cannot be deleted out from under its automations.
    FOREIGN KEY (tenant_id, destination_id) REFERENCES destination (tenant_id, id) ON DELETE RESTRICT
);
-- The dispatcher's hot query: active automations that are due.
CREATE INDEX automation_due_idx ON automation (next_run) WHERE status = 'active';
CREATE INDEX automation_tenant_idx ON automation (tenant_id, created_at DESC);
CREATE INDEX automation_destination_idx ON automation (destination_id) WHERE destination_id IS NOT NULL;

CREATE TABLE automation_run (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     uuid NOT NULL,
    automation_id uuid NOT NULL,
    started_at    timestamptz NOT NULL DEFAULT now(),
    completed_at  timestamptz,
    status        text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed', 'failed')),
    result        jsonb,
    error_message text,
    logs          jsonb NOT NULL DEFAULT '[]'::jsonb,
    FOREIGN KEY (tenant_id, automation_id) REFERENCES automation (tenant_id, id) ON DELETE CASCADE,
    CHECK (completed_at IS NULL OR completed_at >= started_at)
);
CREATE INDEX automation_run_automation_idx ON automation_run (automation_id, started_at DESC);
CREATE INDEX automation_run_tenant_idx ON automation_run (tenant_id, started_at DESC);
-- Operators list recent failures; cleanup prunes old runs.
CREATE INDEX automation_run_status_idx ON automation_run (status, started_at DESC);

CREATE TRIGGER tenant_updated_at BEFORE UPDATE ON tenant FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER app_user_updated_at BEFORE UPDATE ON app_user FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER ad_token_updated_at BEFORE UPDATE ON ad_token FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER destination_updated_at BEFORE UPDATE ON destination FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER automation_updated_at BEFORE UPDATE ON automation FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- +migrate Down
DROP TABLE automation_run;
DROP TABLE automation;
DROP TABLE destination;
DROP TABLE ad_token;
DROP TABLE app_user;
DROP TABLE tenant;
DROP FUNCTION set_updated_at();
