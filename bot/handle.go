package bot

import (
	"context"
	"fmt"
	"html"
	"slices"
	"strings"

	tg "github.com/go-telegram/bot"
	tgm "github.com/go-telegram/bot/models"

	"adpilot/models"
)

// handle routes one update: a command in a message, or a button press.
func (b *Bot) handle(ctx context.Context, _ *tg.Bot, upd *tgm.Update) {
	// go-telegram/bot does not recover handler panics: in polling mode one
	// would take the process down.
	defer func() {
		if p := recover(); p != nil {
			b.logger.Error("telegram: handler panic", "panic", p)
		}
	}()
	switch {
	case upd.CallbackQuery != nil:
		b.onCallback(ctx, upd.CallbackQuery)
	case upd.Message != nil && upd.Message.From != nil && strings.HasPrefix(upd.Message.Text, "/"):
		b.onCommand(ctx, upd.Message)
	}
}

// onCommand answers /start, /help, /status, /automations, /report, /unlink.
func (b *Bot) onCommand(ctx context.Context, m *tgm.Message) {
	cmd, arg, _ := strings.Cut(strings.TrimSpace(m.Text), " ")
	cmd, _, _ = strings.Cut(strings.ToLower(cmd), "@") // /status@adpilot_bot in groups
	arg = strings.TrimSpace(arg)
	chat := m.Chat.ID
	switch cmd {
	case "/start":
		if arg != "" {
			b.link(ctx, m, arg)
			return
		}
		if u := b.memberFor(ctx, m.From.ID, chat); u != nil {
			b.reply(ctx, chat, "Hi "+esc(u.DisplayName())+"! This chat is linked to adpilot.\n\n"+helpText, nil)
			return
		}
		b.reply(ctx, chat, strangerText, nil)
	case "/help":
		b.reply(ctx, chat, helpText, nil)
	case "/unlink":
		n, err := b.store.UnlinkTelegram(ctx, m.From.ID)
		if err != nil {
			b.fail(ctx, chat, "unlink", err)
			return
		}
		if n == 0 {
			b.reply(ctx, chat, "Your Telegram account is not linked to adpilot.", nil)
			return
		}
		b.reply(ctx, chat, "Done: your Telegram account is no longer linked to adpilot. Chats keep receiving reports until they are removed on the Destinations page.", nil)
	case "/status", "/automations", "/report":
		u := b.memberFor(ctx, m.From.ID, chat)
		if u == nil {
			b.reply(ctx, chat, strangerText, nil)
			return
		}
		b.audit(ctx, *u, "telegram.command", map[string]any{"command": cmd, "chat_id": chat})
		switch cmd {
		case "/status":
			b.status(ctx, chat, *u)
		case "/automations":
			b.automations(ctx, chat, *u, 0)
		case "/report":
			b.report(ctx, chat, *u, arg)
		}
	default:
		b.reply(ctx, chat, "I don't know "+esc(cmd)+".\n\n"+helpText, nil)
	}
}

const helpText = `<b>adpilot commands</b>
/status: connection health, active automations and the last runs
/automations: your automations, with Pause, Resume and Run now buttons
/report &lt;name&gt;: run a report automation now
/unlink: unlink your Telegram account
/help: this list`

const strangerText = `This Telegram account is not linked to adpilot yet.

To link it, open adpilot, go to <b>Destinations</b>, choose <b>Add Telegram chat</b> and open the link it shows (or scan its QR code). That also makes this chat a destination for reports and alerts.`

// memberFor is the adpilot member behind a Telegram user. One person may
// be linked in several tenants: the tenant this chat belongs to wins.
func (b *Bot) memberFor(ctx context.Context, telegramUserID, chatID int64) *models.User {
	users, err := b.store.TelegramUsers(ctx, telegramUserID)
	if err != nil {
		b.logger.Error("telegram: looking up the member", "err", err)
		return nil
	}
	if len(users) == 0 {
		return nil
	}
	if tenants, err := b.store.TelegramDestinationTenants(ctx, chatID); err == nil {
		for i := range users {
			if slices.Contains(tenants, users[i].TenantID) {
				return &users[i]
			}
		}
	}
	// In a group that none of the member's tenants owns, answering would
	// post a tenant's data to strangers: only private chats fall back.
	if chatID != telegramUserID {
		return nil
	}
	return &users[0]
}

// link consumes a /start code: the chat becomes a destination and the
// Telegram user is linked to the member who made the code.
func (b *Bot) link(ctx context.Context, m *tgm.Message, code string) {
	if len(code) > 64 || strings.Trim(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") != "" {
		b.reply(ctx, m.Chat.ID, "That link is not valid. Create a new one on adpilot's Destinations page.", nil)
		return
	}
	title := m.Chat.Title
	if title == "" {
		title = strings.TrimSpace(m.Chat.FirstName + " " + m.Chat.LastName)
	}
	if title == "" && m.Chat.Username != "" {
		title = "@" + m.Chat.Username
	}
	d, u, err := b.store.LinkTelegramChat(ctx, HashCode(code), models.TelegramChat{ID: m.Chat.ID, Title: title, Type: string(m.Chat.Type)},
		m.From.ID, b.now())
	if err == models.ErrCodeInvalid {
		b.reply(ctx, m.Chat.ID, "This link has expired or was already used. Create a new one on adpilot's Destinations page.", nil)
		return
	}
	if err != nil {
		b.fail(ctx, m.Chat.ID, "link", err)
		return
	}
	b.reply(ctx, m.Chat.ID, fmt.Sprintf("Linked! <b>%s</b> now receives adpilot reports and alerts, and you are signed in as %s.\n\n%s",
		esc(d.Name), esc(u.DisplayName()), helpText), nil)
}

// reply sends an HTML message, logging (never the token) on failure.
func (b *Bot) reply(ctx context.Context, chatID int64, text string, markup tgm.ReplyMarkup) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	params := &tg.SendMessageParams{ChatID: chatID, Text: text, ParseMode: tgm.ParseModeHTML,
		LinkPreviewOptions: &tgm.LinkPreviewOptions{IsDisabled: tg.True()}}
	if markup != nil {
		params.ReplyMarkup = markup
	}
	if _, err := b.api.SendMessage(ctx, params); err != nil {
		b.logger.Warn("telegram: reply failed", "chat", chatID, "err", scrub(err.Error(), b.api.Token()))
	}
}

func (b *Bot) fail(ctx context.Context, chatID int64, what string, err error) {
	b.logger.Error("telegram: command failed", "what", what, "err", err)
	b.reply(ctx, chatID, "Something went wrong on adpilot's side. Please try again in a minute.", nil)
}

func (b *Bot) audit(ctx context.Context, u models.User, action string, after map[string]any) {
	if err := b.store.RecordAudit(ctx, models.AuditEntry{TenantID: u.TenantID, ActorID: u.ID,
		ActorLabel: u.DisplayName() + " (Telegram)", Action: action, TargetType: "telegram", After: after}); err != nil {
		b.logger.Error("telegram: audit failed", "err", err)
	}
}

func esc(s string) string { return html.EscapeString(s) }
