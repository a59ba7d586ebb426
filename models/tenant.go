package models

import (
	"context"
	"encoding/json"
	"time"
)

// Tenant is a team or agency client; everything else belongs to one.
type Tenant struct {
	ID        string          `db:"id" json:"id"`
	Name      string          `db:"name" json:"name"`
	Slug      string          `db:"slug" json:"slug"`
	IsActive  bool            `db:"is_active" json:"is_active"`
	Settings  json.RawMessage `db:"settings" json:"settings"`
	CreatedAt time.Time       `db:"created_at" json:"created_at"`
	UpdatedAt time.Time       `db:"updated_at" json:"updated_at"`
}

// TenantSettings are the typed keys of tenant.settings.
type TenantSettings struct {
	Timezone string `json:"timezone"` // IANA, e.g. Europe/Berlin
	Currency string `json:"currency"` // ISO 4217 display currency, e.g. EUR
}

// Defaults for a new tenant's settings.
const (
	DefaultTimezone = "UTC"
	DefaultCurrency = "USD"
)

// ParsedSettings decodes settings, filling defaults for missing keys.
func (t Tenant) ParsedSettings() TenantSettings {
	s := TenantSettings{}
	_ = json.Unmarshal(t.Settings, &s) // settings are written only through this type
	if s.Timezone == "" {
		s.Timezone = DefaultTimezone
	}
	if s.Currency == "" {
		s.Currency = DefaultCurrency
	}
	return s
}

const tenantColumns = `id, name, slug, is_active, settings, created_at, updated_at`

// GetTenant returns the tenant with id.
func (s *Store) GetTenant(ctx context.Context, id string) (Tenant, error) {
	if !validUUID(id) {
		return Tenant{}, ErrNotFound
	}
	var t Tenant
	err := s.db.GetContext(ctx, &t, `SELECT `+tenantColumns+` FROM tenant WHERE id = $1`, id)
	return t, normalize(err)
}

// TenantUpdate is what an admin may change about the tenant.
type TenantUpdate struct {
	Name     string
	Settings TenantSettings
}

// UpdateTenant saves the name and settings and audits the change with the
// values before and after, in one transaction.
func (s *Store) UpdateTenant(ctx context.Context, actor User, upd TenantUpdate, ip string) (Tenant, error) {
	var out Tenant
	err := s.withTx(ctx, func(tx *sqlxTx) error {
		var before Tenant
		if err := tx.GetContext(ctx, &before, `SELECT `+tenantColumns+` FROM tenant WHERE id = $1 FOR UPDATE`, actor.TenantID); err != nil {
			return normalize(err)
		}
		settings, err := mergeSettings(before.Settings, upd.Settings)
		if err != nil {
			return err
		}
		if err := tx.GetContext(ctx, &out, `UPDATE tenant SET name = $2, settings = $3 WHERE id = $1 RETURNING `+tenantColumns,
			actor.TenantID, upd.Name, settings); err != nil {
			return err
		}
		old := before.ParsedSettings()
		return recordAudit(ctx, tx, AuditEntry{TenantID: actor.TenantID, ActorID: actor.ID, ActorLabel: actor.DisplayName(),
			Action: "tenant.settings_change", TargetType: "tenant", TargetID: actor.TenantID, IP: ip,
			Before: map[string]string{"name": before.Name, "timezone": old.Timezone, "currency": old.Currency},
			After:  map[string]string{"name": upd.Name, "timezone": upd.Settings.Timezone, "currency": upd.Settings.Currency}})
	})
	return out, err
}

// mergeSettings writes the typed keys over the stored JSON, keeping any
// other keys later features put there.
func mergeSettings(stored json.RawMessage, s TenantSettings) ([]byte, error) {
	m := map[string]any{}
	if len(stored) > 0 {
		if err := json.Unmarshal(stored, &m); err != nil {
			m = map[string]any{}
		}
	}
	m["timezone"], m["currency"] = s.Timezone, s.Currency
	return json.Marshal(m)
}

// ListTenants returns every tenant: an operator query, across tenants.
func (s *Store) ListTenants(ctx context.Context) ([]Tenant, error) {
	out := []Tenant{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+tenantColumns+` FROM tenant ORDER BY name, id`)
	return out, err
}

// FindDeactivatedTenantLogins returns the active, joined users of
// deactivated tenants whose email or username is login, so log-in can tell
// someone whose password is right that their team was deactivated.
func (s *Store) FindDeactivatedTenantLogins(ctx context.Context, login string) ([]LoginCandidate, error) {
	var rows []struct {
		User
		Tenant `db:"t"`
	}
	err := s.db.SelectContext(ctx, &rows, `SELECT `+prefixColumns(userColumns, "u.")+`, `+aliasColumns(tenantColumns, "t.", "t.")+`
		FROM app_user u JOIN tenant t ON t.id = u.tenant_id
		WHERE (u.email = lower($1) OR lower(u.username) = lower($1))
		  AND u.is_active AND NOT t.is_active AND u.password_hash IS NOT NULL
		ORDER BY t.name LIMIT 20`, login)
	out := make([]LoginCandidate, len(rows))
	for i, r := range rows {
		out[i] = LoginCandidate{User: r.User, Tenant: r.Tenant}
	}
	return out, err
}
