package testutil

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// FakeTelegram is an in-process Telegram Bot API speaking the real wire
// format (shared/reference/platform-apis.md §4): POST /bot<token>/<method>
// with multipart, urlencoded or JSON parameters, answered with
// {"ok":true,"result":…} or {"ok":false,"error_code":…,"description":…}.
// Routes live in faketelegram_routes.go, HTML checks and update builders in
// faketelegram_html.go.
type FakeTelegram struct {
	URL         string
	Token       string
	BotUsername string
	BotID       int64
	Server      *httptest.Server

	mu        sync.Mutex
	sent      []FakeTelegramMessage
	edits     []FakeTelegramEdit
	answers   []FakeTelegramAnswer
	messages  map[[2]int64]*FakeTelegramMessage // (chat, message id) → current content
	nextMsgID map[int64]int
	calls     map[string]int
	failures  []*fakeTGFailure
	blocked   map[int64]bool
	migrated  map[int64]int64
	delays    map[string]time.Duration
	updates   []map[string]any
	nextUpd   int64
	changed   chan struct{} // closed and replaced when updates are queued
	poll      chan struct{} // the in-flight getUpdates; closed to terminate it
	polls     int
	conflicts int
	hookURL   string
	hookSec   string
	callbacks int
}

// FakeTelegramMessage is one message the fake accepted (sendMessage,
// sendPhoto or sendDocument).
type FakeTelegramMessage struct {
	Method      string
	ChatID      int64
	MessageID   int
	Text        string
	ParseMode   string
	ReplyMarkup string // the reply_markup JSON as sent; "" without one
	LinkPreview string // the link_preview_options JSON as sent
	Caption     string
	FileName    string // sendPhoto / sendDocument upload
	FileSize    int64
}

// FakeTelegramEdit is one accepted editMessageText.
type FakeTelegramEdit struct {
	ChatID      int64
	MessageID   int
	Text        string
	ParseMode   string
	ReplyMarkup string
}

// FakeTelegramAnswer is one answerCallbackQuery.
type FakeTelegramAnswer struct {
	CallbackQueryID string
	Text            string
	ShowAlert       bool
}

type fakeTGFailure struct {
	method      string
	chatID      int64
	code        int
	description string
	params      map[string]any
	times       int
}

// NewFakeTelegram starts the fake for bot 123456 (@adpilot_test_bot).
func NewFakeTelegram(t testing.TB) *FakeTelegram {
	f := &FakeTelegram{
		Token: "123456:ABC-fake", BotUsername: "adpilot_test_bot", BotID: 123456,
		messages: map[[2]int64]*FakeTelegramMessage{}, nextMsgID: map[int64]int{}, calls: map[string]int{},
		blocked: map[int64]bool{}, migrated: map[int64]int64{}, delays: map[string]time.Duration{},
		changed: make(chan struct{}),
	}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	f.URL = f.Server.URL
	t.Cleanup(f.Server.Close)
	return f
}

// Env is the configuration pointing adpilot at the fake.
func (f *FakeTelegram) Env() map[string]string {
	return map[string]string{"TELEGRAM_BOT_TOKEN": f.Token, "TELEGRAM_API_URL": f.URL}
}

func (f *FakeTelegram) locked(fn func()) { f.mu.Lock(); defer f.mu.Unlock(); fn() }

// Sent returns the accepted messages, in order.
func (f *FakeTelegram) Sent() []FakeTelegramMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]FakeTelegramMessage(nil), f.sent...)
}

// SentTo returns the accepted messages of one chat.
func (f *FakeTelegram) SentTo(chatID int64) []FakeTelegramMessage {
	var out []FakeTelegramMessage
	for _, m := range f.Sent() {
		if m.ChatID == chatID {
			out = append(out, m)
		}
	}
	return out
}

// Calls counts the requests for method (case-insensitive), failed ones included.
func (f *FakeTelegram) Calls(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[tgMethodKey(method)]
}

// Edits returns the accepted editMessageText calls.
func (f *FakeTelegram) Edits() []FakeTelegramEdit {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]FakeTelegramEdit(nil), f.edits...)
}

// Answers returns the answerCallbackQuery calls.
func (f *FakeTelegram) Answers() []FakeTelegramAnswer {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]FakeTelegramAnswer(nil), f.answers...)
}

// Webhook returns the URL and secret_token of the set webhook ("" when none).
func (f *FakeTelegram) Webhook() (url, secret string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hookURL, f.hookSec
}

// PollCount is the number of getUpdates calls so far.
func (f *FakeTelegram) PollCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.polls
}

// Conflicts counts the getUpdates answered 409 (a second poller, or a
// webhook set): more than zero means two consumers ran at once.
func (f *FakeTelegram) Conflicts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.conflicts
}

// PendingUpdates is the number of queued updates not yet confirmed.
func (f *FakeTelegram) PendingUpdates() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.updates)
}

// FailNext makes the next call of method to chatID (0: any chat; method
// "": any method) answer error_code code with description and parameters
// (e.g. {"retry_after": 2} or {"migrate_to_chat_id": -100123}). Call it
// n times, or use FailN, to fail n calls.
func (f *FakeTelegram) FailNext(method string, chatID int64, code int, description string, params map[string]any) {
	f.FailN(1, method, chatID, code, description, params)
}

// FailN is FailNext for the next n matching calls.
func (f *FakeTelegram) FailN(n int, method string, chatID int64, code int, description string, params map[string]any) {
	f.locked(func() {
		f.failures = append(f.failures, &fakeTGFailure{method: tgMethodKey(method), chatID: chatID, code: code,
			description: description, params: params, times: max(n, 1)})
	})
}

// Block makes every send to chatID answer 403 (the user blocked the bot,
// or the bot was kicked from the group) until Unblock.
func (f *FakeTelegram) Block(chatID int64) { f.locked(func() { f.blocked[chatID] = true }) }

// Unblock undoes Block.
func (f *FakeTelegram) Unblock(chatID int64) { f.locked(func() { delete(f.blocked, chatID) }) }

// Migrate makes sends to oldID answer 400 with migrate_to_chat_id newID
// (the group became a supergroup).
func (f *FakeTelegram) Migrate(oldID, newID int64) { f.locked(func() { f.migrated[oldID] = newID }) }

// Delay makes answers to method wait d first (or until the client gives up).
func (f *FakeTelegram) Delay(method string, d time.Duration) {
	f.locked(func() { f.delays[tgMethodKey(method)] = d })
}

// QueueUpdate adds a raw update for getUpdates (update_id assigned when
// missing) and returns its update_id.
func (f *FakeTelegram) QueueUpdate(u map[string]any) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := f.assignUpdateID(u)
	f.updates = append(f.updates, u)
	close(f.changed) // wake a waiting long poll
	f.changed = make(chan struct{})
	return id
}

func (f *FakeTelegram) assignUpdateID(u map[string]any) int64 {
	if id, ok := tgInt(u["update_id"]); ok {
		f.nextUpd = max(f.nextUpd, id)
		return id
	}
	f.nextUpd++
	u["update_id"] = f.nextUpd
	return f.nextUpd
}

// QueueMessage queues a text message from user fromID in chatID; a chat
// type of "" means "private" for a positive id, else "supergroup".
func (f *FakeTelegram) QueueMessage(chatID int64, chatTitle, chatType string, fromID int64, fromUsername, text string) int64 {
	return f.QueueUpdate(FakeTelegramMessageUpdate(0, chatID, chatTitle, chatType, fromID, fromUsername, text))
}

// QueueCallback queues a press of an inline button with data under
// message messageID, and returns the callback query id to expect in
// Answers().
func (f *FakeTelegram) QueueCallback(chatID, fromID int64, messageID int, data string) (callbackID string) {
	f.mu.Lock()
	f.callbacks++
	callbackID = tgCallbackID(f.callbacks)
	text := ""
	if m := f.messages[[2]int64{chatID, int64(messageID)}]; m != nil {
		text = tgPlainOrRaw(m.Text, m.ParseMode) // what the client sees: entities parsed
	}
	f.mu.Unlock()
	u := FakeTelegramCallbackUpdate(0, chatID, fromID, messageID, callbackID, data)
	u["callback_query"].(map[string]any)["message"].(map[string]any)["text"] = text
	f.QueueUpdate(u)
	return callbackID
}
