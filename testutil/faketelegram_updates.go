package testutil

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf16"
)

// Update builders: the maps go to QueueUpdate (polling); FakeTelegramUpdate
// turns one into the JSON body Telegram POSTs to a webhook.

var tgSeq atomic.Int64 // message and update ids of builders, unique per process

func init() { tgSeq.Store(700000) }

// tgChat is a chat object; the type follows from the id when chatType is
// "": positive ids are private chats, -100… supergroups, others groups.
func tgChat(id int64, title, chatType string) map[string]any {
	if chatType == "" {
		switch {
		case id > 0:
			chatType = "private"
		case id < -1000000000000:
			chatType = "supergroup"
		default:
			chatType = "group"
		}
	}
	c := map[string]any{"id": id, "type": chatType}
	if chatType == "private" {
		c["first_name"] = title
	} else {
		c["title"] = title
	}
	return c
}

func tgUser(id int64, username string) map[string]any {
	return map[string]any{"id": id, "is_bot": false, "first_name": username, "username": username, "language_code": "en"}
}

func tgCallbackID(n int) string { return "90000" + strconv.Itoa(100000+n) }

// FakeTelegramMessageUpdate is an update with a text message from user
// fromID in chatID. A leading /command gets its bot_command entity, as
// Telegram adds it (go-telegram/bot matches commands by entity). updateID
// 0 leaves update_id to QueueUpdate or FakeTelegramUpdate.
func FakeTelegramMessageUpdate(updateID, chatID int64, chatTitle, chatType string, fromID int64, fromUsername, text string) map[string]any {
	msg := map[string]any{"message_id": tgSeq.Add(1), "date": time.Now().Unix(), "chat": tgChat(chatID, chatTitle, chatType),
		"from": tgUser(fromID, fromUsername), "text": text}
	if strings.HasPrefix(text, "/") {
		cmd, _, _ := strings.Cut(text, " ")
		cmd, _, _ = strings.Cut(cmd, "\n")
		msg["entities"] = []any{map[string]any{"type": "bot_command", "offset": 0, "length": len(utf16.Encode([]rune(cmd)))}}
	}
	return tgUpdate(updateID, "message", msg)
}

// FakeTelegramCallbackUpdate is a press of an inline button carrying data,
// under message messageID the bot sent to chatID.
func FakeTelegramCallbackUpdate(updateID, chatID, fromID int64, messageID int, callbackID, data string) map[string]any {
	msg := map[string]any{"message_id": messageID, "date": time.Now().Unix(), "chat": tgChat(chatID, "Chat", ""),
		"from": map[string]any{"id": 123456, "is_bot": true, "first_name": "adpilot test", "username": "adpilot_test_bot"}}
	cq := map[string]any{"id": callbackID, "from": tgUser(fromID, "user"+strconv.FormatInt(fromID, 10)),
		"chat_instance": "ci" + strconv.FormatInt(chatID, 10), "data": data, "message": msg}
	return tgUpdate(updateID, "callback_query", cq)
}

// FakeTelegramChatMemberUpdate is a my_chat_member update: the bot's status
// in chatID changed from oldStatus to newStatus ("member", "left",
// "kicked", "administrator") by user fromID.
func FakeTelegramChatMemberUpdate(updateID, chatID int64, chatTitle string, fromID int64, oldStatus, newStatus string) map[string]any {
	bot := map[string]any{"id": 123456, "is_bot": true, "first_name": "adpilot test", "username": "adpilot_test_bot"}
	cm := map[string]any{"chat": tgChat(chatID, chatTitle, ""), "from": tgUser(fromID, "user"+strconv.FormatInt(fromID, 10)),
		"date":            time.Now().Unix(),
		"old_chat_member": map[string]any{"status": oldStatus, "user": bot},
		"new_chat_member": map[string]any{"status": newStatus, "user": bot}}
	return tgUpdate(updateID, "my_chat_member", cm)
}

func tgUpdate(updateID int64, kind string, v map[string]any) map[string]any {
	u := map[string]any{kind: v}
	if updateID != 0 {
		u["update_id"] = updateID
	}
	return u
}

// FakeTelegramUpdate is the JSON of u, with an update_id when it has none.
func FakeTelegramUpdate(u map[string]any) []byte {
	if _, ok := tgInt(u["update_id"]); !ok {
		u["update_id"] = tgSeq.Add(1)
	}
	b, err := json.Marshal(u)
	if err != nil {
		panic(err) // builders only hold JSON-able values
	}
	return b
}

// DeliverWebhook POSTs u to the webhook set with setWebhook, with the
// X-Telegram-Bot-Api-Secret-Token header, as Telegram does; it returns the
// HTTP status. Telegram would retry anything but a 2xx.
func (f *FakeTelegram) DeliverWebhook(u map[string]any) (int, error) {
	f.mu.Lock()
	hook, secret := f.hookURL, f.hookSec
	if _, ok := tgInt(u["update_id"]); !ok {
		f.assignUpdateID(u)
	}
	f.mu.Unlock()
	if hook == "" {
		return 0, errors.New("faketelegram: no webhook set")
	}
	req, err := http.NewRequest(http.MethodPost, hook, bytes.NewReader(FakeTelegramUpdate(u)))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
