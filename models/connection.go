package models

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"

	"adpilot/vault"
)

// Connection is one linked platform account (the seed's AdToken): a Facebook
// ad account or Page, a TikTok creator or a TikTok advertiser. Its tokens
// stay encrypted; ConnectionCredentials decrypts them when a call needs them.
type Connection struct {
	ID               string          `db:"id" json:"id"`
	TenantID         string          `db:"tenant_id" json:"-"`
	Platform         string          `db:"platform" json:"platform"`
	Kind             string          `db:"kind" json:"kind"`
	AccountRef       string          `db:"account_ref" json:"account_ref"`
	AccountName      string          `db:"account_name" json:"account_name"`
	Scope            string          `db:"scope" json:"scope"`
	ExpiresAt        *time.Time      `db:"expires_at" json:"expires_at"`
	RefreshExpiresAt *time.Time      `db:"refresh_expires_at" json:"refresh_expires_at,omitempty"`
	IsValid          bool            `db:"is_valid" json:"-"`
	LastValidated    *time.Time      `db:"last_validated" json:"last_validated"`
	InvalidReason    string          `db:"invalid_reason" json:"invalid_reason,omitempty"`
	InvalidatedAt    *time.Time      `db:"invalidated_at" json:"invalidated_at,omitempty"`
	LastCheckError   string          `db:"last_check_error" json:"last_check_error,omitempty"`
	PlatformUserID   string          `db:"platform_user_id" json:"-"`
	HasRefreshToken  bool            `db:"has_refresh" json:"-"`
	Meta             json.RawMessage `db:"meta" json:"meta"`
	CreatedAt        time.Time       `db:"created_at" json:"created_at"`
	UpdatedAt        time.Time       `db:"updated_at" json:"updated_at"`
}

// Connection statuses, as shown and as the API reports them.
const (
	ConnectionValid    = "valid"
	ConnectionExpiring = "expiring"
	ConnectionExpired  = "expired"
	ConnectionInvalid  = "invalid"
)

// ExpiryWarning is how long before expiry a token counts as expiring and
// admins are warned.
const ExpiryWarning = 7 * 24 * time.Hour

// Expiry is when the connection stops working unless reconnected: the
// refresh token's expiry when it has one (the access token is renewed in
// the background), else the access token's. nil: never.
func (c Connection) Expiry() *time.Time {
	if c.HasRefreshToken {
		return c.RefreshExpiresAt
	}
	return c.ExpiresAt
}

// Status is valid, expiring (within ExpiryWarning), expired or invalid.
func (c Connection) Status(now time.Time) string {
	exp := c.Expiry()
	switch {
	case !c.IsValid:
		return ConnectionInvalid
	case exp != nil && !exp.After(now):
		return ConnectionExpired
	case exp != nil && exp.Sub(now) < ExpiryWarning:
		return ConnectionExpiring
	}
	return ConnectionValid
}

// MetaMap decodes meta.
func (c Connection) MetaMap() map[string]any {
	m := map[string]any{}
	_ = json.Unmarshal(c.Meta, &m) // meta is only written from a map
	return m
}

// Credentials are a connection's decrypted tokens.
type Credentials struct {
	AccessToken  string
	RefreshToken string // "" when the platform has none
}

// ConnectionInput is one account to connect (or reconnect) with its tokens.
type ConnectionInput struct {
	Platform         string
	Kind             string
	AccountRef       string
	AccountName      string
	AccessToken      string
	RefreshToken     string // "" keeps the stored one
	Scope            string
	ExpiresAt        time.Time // zero: never expires
	RefreshExpiresAt time.Time
	PlatformUserID   string
	Meta             map[string]any
}

const connectionColumns = `id, tenant_id, platform, kind, account_ref, account_name, scope, expires_at,
	refresh_expires_at, is_valid, last_validated, invalid_reason, invalidated_at, last_check_error,
	platform_user_id, meta, created_at, updated_at, refresh_token_enc IS NOT NULL AS has_refresh`

// Places of the encrypted columns, binding each ciphertext to its row.
func accessPlace(id string) []byte  { return vault.Place("ad_token", id, "access_token") }
func refreshPlace(id string) []byte { return vault.Place("ad_token", id, "refresh_token") }

// fingerprint identifies a token without revealing it (tokens are long
// random strings: an unkeyed hash cannot be reversed).
func fingerprint(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// TokenSharedElsewhere reports whether another connection (in any tenant)
// holds the same token as this one, so revoking it would break that one.
func (s *Store) TokenSharedElsewhere(ctx context.Context, tenantID, id string) (bool, error) {
	var shared bool
	err := s.db.GetContext(ctx, &shared, `SELECT EXISTS (SELECT 1 FROM ad_token c JOIN ad_token o
			ON o.platform = c.platform AND o.token_fingerprint = c.token_fingerprint AND o.id <> c.id
		WHERE c.tenant_id = $1 AND c.id = $2)`, tenantID, id)
	return shared, err
}

var errNoVault = errors.New("models: the store has no vault (SetVault) to encrypt tokens")

// ConnectAccounts creates or updates (reconnect) one row per input, in one
// transaction, and records each in the audit log. Reconnecting makes a row
// valid again; an empty refresh token never replaces a stored one.
func (s *Store) ConnectAccounts(ctx context.Context, actor User, ip string, inputs []ConnectionInput) ([]Connection, error) {
	if s.vault == nil {
		return nil, errNoVault
	}
	var out []Connection
	err := s.withTx(ctx, func(tx *sqlxTx) error {
		out = out[:0]
		for _, in := range inputs {
			c, created, err := s.upsertConnection(ctx, tx, actor.TenantID, actor.ID, in)
			if err != nil {
				return err
			}
			action := "connection.reconnect"
			if created {
				action = "connection.connect"
			}
			if err := recordAudit(ctx, tx, AuditEntry{
				TenantID: actor.TenantID, ActorID: actor.ID, ActorLabel: actor.DisplayName(), Action: action,
				TargetType: "connection", TargetID: c.ID, IP: ip,
				After: map[string]string{"platform": c.Platform, "account_ref": c.AccountRef, "account_name": c.AccountName},
			}); err != nil {
				return err
			}
			out = append(out, c)
		}
		return nil
	})
	return out, err
}

// upsertConnection writes one row. The row's id must be known before its
// tokens are sealed (they are bound to it), so the row is claimed first,
// with an empty ciphertext, then its tokens are written.
func (s *Store) upsertConnection(ctx context.Context, tx *sqlxTx, tenantID, userID string, in ConnectionInput) (Connection, bool, error) {
	meta, err := json.Marshal(in.Meta)
	if err != nil || in.Meta == nil {
		meta = []byte("{}")
	}
	var row struct {
		ID      string `db:"id"`
		Created bool   `db:"created"`
	}
	const claim = `INSERT INTO ad_token (id, tenant_id, platform, kind, account_ref, account_name, access_token_enc, connected_by)
		VALUES ($1, $2, $3, $4, $5, $6, '\x'::bytea, NULLIF($7, '')::uuid)
		ON CONFLICT (tenant_id, platform, account_ref) DO UPDATE SET kind = EXCLUDED.kind
		RETURNING id, (xmax = 0) AS created`
	if err := tx.GetContext(ctx, &row, claim, uuid.NewString(), tenantID, in.Platform, in.Kind, in.AccountRef, in.AccountName, userID); err != nil {
		return Connection{}, false, err
	}
	var refresh []byte
	if in.RefreshToken != "" {
		refresh = s.vault.Seal([]byte(in.RefreshToken), refreshPlace(row.ID))
	}
	const update = `UPDATE ad_token SET account_name = $3, access_token_enc = $4, token_fingerprint = $12,
			refresh_token_enc = COALESCE($5, refresh_token_enc), scope = $6, expires_at = $7,
			refresh_expires_at = CASE WHEN $5::bytea IS NULL THEN refresh_expires_at ELSE $8 END,
			platform_user_id = $9, meta = $10, is_valid = true, invalid_reason = '', invalidated_at = NULL,
			invalid_notified_at = NULL, last_check_error = '', last_validated = now(), connected_by = NULLIF($11, '')::uuid
		WHERE tenant_id = $1 AND id = $2
		RETURNING ` + connectionColumns
	var c Connection
	err = tx.GetContext(ctx, &c, update, tenantID, row.ID, in.AccountName,
		s.vault.Seal([]byte(in.AccessToken), accessPlace(row.ID)), refresh, in.Scope,
		nullTime(in.ExpiresAt), nullTime(in.RefreshExpiresAt), in.PlatformUserID, meta, userID, fingerprint(in.AccessToken))
	return c, row.Created, err
}

// ListConnections returns the tenant's connections by platform and name.
func (s *Store) ListConnections(ctx context.Context, tenantID string) ([]Connection, error) {
	out := []Connection{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+connectionColumns+` FROM ad_token
		WHERE tenant_id = $1 ORDER BY platform, lower(account_name), account_ref`, tenantID)
	return out, err
}

// GetConnection returns one of the tenant's connections.
func (s *Store) GetConnection(ctx context.Context, tenantID, id string) (Connection, error) {
	if !validUUID(id) {
		return Connection{}, ErrNotFound
	}
	var c Connection
	err := s.db.GetContext(ctx, &c, `SELECT `+connectionColumns+` FROM ad_token WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	return c, normalize(err)
}

// ConnectionCredentials returns a connection with its decrypted tokens.
func (s *Store) ConnectionCredentials(ctx context.Context, tenantID, id string) (Connection, Credentials, error) {
	if !validUUID(id) {
		return Connection{}, Credentials{}, ErrNotFound
	}
	var row struct {
		Connection
		AccessEnc  []byte `db:"access_token_enc"`
		RefreshEnc []byte `db:"refresh_token_enc"`
	}
	err := s.db.GetContext(ctx, &row, `SELECT `+connectionColumns+`, access_token_enc, refresh_token_enc
		FROM ad_token WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	if err != nil {
		return Connection{}, Credentials{}, normalize(err)
	}
	creds, err := s.openCredentials(row.ID, row.AccessEnc, row.RefreshEnc)
	return row.Connection, creds, err
}

func (s *Store) openCredentials(id string, access, refresh []byte) (Credentials, error) {
	if s.vault == nil {
		return Credentials{}, errNoVault
	}
	a, err := s.vault.Open(access, accessPlace(id))
	if err != nil {
		return Credentials{}, err
	}
	c := Credentials{AccessToken: string(a)}
	if len(refresh) > 0 {
		r, err := s.vault.Open(refresh, refreshPlace(id))
		if err != nil {
			return Credentials{}, err
		}
		c.RefreshToken = string(r)
	}
	return c, nil
}

// DeleteConnection removes one of the tenant's connections and audits it.
func (s *Store) DeleteConnection(ctx context.Context, actor User, id, ip string) (Connection, error) {
	if !validUUID(id) {
		return Connection{}, ErrNotFound
	}
	var c Connection
	err := s.withTx(ctx, func(tx *sqlxTx) error {
		if err := tx.GetContext(ctx, &c, `DELETE FROM ad_token WHERE tenant_id = $1 AND id = $2 RETURNING `+connectionColumns,
			actor.TenantID, id); err != nil {
			return normalize(err)
		}
		return recordAudit(ctx, tx, AuditEntry{
			TenantID: actor.TenantID, ActorID: actor.ID, ActorLabel: actor.DisplayName(), Action: "connection.disconnect",
			TargetType: "connection", TargetID: c.ID, IP: ip,
			Before: map[string]string{"platform": c.Platform, "account_ref": c.AccountRef, "account_name": c.AccountName},
		})
	})
	return c, err
}
