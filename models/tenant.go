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
