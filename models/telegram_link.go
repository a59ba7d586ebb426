package models

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// TelegramLinkTTL is how long an "Add Telegram chat" code works.
const TelegramLinkTTL = 15 * time.Minute

// TelegramLink is a pending or used "Add Telegram chat" code.
type TelegramLink struct {
	ID            string     `db:"id"`
	ExpiresAt     time.Time  `db:"expires_at"`
	UsedAt        *time.Time `db:"used_at"`
	DestinationID *string    `db:"destination_id"`
	ChatTitle     string     `db:"chat_title"`
}

// TelegramChat is the chat a /start <code> came from.
type TelegramChat struct {
	ID    int64
	Title string // a group's title, or the person's name for a private chat
	Type  string
}

// CreateTelegramLink stores the hash of a new one-time code for u.
func (s *Store) CreateTelegramLink(ctx context.Context, u User, codeHash []byte, now time.Time) (string, error) {
	id := uuid.NewString()
	_, err := s.db.ExecContext(ctx, `INSERT INTO telegram_link (id, tenant_id, user_id, code_hash, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		id, u.TenantID, u.ID, codeHash, now.Add(TelegramLinkTTL))
	return id, err
}

// GetTelegramLink returns one of the user's link codes (for the waiting page).
func (s *Store) GetTelegramLink(ctx context.Context, tenantID, userID, id string) (TelegramLink, error) {
	if !validUUID(id) {
		return TelegramLink{}, ErrNotFound
	}
	var l TelegramLink
	err := s.db.GetContext(ctx, &l, `SELECT id, expires_at, used_at, destination_id, chat_title FROM telegram_link
		WHERE tenant_id = $1 AND user_id = $2 AND id = $3`, tenantID, userID, id)
	return l, normalize(err)
}

// ErrCodeInvalid means a link code is unknown, used or expired.
var ErrCodeInvalid = errors.New("the link code is unknown, used or expired")

// LinkTelegramChat consumes a code sent as /start <code>: the chat becomes
// (or updates) a destination of the code's tenant, and the Telegram user
// is linked to the web user who made the code. One transaction, audited.
func (s *Store) LinkTelegramChat(ctx context.Context, codeHash []byte, chat TelegramChat, telegramUserID int64, now time.Time) (Destination, User, error) {
	var d Destination
	var u User
	err := s.withTx(ctx, func(tx *sqlxTx) error {
		var link struct {
			ID       string `db:"id"`
			TenantID string `db:"tenant_id"`
			UserID   string `db:"user_id"`
		}
		err := tx.GetContext(ctx, &link, `UPDATE telegram_link SET used_at = $2
			WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING id, tenant_id, user_id`, codeHash, now)
		if errors.Is(normalize(err), ErrNotFound) {
			return ErrCodeInvalid
		}
		if err != nil {
			return err
		}
		cfg, _ := json.Marshal(TelegramConfig{ChatID: chat.ID, ChatTitle: chat.Title, ChatType: chat.Type})
		name := chat.Title
		if name == "" {
			name = "Telegram chat " + strconv.FormatInt(chat.ID, 10)
		}
		if err := tx.GetContext(ctx, &d, `INSERT INTO destination (tenant_id, name, type, config)
			VALUES ($1, $2, 'telegram_chat', $3)
			ON CONFLICT (tenant_id, (config->>'chat_id')) WHERE type = 'telegram_chat'
			DO UPDATE SET config = EXCLUDED.config, is_active = true, deactivated_reason = '', deactivated_at = NULL
			RETURNING `+destinationColumns, link.TenantID, name, cfg); err != nil {
			return err
		}
		// A Telegram account belongs to one member per tenant.
		if _, err := tx.ExecContext(ctx, `UPDATE app_user SET telegram_user_id = NULL
			WHERE tenant_id = $1 AND telegram_user_id = $2 AND id <> $3`, link.TenantID, telegramUserID, link.UserID); err != nil {
			return err
		}
		if err := tx.GetContext(ctx, &u, `UPDATE app_user SET telegram_user_id = $3 WHERE tenant_id = $1 AND id = $2
			RETURNING `+userColumns, link.TenantID, link.UserID, telegramUserID); err != nil {
			return normalize(err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE telegram_link SET destination_id = $2, chat_title = $3 WHERE id = $1`,
			link.ID, d.ID, d.Name); err != nil {
			return err
		}
		return recordAudit(ctx, tx, AuditEntry{TenantID: link.TenantID, ActorID: u.ID, ActorLabel: u.DisplayName() + " (Telegram)",
			Action: "telegram.link", TargetType: "destination", TargetID: d.ID,
			After: map[string]any{"chat_id": chat.ID, "chat_title": chat.Title, "telegram_user_id": telegramUserID}})
	})
	return d, u, err
}

// TelegramUsers returns the active members linked to a Telegram account, in
// every tenant (one person may belong to several), with their tenants.
func (s *Store) TelegramUsers(ctx context.Context, telegramUserID int64) ([]User, error) {
	out := []User{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+prefixColumns(userColumns, "u.")+` FROM app_user u JOIN tenant t ON t.id = u.tenant_id
		WHERE u.telegram_user_id = $1 AND u.is_active AND t.is_active ORDER BY u.created_at`, telegramUserID)
	return out, err
}

// UnlinkTelegram forgets a Telegram account in every tenant (the /unlink
// command); the chats stay destinations. It returns how many links went.
func (s *Store) UnlinkTelegram(ctx context.Context, telegramUserID int64) (int, error) {
	var n int
	err := s.withTx(ctx, func(tx *sqlxTx) error {
		var users []User
		if err := tx.SelectContext(ctx, &users, `UPDATE app_user SET telegram_user_id = NULL WHERE telegram_user_id = $1
			RETURNING `+userColumns, telegramUserID); err != nil {
			return err
		}
		n = len(users)
		for _, u := range users {
			if err := recordAudit(ctx, tx, AuditEntry{TenantID: u.TenantID, ActorID: u.ID, ActorLabel: u.DisplayName() + " (Telegram)",
				Action: "telegram.unlink", TargetType: "user", TargetID: u.ID}); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

// TelegramDestinationTenants returns the tenants that have chatID as a
// destination (to pick the tenant a group command speaks for).
func (s *Store) TelegramDestinationTenants(ctx context.Context, chatID int64) ([]string, error) {
	out := []string{}
	err := s.db.SelectContext(ctx, &out, `SELECT tenant_id FROM destination WHERE type = 'telegram_chat' AND config->>'chat_id' = $1`,
		strconv.FormatInt(chatID, 10))
	return out, err
}
