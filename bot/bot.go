// Package bot is adpilot's Telegram bot (go-telegram/bot): it links chats
// to tenants (/start <code>), answers commands about connections and
// automations, and acts on inline buttons, each checked against the linked
// member's role and recorded in the audit log. It runs in webhook mode when
// TELEGRAM_WEBHOOK_SECRET is set, otherwise by long polling on the one
// replica that holds a PostgreSQL advisory lock.
package bot

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	tg "github.com/go-telegram/bot"
	tgm "github.com/go-telegram/bot/models"

	"adpilot/config"
	"adpilot/models"
	"adpilot/platforms"
)

// WebhookPath is where Telegram posts updates in webhook mode.
const WebhookPath = "/api/webhooks/telegram"

// KeyCallbacks derives the key that signs callback data.
const KeyCallbacks = "adpilot telegram callbacks v1"

// callTimeout bounds each Bot API call the bot makes.
const callTimeout = 15 * time.Second

// Bot answers Telegram updates. It is safe for concurrent use.
type Bot struct {
	api       *tg.Bot
	store     *models.Store
	platforms *platforms.Registry // pausing from alert buttons; nil: no pause
	logger    *slog.Logger
	baseURL   string
	signKey   []byte
	secret    string // TELEGRAM_WEBHOOK_SECRET; "" = polling mode
	now       func() time.Time

	mu       sync.Mutex
	username string
	polling  bool

	runMu      sync.Mutex // guards exec and runsClosed; held while a run starts
	exec       Executor   // nil: Run now makes the automation due instead
	runs       sync.WaitGroup
	runsClosed bool
}

// Options adjust a Bot for tests.
type Options struct {
	HTTPClient *http.Client
	Now        func() time.Time
	Platforms  *platforms.Registry
	// Executor runs Run now at once (see SetExecutor).
	Executor Executor
}

// New builds the bot from the configuration. It does not call Telegram:
// Username fetches the bot's name on first use.
func New(cfg *config.Config, store *models.Store, logger *slog.Logger, opts Options) (*Bot, error) {
	b := &Bot{store: store, logger: logger, baseURL: cfg.BaseURL, signKey: cfg.DeriveKey(KeyCallbacks, 32),
		secret: cfg.TelegramWebhookSecret.Reveal(), now: opts.Now, platforms: opts.Platforms, exec: opts.Executor}
	if b.now == nil {
		b.now = time.Now
	}
	client := opts.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 70 * time.Second} // above the long-poll timeout
	}
	api, err := tg.New(cfg.TelegramBotToken.Reveal(),
		tg.WithSkipGetMe(),
		tg.WithServerURL(cfg.TelegramAPIURL),
		tg.WithHTTPClient(50*time.Second, client),
		tg.WithDefaultHandler(b.handle),
		tg.WithNotAsyncHandlers(),
		tg.WithErrorsHandler(func(err error) {
			// The library's errors may quote request URLs, which hold the token.
			logger.Warn("telegram polling error", "err", scrub(err.Error(), cfg.TelegramBotToken.Reveal()))
		}),
		tg.WithAllowedUpdates(tg.AllowedUpdates{"message", "callback_query", "my_chat_member"}),
	)
	if err != nil {
		return nil, errors.New("telegram: " + scrub(err.Error(), cfg.TelegramBotToken.Reveal()))
	}
	b.api = api
	return b, nil
}

// WebhookMode reports whether updates come by webhook (not polling).
func (b *Bot) WebhookMode() bool { return b.secret != "" }

// Username is the bot's @name (without @), asked from Telegram once; ""
// while Telegram cannot be reached.
func (b *Bot) Username(ctx context.Context) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.username != "" {
		return b.username
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	me, err := b.api.GetMe(ctx)
	if err != nil {
		b.logger.Warn("telegram getMe failed", "err", scrub(err.Error(), b.api.Token()))
		return ""
	}
	b.username = me.Username
	return b.username
}

// Polling reports whether this replica is the one polling Telegram.
func (b *Bot) Polling() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.polling
}

// SetWebhook registers BASE_URL/api/webhooks/telegram with the secret
// (webhook mode, at start-up).
func (b *Bot) SetWebhook(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	_, err := b.api.SetWebhook(ctx, &tg.SetWebhookParams{URL: b.baseURL + WebhookPath, SecretToken: b.secret,
		AllowedUpdates: []string{"message", "callback_query", "my_chat_member"}})
	if err != nil {
		return errors.New(scrub(err.Error(), b.api.Token()))
	}
	return nil
}

// ServeWebhook handles Telegram's POST in webhook mode: the secret header
// is compared in constant time (401 otherwise), then the update is
// processed before answering (the bot answers users itself; Telegram gets
// 200 either way, so one bad update is not redelivered for hours).
func (b *Bot) ServeWebhook(w http.ResponseWriter, r *http.Request) {
	got := r.Header.Get("X-Telegram-Bot-Api-Secret-Token")
	if b.secret == "" || subtle.ConstantTimeCompare([]byte(got), []byte(b.secret)) != 1 {
		http.Error(w, `{"error":"wrong or missing X-Telegram-Bot-Api-Secret-Token"}`, http.StatusUnauthorized)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var upd tgm.Update
	if err != nil || json.Unmarshal(body, &upd) != nil {
		http.Error(w, `{"error":"the body is not a Telegram update"}`, http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 30*time.Second)
	defer cancel()
	b.handle(ctx, b.api, &upd)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"ok":true}`))
}

// Poll long-polls Telegram until ctx ends (polling mode, leader only).
func (b *Bot) Poll(ctx context.Context) {
	b.mu.Lock()
	b.polling = true
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		b.polling = false
		b.mu.Unlock()
	}()
	dctx, cancel := context.WithTimeout(ctx, callTimeout)
	// A webhook left from webhook mode would make getUpdates fail with 409.
	if _, err := b.api.DeleteWebhook(dctx, &tg.DeleteWebhookParams{}); err != nil {
		b.logger.Warn("telegram deleteWebhook failed", "err", scrub(err.Error(), b.api.Token()))
	}
	cancel()
	b.logger.Info("telegram bot polling for updates")
	b.api.Start(ctx)
}

func scrub(s, token string) string {
	if token == "" {
		return s
	}
	return strings.ReplaceAll(s, token, "[token]")
}
