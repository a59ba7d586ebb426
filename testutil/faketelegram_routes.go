package testutil

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// tgSendMethods are the chat-bound calls Block and Migrate affect.
var tgSendMethods = map[string]bool{"sendmessage": true, "sendphoto": true, "senddocument": true, "editmessagetext": true}

// Telegram's method names are case-insensitive.
func tgMethodKey(m string) string { return strings.ToLower(m) }

func (f *FakeTelegram) serve(w http.ResponseWriter, r *http.Request) {
	token, method, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/bot"), "/")
	if !strings.HasPrefix(r.URL.Path, "/bot") || !ok || token != f.Token {
		tgError(w, http.StatusUnauthorized, "Unauthorized", nil)
		return
	}
	key := tgMethodKey(method)
	p := tgParams(r)
	chatID, _ := strconv.ParseInt(p.v["chat_id"], 10, 64)

	f.mu.Lock()
	f.calls[key]++
	delay := f.delays[key]
	fail := f.takeFailure(key, chatID)
	blocked, newID := f.blocked[chatID], f.migrated[chatID]
	f.mu.Unlock()

	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	switch {
	case fail != nil:
		tgError(w, fail.code, fail.description, fail.params)
		return
	case tgSendMethods[key] && blocked:
		desc := "Forbidden: bot was blocked by the user"
		if chatID < 0 {
			desc = "Forbidden: bot was kicked from the group chat"
		}
		tgError(w, http.StatusForbidden, desc, nil)
		return
	case tgSendMethods[key] && newID != 0:
		tgError(w, http.StatusBadRequest, "Bad Request: group chat was upgraded to a supergroup chat",
			map[string]any{"migrate_to_chat_id": newID})
		return
	}

	switch key {
	case "getme":
		tgOK(w, map[string]any{"id": f.BotID, "is_bot": true, "first_name": "adpilot test", "username": f.BotUsername,
			"can_join_groups": true, "can_read_all_group_messages": false, "supports_inline_queries": false})
	case "sendmessage", "sendphoto", "senddocument":
		f.send(w, key, chatID, p)
	case "editmessagetext":
		f.edit(w, chatID, p)
	case "answercallbackquery":
		if p.v["callback_query_id"] == "" {
			tgError(w, http.StatusBadRequest, "Bad Request: QUERY_ID_INVALID", nil)
			return
		}
		f.locked(func() {
			f.answers = append(f.answers, FakeTelegramAnswer{CallbackQueryID: p.v["callback_query_id"],
				Text: p.v["text"], ShowAlert: p.v["show_alert"] == "true"})
		})
		tgOK(w, true)
	case "setwebhook":
		if s := p.v["secret_token"]; s != "" && !tgSecretRe.MatchString(s) {
			tgError(w, http.StatusBadRequest, "Bad Request: secret token contains unallowed characters", nil)
			return
		}
		f.locked(func() { f.hookURL, f.hookSec = p.v["url"], p.v["secret_token"] })
		tgOKDesc(w, true, "Webhook was set")
	case "deletewebhook":
		f.locked(func() {
			f.hookURL, f.hookSec = "", ""
			if p.v["drop_pending_updates"] == "true" {
				f.updates = nil
			}
		})
		tgOKDesc(w, true, "Webhook was deleted")
	case "getwebhookinfo":
		f.mu.Lock()
		info := map[string]any{"url": f.hookURL, "has_custom_certificate": false, "pending_update_count": len(f.updates)}
		f.mu.Unlock()
		tgOK(w, info)
	case "getupdates":
		f.getUpdates(w, r, p)
	default:
		tgError(w, http.StatusNotFound, "Not Found", nil)
	}
}

// takeFailure consumes the first injected failure matching the call.
func (f *FakeTelegram) takeFailure(method string, chatID int64) *fakeTGFailure {
	for i, fl := range f.failures {
		if (fl.method == "" || fl.method == method) && (fl.chatID == 0 || fl.chatID == chatID) {
			if fl.times--; fl.times <= 0 {
				f.failures = append(f.failures[:i:i], f.failures[i+1:]...)
			}
			return fl
		}
	}
	return nil
}

func (f *FakeTelegram) send(w http.ResponseWriter, method string, chatID int64, p tgRequest) {
	if p.v["chat_id"] == "" || chatID == 0 {
		tgError(w, http.StatusBadRequest, "Bad Request: chat not found", nil)
		return
	}
	m := FakeTelegramMessage{Method: p.method(method), ChatID: chatID, ParseMode: p.v["parse_mode"],
		ReplyMarkup: p.v["reply_markup"], LinkPreview: p.v["link_preview_options"]}
	if desc := tgCheckMarkup(m.ReplyMarkup); desc != "" {
		tgError(w, http.StatusBadRequest, desc, nil)
		return
	}
	if method == "sendmessage" {
		m.Text = p.v["text"]
		if desc := tgCheckText(m.Text, m.ParseMode, 4096, "message text is empty", "message is too long"); desc != "" {
			tgError(w, http.StatusBadRequest, desc, nil)
			return
		}
	} else {
		field, limit := "photo", int64(10<<20)
		if method == "senddocument" {
			field, limit = "document", 50<<20
		}
		file, ok := p.files[field]
		if !ok && p.v[field] == "" {
			tgError(w, http.StatusBadRequest, "Bad Request: there is no "+field+" in the request", nil)
			return
		}
		if file.size > limit {
			tgError(w, http.StatusBadRequest, "Bad Request: file is too big", nil)
			return
		}
		m.FileName, m.FileSize, m.Caption = file.name, file.size, p.v["caption"]
		if m.Caption != "" {
			if desc := tgCheckText(m.Caption, m.ParseMode, 1024, "", "message caption is too long"); desc != "" {
				tgError(w, http.StatusBadRequest, desc, nil)
				return
			}
		}
	}
	f.mu.Lock()
	f.nextMsgID[chatID]++
	m.MessageID = f.nextMsgID[chatID]
	f.sent = append(f.sent, m)
	stored := m
	f.messages[[2]int64{chatID, int64(m.MessageID)}] = &stored
	f.mu.Unlock()
	tgOK(w, f.messageJSON(m))
}

func (f *FakeTelegram) edit(w http.ResponseWriter, chatID int64, p tgRequest) {
	msgID, _ := strconv.Atoi(p.v["message_id"])
	e := FakeTelegramEdit{ChatID: chatID, MessageID: msgID, Text: p.v["text"], ParseMode: p.v["parse_mode"], ReplyMarkup: p.v["reply_markup"]}
	if desc := tgCheckText(e.Text, e.ParseMode, 4096, "message text is empty", "message is too long"); desc != "" {
		tgError(w, http.StatusBadRequest, desc, nil)
		return
	}
	if msgID == 0 {
		tgError(w, http.StatusBadRequest, "Bad Request: message to edit not found", nil)
		return
	}
	f.mu.Lock()
	key := [2]int64{chatID, int64(msgID)}
	cur := f.messages[key]
	// Unknown messages are accepted (tests press buttons under messages the
	// fake never sent); a known one must change.
	if cur != nil && cur.Text == e.Text && cur.ReplyMarkup == e.ReplyMarkup {
		f.mu.Unlock()
		tgError(w, http.StatusBadRequest, "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message", nil)
		return
	}
	if cur == nil {
		cur = &FakeTelegramMessage{Method: "sendMessage", ChatID: chatID, MessageID: msgID}
		f.messages[key] = cur
	}
	cur.Text, cur.ParseMode, cur.ReplyMarkup = e.Text, e.ParseMode, e.ReplyMarkup
	f.edits = append(f.edits, e)
	m := *cur
	f.mu.Unlock()
	tgOK(w, f.messageJSON(m))
}

func (f *FakeTelegram) messageJSON(m FakeTelegramMessage) map[string]any {
	out := map[string]any{"message_id": m.MessageID, "date": time.Now().Unix(), "chat": tgChat(m.ChatID, "", ""),
		"from": map[string]any{"id": f.BotID, "is_bot": true, "first_name": "adpilot test", "username": f.BotUsername}}
	if m.Text != "" {
		out["text"] = tgPlainOrRaw(m.Text, m.ParseMode)
	}
	if m.Caption != "" {
		out["caption"] = tgPlainOrRaw(m.Caption, m.ParseMode)
	}
	file := map[string]any{"file_id": "file-" + strconv.Itoa(m.MessageID), "file_unique_id": "u" + strconv.Itoa(m.MessageID), "file_size": m.FileSize}
	switch m.Method {
	case "sendPhoto":
		file["width"], file["height"] = 800, 600
		out["photo"] = []any{file}
	case "sendDocument":
		file["file_name"] = m.FileName
		out["document"] = file
	}
	if m.ReplyMarkup != "" {
		out["reply_markup"] = json.RawMessage(m.ReplyMarkup)
	}
	return out
}

// getUpdates long-polls: it answers queued updates with update_id >=
// offset at once, else waits for one up to timeout (capped at 1 s). Like
// Telegram, a newer getUpdates terminates the one in flight with 409.
func (f *FakeTelegram) getUpdates(w http.ResponseWriter, r *http.Request, p tgRequest) {
	offset, _ := strconv.ParseInt(p.v["offset"], 10, 64)
	limit, _ := strconv.Atoi(p.v["limit"])
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	timeout, _ := strconv.Atoi(p.v["timeout"])
	f.mu.Lock()
	f.polls++
	if f.hookURL != "" {
		f.conflicts++
		f.mu.Unlock()
		tgError(w, http.StatusConflict, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first", nil)
		return
	}
	if f.poll != nil {
		close(f.poll)
	}
	mine := make(chan struct{})
	f.poll = mine
	f.mu.Unlock()

	wait := time.NewTimer(min(time.Duration(timeout)*time.Second, time.Second))
	defer wait.Stop()
	for {
		f.mu.Lock()
		var out []map[string]any
		kept := f.updates[:0:0]
		for _, u := range f.updates {
			id, _ := tgInt(u["update_id"])
			if offset > 0 && id < offset {
				continue // confirmed by this offset: forgotten, as by Telegram
			}
			kept = append(kept, u)
			if len(out) < limit {
				out = append(out, u)
			}
		}
		f.updates = kept
		changed := f.changed
		done := len(out) > 0 || timeout <= 0
		if done && f.poll == mine {
			f.poll = nil // before answering, so the client's next poll is no conflict
		}
		f.mu.Unlock()
		if done {
			tgOK(w, append([]map[string]any{}, out...))
			return
		}
		select {
		case <-changed:
		case <-wait.C:
			timeout = 0
		case <-mine:
			f.locked(func() { f.conflicts++ })
			tgError(w, http.StatusConflict, "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running", nil)
			return
		case <-r.Context().Done():
			f.locked(func() {
				if f.poll == mine {
					f.poll = nil
				}
			})
			return
		}
	}
}
