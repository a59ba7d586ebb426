package bot

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"

	tg "github.com/go-telegram/bot"
	tgm "github.com/go-telegram/bot/models"
	"github.com/google/uuid"

	"adpilot/models"
)

// Button actions (one letter: callback data holds at most 64 bytes).
const (
	actionPause  = "p"
	actionResume = "r"
	actionRunNow = "n"
)

// sign builds callback data "<action>:<id>:<mac>": the id is a UUID in 22
// base64url characters and the mac 12 bytes of HMAC-SHA256, 41 bytes in all.
// Telegram hands the data back verbatim, so the MAC makes forged presses
// (a client can send any callback data) fail.
func (b *Bot) sign(action, id string) string {
	u, err := uuid.Parse(id)
	if err != nil {
		return ""
	}
	payload := action + ":" + base64.RawURLEncoding.EncodeToString(u[:])
	return payload + ":" + b.mac(payload)
}

func (b *Bot) mac(payload string) string {
	m := hmac.New(sha256.New, b.signKey)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:12])
}

var errBadCallback = errors.New("callback data is not ours")

// verify checks callback data and returns its action and id.
func (b *Bot) verify(data string) (string, string, error) {
	parts := strings.Split(data, ":")
	if len(parts) != 3 {
		return "", "", errBadCallback
	}
	payload := parts[0] + ":" + parts[1]
	if !hmac.Equal([]byte(parts[2]), []byte(b.mac(payload))) {
		return "", "", errBadCallback
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || len(raw) != 16 {
		return "", "", errBadCallback
	}
	id, _ := uuid.FromBytes(raw)
	return parts[0], id.String(), nil
}

// onCallback acts on a button press: signature, then the member's role,
// then the action; the answer pops up and the message shows the result.
func (b *Bot) onCallback(ctx context.Context, q *tgm.CallbackQuery) {
	if b.onAlertCallback(ctx, q) {
		return
	}
	action, id, err := b.verify(q.Data)
	if err != nil {
		b.answer(ctx, q.ID, "This button is not valid any more.")
		return
	}
	var chatID int64
	var messageID int
	if q.Message.Message != nil {
		chatID, messageID = q.Message.Message.Chat.ID, q.Message.Message.ID
	}
	u := b.memberFor(ctx, q.From.ID, chatID)
	if u == nil {
		b.answer(ctx, q.ID, "Link your Telegram account to adpilot first (Destinations → Add Telegram chat).")
		return
	}
	if models.RoleRank(u.Role) < models.RoleRank(models.RoleUser) {
		b.audit(ctx, *u, "telegram.refused", map[string]any{"action": action, "automation": id, "role": u.Role})
		b.answer(ctx, q.ID, "Your role ("+u.Role+") cannot change automations.")
		return
	}
	var a models.Automation
	var done string
	switch action {
	case actionPause:
		a, err = b.store.SetAutomationStatus(ctx, *u, id, models.AutomationPaused, "telegram", "")
		done = "Paused"
	case actionResume:
		a, err = b.resume(ctx, *u, id)
		done = "Resumed"
	case actionRunNow:
		a, err = b.runNow(ctx, *u, id)
		done = "Running now:"
	default:
		err = errBadCallback
	}
	switch {
	case errors.Is(err, models.ErrNotFound):
		b.answer(ctx, q.ID, "That automation is gone or not active.")
		return
	case err != nil:
		b.logger.Error("telegram: button action failed", "action", action, "err", err)
		b.answer(ctx, q.ID, "Something went wrong; try again.")
		return
	}
	note := done + " " + esc(a.Name) + " (by " + esc(u.DisplayName()) + ")"
	b.answer(ctx, q.ID, strings.ReplaceAll(note, "&#39;", "'"))
	if chatID == 0 {
		return
	}
	text, markup, err := b.automationsView(ctx, *u, note)
	if err != nil {
		return
	}
	ectx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	params := &tg.EditMessageTextParams{ChatID: chatID, MessageID: messageID, Text: text, ParseMode: tgm.ParseModeHTML}
	if markup != nil {
		params.ReplyMarkup = markup
	}
	if _, err := b.api.EditMessageText(ectx, params); err != nil && !strings.Contains(err.Error(), "message is not modified") {
		b.logger.Warn("telegram: editing the message failed", "err", scrub(err.Error(), b.api.Token()))
	}
}

func (b *Bot) answer(ctx context.Context, id, text string) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if _, err := b.api.AnswerCallbackQuery(ctx, &tg.AnswerCallbackQueryParams{CallbackQueryID: id, Text: text}); err != nil {
		b.logger.Warn("telegram: answering a button failed", "err", scrub(err.Error(), b.api.Token()))
	}
}

// onAlertCallback handles alert buttons (snooze, acknowledge, pause); it
// reports whether the press was one.
func (b *Bot) onAlertCallback(ctx context.Context, q *tgm.CallbackQuery) bool {
	parts := strings.Split(q.Data, ":")
	if len(parts) != 3 || (parts[0] != actionSnooze && parts[0] != actionAcknowledge && parts[0] != actionPauseEntity) {
		return false
	}
	payload := parts[0] + ":" + parts[1]
	if !hmac.Equal([]byte(parts[2]), []byte(b.mac(payload))) {
		b.answer(ctx, q.ID, "This button is not valid any more.")
		return true
	}
	var chatID int64
	if q.Message.Message != nil {
		chatID = q.Message.Message.Chat.ID
	}
	u := b.memberFor(ctx, q.From.ID, chatID)
	if u == nil {
		b.answer(ctx, q.ID, "Link your Telegram account to adpilot first (Destinations → Add Telegram chat).")
		return true
	}
	if models.RoleRank(u.Role) < models.RoleRank(models.RoleUser) {
		b.audit(ctx, *u, "telegram.refused", map[string]any{"action": parts[0], "role": u.Role})
		b.answer(ctx, q.ID, "Your role ("+u.Role+") cannot act on alerts.")
		return true
	}
	b.onAlertButton(ctx, q, parts[0], parts[1], *u)
	return true
}
