-- Platform connections: what a connection stands for (ad account, Page,
-- creator, advertiser), token health (expiry warnings, invalidation sent
-- once), the platform user behind it (for Facebook's deauthorize and data
-- deletion callbacks), OAuth results waiting for the user's pick, and
-- Facebook data-deletion requests with their public status.

-- +migrate Up
ALTER TABLE ad_token
    ADD COLUMN kind text NOT NULL DEFAULT 'ad_account'
        CHECK (kind IN ('ad_account', 'page', 'creator', 'advertiser')),
    -- Facebook user id or TikTok open_id of whoever granted the token.
    ADD COLUMN platform_user_id text NOT NULL DEFAULT '',
    ADD COLUMN refresh_expires_at timestamptz,
    ADD COLUMN invalid_reason text NOT NULL DEFAULT '',
    ADD COLUMN invalidated_at timestamptz,
    -- Admins are emailed once per invalidation and once per expiry date.
    ADD COLUMN invalid_notified_at timestamptz,
    ADD COLUMN expiry_warned_for timestamptz,
    -- The last check's transient failure (the token may still be fine).
    ADD COLUMN last_check_error text NOT NULL DEFAULT '',
    ADD COLUMN connected_by uuid,
    -- SHA-256 of the access token: one token can back several rows (every
    -- advertiser of a TikTok Ads grant); Disconnect revokes it only when no
    -- other row still uses it.
    ADD COLUMN token_fingerprint bytea,
    ADD CONSTRAINT ad_token_invalid_reason CHECK (is_valid OR invalidated_at IS NOT NULL);
CREATE INDEX ad_token_platform_user_idx ON ad_token (platform, platform_user_id) WHERE platform_user_id <> '';
CREATE INDEX ad_token_tenant_idx ON ad_token (tenant_id, platform, account_name);
CREATE INDEX ad_token_fingerprint_idx ON ad_token (platform, token_fingerprint);

-- An OAuth callback's token and accounts, until the user picks which
-- accounts to connect. The payload (tokens included) is vault-encrypted.
CREATE TABLE oauth_pending (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id   uuid NOT NULL,
    user_id     uuid NOT NULL,
    platform    text NOT NULL,
    payload_enc bytea NOT NULL,
    expires_at  timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, user_id) REFERENCES app_user (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX oauth_pending_expires_idx ON oauth_pending (expires_at);

-- Facebook data-deletion callbacks; the confirmation code is public (it is
-- the status page's address), the request is not tenant-owned.
CREATE TABLE data_deletion_request (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    confirmation_code text NOT NULL UNIQUE CHECK (confirmation_code ~ '^[A-Za-z0-9]{16,64}$'),
    platform          text NOT NULL,
    platform_user_id  text NOT NULL,
    deleted_count     integer NOT NULL DEFAULT 0,
    status            text NOT NULL DEFAULT 'completed' CHECK (status IN ('pending', 'completed')),
    created_at        timestamptz NOT NULL DEFAULT now(),
    completed_at      timestamptz
);

-- +migrate Down
DROP TABLE data_deletion_request;
DROP TABLE oauth_pending;
DROP INDEX ad_token_fingerprint_idx;
DROP INDEX ad_token_tenant_idx;
DROP INDEX ad_token_platform_user_idx;
ALTER TABLE ad_token
    DROP CONSTRAINT ad_token_invalid_reason,
    DROP COLUMN token_fingerprint,
    DROP COLUMN connected_by,
    DROP COLUMN last_check_error,
    DROP COLUMN expiry_warned_for,
    DROP COLUMN invalid_notified_at,
    DROP COLUMN invalidated_at,
    DROP COLUMN invalid_reason,
    DROP COLUMN refresh_expires_at,
    DROP COLUMN platform_user_id,
    DROP COLUMN kind;
