package notify

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"
)

const (
	telegramCallTimeout = 15 * time.Second
	// A 429 asking for a longer wait than this is handed back to the queue
	// (Kind Retry with RetryAfter) rather than holding a worker.
	telegramMaxInlineWait = 30 * time.Second
	telegramMaxRetries    = 3        // 429 retries within one Send, Edit or Answer
	telegramPhotoLimit    = 10 << 20 // bigger images go as documents
)

// Telegram sends messages through the Bot API (go-telegram/bot as the
// HTTP client; it never polls). It is safe for concurrent use.
type Telegram struct {
	api    *bot.Bot
	token  string
	client *http.Client
	now    func() time.Time
	sleep  func(context.Context, time.Duration) error
	limits *telegramLimits
}

// TelegramOption configures a Telegram sender.
type TelegramOption func(*Telegram)

// WithTelegramHTTPClient sets the HTTP client of Bot API calls.
func WithTelegramHTTPClient(c *http.Client) TelegramOption {
	return func(t *Telegram) { t.client = c }
}

// WithTelegramClock replaces the clock and the sleep used by the rate
// limiter and the 429 waits (tests).
func WithTelegramClock(now func() time.Time, sleep func(context.Context, time.Duration) error) TelegramOption {
	return func(t *Telegram) { t.now, t.sleep = now, sleep }
}

// WithTelegramLimits sets the in-process rate limits: messages per second
// per chat, per minute per group chat, and per second overall. Zero or
// less disables that limit. Defaults: 1/s, 20/min, 30/s.
func WithTelegramLimits(perChat, perGroupPerMinute, global float64) TelegramOption {
	return func(t *Telegram) { t.limits = newTelegramLimits(perChat, perGroupPerMinute, global) }
}

// NewTelegram returns a sender for the bot token, talking to apiURL
// (https://api.telegram.org when empty). It makes no request.
func NewTelegram(token, apiURL string, opts ...TelegramOption) (*Telegram, error) {
	if strings.TrimSpace(token) == "" {
		return nil, errors.New("telegram: no bot token")
	}
	if apiURL == "" {
		apiURL = "https://api.telegram.org"
	}
	t := &Telegram{
		token: token,
		// A backstop above a long poll, should Bot() be used to poll; each
		// send has its own 15 s deadline.
		client: &http.Client{Timeout: 70 * time.Second},
		now:    time.Now,
		sleep:  sleepCtx,
		limits: newTelegramLimits(defaultPerChat, defaultPerGroupPerMinute, defaultGlobal),
	}
	for _, o := range opts {
		o(t)
	}
	api, err := bot.New(token, bot.WithSkipGetMe(), bot.WithServerURL(strings.TrimRight(apiURL, "/")),
		bot.WithHTTPClient(50*time.Second, t.client),
		bot.WithErrorsHandler(func(err error) {
			slog.Warn("telegram client error", "err", t.scrub(err.Error()))
		}))
	if err != nil {
		return nil, errors.New("telegram: " + t.scrub(err.Error()))
	}
	t.api = api
	return t, nil
}

// Bot is the underlying client, for the bot package to reuse.
func (t *Telegram) Bot() *bot.Bot { return t.api }

// Sent lists the Telegram message ids a Send created, in order.
type Sent struct{ MessageIDs []int }

// sendCall is one Bot API call of a Send; fn returns the new message id.
type sendCall struct {
	method string
	fn     func(ctx context.Context) (int, error)
}

// Send delivers m to chatID: the text (split when too long), then the
// images as photos, then the files as documents. On failure it returns the
// ids sent so far with an *Error, so the caller can record a partial send.
func (t *Telegram) Send(ctx context.Context, chatID int64, m Message) (Sent, error) {
	var calls []sendCall
	markup := inlineKeyboard(m.Buttons)
	parts := splitHTML(telegramHTML(m), telegramTextLimit)
	if len(parts) == 1 && strings.TrimSpace(plainText(parts[0])) == "" {
		parts = nil
	}
	for i, part := range parts {
		p := &bot.SendMessageParams{ChatID: chatID, Text: part, ParseMode: models.ParseModeHTML,
			LinkPreviewOptions: &models.LinkPreviewOptions{IsDisabled: bot.True()}}
		if i == len(parts)-1 && markup != nil { // the keyboard belongs under the whole text
			p.ReplyMarkup = markup
		}
		calls = append(calls, sendCall{"sendMessage", func(ctx context.Context) (int, error) {
			msg, err := t.api.SendMessage(ctx, p)
			return msgID(msg), err
		}})
	}
	caption := telegramCaption(m.Title)
	type item struct {
		a     Attachment
		photo bool
	}
	var items []item
	for _, a := range m.Images {
		items = append(items, item{a, len(a.Data) <= telegramPhotoLimit}) // bigger: as a document
	}
	for _, a := range m.Files {
		items = append(items, item{a, false})
	}
	for i, it := range items {
		var kb models.ReplyMarkup
		if len(parts) == 0 && i == len(items)-1 { // no text: the keyboard goes under the last upload
			kb = markup
		}
		c := ""
		if i < len(m.Images) { // images carry the title; files follow the text
			c = caption
		}
		calls = append(calls, t.upload(chatID, it.a, c, it.photo, kb))
	}
	if len(calls) == 0 {
		return Sent{}, &Error{Kind: Permanent, Message: "telegram: the message is empty"}
	}
	var sent Sent
	budget := telegramMaxRetries
	for _, call := range calls {
		var id int
		err := t.call(ctx, chatID, &budget, call.method, func(ctx context.Context) error {
			var err error
			id, err = call.fn(ctx)
			return err
		})
		if err != nil {
			return sent, err
		}
		sent.MessageIDs = append(sent.MessageIDs, id)
	}
	return sent, nil
}

// upload sends a as a photo or a document. It makes a fresh reader per
// attempt: a retry must upload the bytes again.
func (t *Telegram) upload(chatID int64, a Attachment, caption string, photo bool, kb models.ReplyMarkup) sendCall {
	name, method := a.Name, "sendDocument"
	if photo {
		method = "sendPhoto"
	}
	if name == "" { // without a file name the part is no upload
		name = "attachment"
		if photo {
			name = "image.png"
		}
	}
	file := func() *models.InputFileUpload {
		return &models.InputFileUpload{Filename: name, Data: bytes.NewReader(a.Data)}
	}
	return sendCall{method, func(ctx context.Context) (int, error) {
		var msg *models.Message
		var err error
		if photo {
			msg, err = t.api.SendPhoto(ctx, &bot.SendPhotoParams{ChatID: chatID, Photo: file(),
				Caption: caption, ParseMode: models.ParseModeHTML, ReplyMarkup: kb})
		} else {
			msg, err = t.api.SendDocument(ctx, &bot.SendDocumentParams{ChatID: chatID, Document: file(),
				Caption: caption, ParseMode: models.ParseModeHTML, ReplyMarkup: kb})
		}
		return msgID(msg), err
	}}
}

func msgID(m *models.Message) int {
	if m == nil {
		return 0
	}
	return m.ID
}

func inlineKeyboard(rows [][]Button) models.ReplyMarkup {
	if len(rows) == 0 {
		return nil
	}
	kb := make([][]models.InlineKeyboardButton, len(rows))
	for i, row := range rows {
		for _, b := range row {
			kb[i] = append(kb[i], models.InlineKeyboardButton{Text: b.Text, CallbackData: b.CallbackData, URL: b.URL})
		}
	}
	return &models.InlineKeyboardMarkup{InlineKeyboard: kb}
}

// Edit replaces the text (HTML) and keyboard of a sent message; nil
// buttons remove the keyboard. Telegram's "message is not modified" (the
// same content again, e.g. a double tap) counts as success.
func (t *Telegram) Edit(ctx context.Context, chatID int64, messageID int, html string, buttons [][]Button) error {
	p := &bot.EditMessageTextParams{ChatID: chatID, MessageID: messageID, Text: html, ParseMode: models.ParseModeHTML,
		LinkPreviewOptions: &models.LinkPreviewOptions{IsDisabled: bot.True()}}
	if kb := inlineKeyboard(buttons); kb != nil {
		p.ReplyMarkup = kb
	}
	budget := telegramMaxRetries
	err := t.call(ctx, chatID, &budget, "editMessageText", func(ctx context.Context) error {
		_, err := t.api.EditMessageText(ctx, p)
		return err
	})
	var ne *Error
	if errors.As(err, &ne) && strings.Contains(strings.ToLower(ne.Message), "message is not modified") {
		return nil
	}
	return err
}

// Answer answers a callback query (stops the button's spinner; text, when
// set, shows as a toast).
func (t *Telegram) Answer(ctx context.Context, callbackQueryID, text string) error {
	budget := telegramMaxRetries
	return t.call(ctx, 0, &budget, "answerCallbackQuery", func(ctx context.Context) error {
		_, err := t.api.AnswerCallbackQuery(ctx, &bot.AnswerCallbackQueryParams{CallbackQueryID: callbackQueryID, Text: text})
		return err
	})
}
