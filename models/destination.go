package models

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"

	"adpilot/vault"
)

// Destination types.
const (
	DestinationTelegram = "telegram_chat"
	DestinationWebhook  = "webhook"
	DestinationEmail    = "email"
)

// ErrInUse means the object is still referenced (a destination used by an
// automation).
var ErrInUse = errors.New("in use")

// Destination is where an automation's output goes.
type Destination struct {
	ID                string          `db:"id"`
	TenantID          string          `db:"tenant_id"`
	Name              string          `db:"name"`
	Type              string          `db:"type"`
	Config            json.RawMessage `db:"config"`
	IsActive          bool            `db:"is_active"`
	DeactivatedReason string          `db:"deactivated_reason"`
	DeactivatedAt     *time.Time      `db:"deactivated_at"`
	HasSecret         bool            `db:"has_secret"`
	CreatedAt         time.Time       `db:"created_at"`
	UpdatedAt         time.Time       `db:"updated_at"`
}

// TelegramConfig is the config of a Telegram chat destination.
type TelegramConfig struct {
	ChatID    int64  `json:"chat_id"`
	ChatTitle string `json:"chat_title"`
	ChatType  string `json:"chat_type"` // private, group, supergroup, channel
}

// WebhookConfig is the config of a webhook destination. Header values live
// encrypted with the signing secret (WebhookSecrets); only names are here.
type WebhookConfig struct {
	URL         string   `json:"url"`
	HeaderNames []string `json:"header_names,omitempty"`
}

// EmailConfig is the config of an email destination.
type EmailConfig struct {
	Addresses []string `json:"addresses"`
}

// WebhookSecrets are a webhook's signing secret and custom headers, sealed
// together in destination.secret_enc (headers often carry credentials).
type WebhookSecrets struct {
	SigningSecret string            `json:"signing_secret"`
	Headers       map[string]string `json:"headers,omitempty"`
}

// Telegram decodes the config of a Telegram destination.
func (d Destination) Telegram() TelegramConfig {
	var c TelegramConfig
	_ = json.Unmarshal(d.Config, &c) // config is only written from these types
	return c
}

// Webhook decodes the config of a webhook destination.
func (d Destination) Webhook() WebhookConfig {
	var c WebhookConfig
	_ = json.Unmarshal(d.Config, &c)
	return c
}

// Email decodes the config of an email destination.
func (d Destination) Email() EmailConfig {
	var c EmailConfig
	_ = json.Unmarshal(d.Config, &c)
	return c
}

const destinationColumns = `id, tenant_id, name, type, config, is_active, deactivated_reason, deactivated_at,
	secret_enc IS NOT NULL AS has_secret, created_at, updated_at`

func secretPlace(id string) []byte { return vault.Place("destination", id, "secret") }

// DestinationInput creates or edits a destination. Secrets is only for
// webhooks; nil on an edit keeps the stored secrets.
type DestinationInput struct {
	Name    string
	Type    string
	Config  any
	Secrets *WebhookSecrets
}

// ListDestinations returns the tenant's destinations by name.
func (s *Store) ListDestinations(ctx context.Context, tenantID string) ([]Destination, error) {
	out := []Destination{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+destinationColumns+` FROM destination WHERE tenant_id = $1
		ORDER BY lower(name), created_at`, tenantID)
	return out, err
}

// GetDestination returns one of the tenant's destinations.
func (s *Store) GetDestination(ctx context.Context, tenantID, id string) (Destination, error) {
	if !validUUID(id) {
		return Destination{}, ErrNotFound
	}
	var d Destination
	err := s.db.GetContext(ctx, &d, `SELECT `+destinationColumns+` FROM destination WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	return d, normalize(err)
}

// DestinationSecrets decrypts a webhook's signing secret and headers.
func (s *Store) DestinationSecrets(ctx context.Context, tenantID, id string) (WebhookSecrets, error) {
	if !validUUID(id) {
		return WebhookSecrets{}, ErrNotFound
	}
	var enc []byte
	if err := s.db.GetContext(ctx, &enc, `SELECT secret_enc FROM destination WHERE tenant_id = $1 AND id = $2 AND secret_enc IS NOT NULL`,
		tenantID, id); err != nil {
		return WebhookSecrets{}, normalize(err)
	}
	if s.vault == nil {
		return WebhookSecrets{}, errNoVault
	}
	plain, err := s.vault.Open(enc, secretPlace(id))
	if err != nil {
		return WebhookSecrets{}, err
	}
	var out WebhookSecrets
	err = json.Unmarshal(plain, &out)
	return out, err
}

func (s *Store) sealSecrets(id string, sec *WebhookSecrets) ([]byte, error) {
	if sec == nil {
		return nil, nil
	}
	if s.vault == nil {
		return nil, errNoVault
	}
	raw, err := json.Marshal(sec)
	if err != nil {
		return nil, err
	}
	return s.vault.Seal(raw, secretPlace(id)), nil
}

// CreateDestination adds a destination and audits it.
func (s *Store) CreateDestination(ctx context.Context, actor User, in DestinationInput, ip string) (Destination, error) {
	id := uuid.NewString()
	cfg, err := json.Marshal(in.Config)
	if err != nil {
		return Destination{}, err
	}
	secret, err := s.sealSecrets(id, in.Secrets)
	if err != nil {
		return Destination{}, err
	}
	var d Destination
	err = s.withTx(ctx, func(tx *sqlxTx) error {
		if err := tx.GetContext(ctx, &d, `INSERT INTO destination (id, tenant_id, name, type, config, secret_enc)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING `+destinationColumns, id, actor.TenantID, in.Name, in.Type, cfg, secret); err != nil {
			return normalize(err)
		}
		return auditDestination(ctx, tx, actor, "destination.create", d, ip, nil)
	})
	return d, err
}

// UpdateDestination renames and reconfigures a destination (its type stays).
func (s *Store) UpdateDestination(ctx context.Context, actor User, id string, in DestinationInput, ip string) (Destination, error) {
	if !validUUID(id) {
		return Destination{}, ErrNotFound
	}
	cfg, err := json.Marshal(in.Config)
	if err != nil {
		return Destination{}, err
	}
	secret, err := s.sealSecrets(id, in.Secrets)
	if err != nil {
		return Destination{}, err
	}
	var before, d Destination
	err = s.withTx(ctx, func(tx *sqlxTx) error {
		if err := tx.GetContext(ctx, &before, `SELECT `+destinationColumns+` FROM destination WHERE tenant_id = $1 AND id = $2 FOR UPDATE`,
			actor.TenantID, id); err != nil {
			return normalize(err)
		}
		if err := tx.GetContext(ctx, &d, `UPDATE destination SET name = $3, config = $4, secret_enc = COALESCE($5, secret_enc)
			WHERE tenant_id = $1 AND id = $2 RETURNING `+destinationColumns, actor.TenantID, id, in.Name, cfg, secret); err != nil {
			return normalize(err)
		}
		return auditDestination(ctx, tx, actor, "destination.update", d, ip, &before)
	})
	return d, err
}

// SetDestinationActive deactivates or reactivates a destination by hand.
func (s *Store) SetDestinationActive(ctx context.Context, actor User, id string, active bool, ip string) (Destination, error) {
	if !validUUID(id) {
		return Destination{}, ErrNotFound
	}
	var d Destination
	err := s.withTx(ctx, func(tx *sqlxTx) error {
		reason := ""
		if !active {
			reason = "deactivated by " + actor.DisplayName()
		}
		if err := tx.GetContext(ctx, &d, `UPDATE destination SET is_active = $3, deactivated_reason = $4,
				deactivated_at = CASE WHEN $3 THEN NULL ELSE now() END
			WHERE tenant_id = $1 AND id = $2 RETURNING `+destinationColumns, actor.TenantID, id, active, reason); err != nil {
			return normalize(err)
		}
		action := "destination.deactivate"
		if active {
			action = "destination.activate"
		}
		return auditDestination(ctx, tx, actor, action, d, ip, nil)
	})
	return d, err
}

// DeleteDestination removes a destination no automation uses (ErrInUse
// otherwise), with its deliveries.
func (s *Store) DeleteDestination(ctx context.Context, actor User, id, ip string) (Destination, error) {
	if !validUUID(id) {
		return Destination{}, ErrNotFound
	}
	var d Destination
	err := s.withTx(ctx, func(tx *sqlxTx) error {
		if err := tx.GetContext(ctx, &d, `DELETE FROM destination WHERE tenant_id = $1 AND id = $2 RETURNING `+destinationColumns,
			actor.TenantID, id); err != nil {
			var pqErr *pq.Error
			if errors.As(err, &pqErr) && pqErr.Code == "23503" { // foreign_key_violation: an automation uses it
				return ErrInUse
			}
			return normalize(err)
		}
		return auditDestination(ctx, tx, actor, "destination.delete", d, ip, nil)
	})
	return d, err
}

func auditDestination(ctx context.Context, tx *sqlxTx, actor User, action string, d Destination, ip string, before *Destination) error {
	e := AuditEntry{TenantID: actor.TenantID, ActorID: actor.ID, ActorLabel: actor.DisplayName(), Action: action,
		TargetType: "destination", TargetID: d.ID, IP: ip,
		After: map[string]any{"name": d.Name, "type": d.Type, "config": d.Config, "is_active": d.IsActive}}
	if before != nil {
		e.Before = map[string]any{"name": before.Name, "config": before.Config}
	}
	return recordAudit(ctx, tx, e)
}

// DeactivateDestination marks a destination broken for good (the bot was
// blocked, a chat deleted) with the reason, and queues notice(d) to the
// tenant's admins the first time. It reports whether this call did it.
func (s *Store) DeactivateDestination(ctx context.Context, tenantID, id, reason string, notice func(Destination) Email) (bool, error) {
	var changed bool
	err := s.withTx(ctx, func(tx *sqlxTx) error {
		var d Destination
		err := tx.GetContext(ctx, &d, `UPDATE destination SET is_active = false, deactivated_reason = left($3, 500), deactivated_at = now()
			WHERE tenant_id = $1 AND id = $2 AND is_active RETURNING `+destinationColumns, tenantID, id, reason)
		if errors.Is(normalize(err), ErrNotFound) {
			return nil // already inactive (or gone): nobody is told twice
		}
		if err != nil {
			return err
		}
		changed = true
		// Nothing waiting for it can be delivered any more.
		if _, err := tx.ExecContext(ctx, `UPDATE delivery SET status = 'failed', last_error = 'the destination was deactivated: ' || left($3, 500)
			WHERE tenant_id = $1 AND destination_id = $2 AND status = 'pending'`, tenantID, id, reason); err != nil {
			return err
		}
		if err := recordAudit(ctx, tx, AuditEntry{TenantID: tenantID, ActorLabel: "system", Action: "destination.deactivate",
			TargetType: "destination", TargetID: id, After: map[string]string{"reason": reason}}); err != nil {
			return err
		}
		if notice == nil {
			return nil
		}
		return mailAdmins(ctx, tx, tenantID, notice(d))
	})
	return changed, err
}

// MigrateTelegramChat moves a Telegram destination to the chat id Telegram
// gave when the group became a supergroup. ErrConflict: the tenant already
// has the supergroup as a destination.
func (s *Store) MigrateTelegramChat(ctx context.Context, tenantID, id string, newChatID int64) error {
	_, err := s.db.ExecContext(ctx, `UPDATE destination SET config = jsonb_set(config, '{chat_id}', to_jsonb($3::bigint))
		WHERE tenant_id = $1 AND id = $2 AND type = 'telegram_chat'`, tenantID, id, newChatID)
	return normalize(err)
}
