package testutil_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	tg "github.com/go-telegram/bot"
	tgm "github.com/go-telegram/bot/models"

	"adpilot/testutil"
)

// The fake is checked against the real client library, so the bot's
// tests can trust it.

func newFakeBot(t *testing.T, fake *testutil.FakeTelegram, token string, opts ...tg.Option) *tg.Bot {
	t.Helper()
	opts = append([]tg.Option{tg.WithSkipGetMe(), tg.WithServerURL(fake.URL), tg.WithHTTPClient(3*time.Second, http.DefaultClient),
		tg.WithErrorsHandler(func(error) {})}, opts...)
	b, err := tg.New(token, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFakeTelegramPolling(t *testing.T) {
	fake := testutil.NewFakeTelegram(t)
	var mu sync.Mutex
	var got []string
	record := func(s string) { mu.Lock(); got = append(got, s); mu.Unlock() }
	b := newFakeBot(t, fake, fake.Token, tg.WithNotAsyncHandlers(),
		tg.WithDefaultHandler(func(ctx context.Context, b *tg.Bot, u *tgm.Update) {
			if u.CallbackQuery != nil {
				record("callback " + u.CallbackQuery.Data + " " + u.CallbackQuery.Message.Message.Text)
				_, _ = b.AnswerCallbackQuery(ctx, &tg.AnswerCallbackQueryParams{CallbackQueryID: u.CallbackQuery.ID, Text: "ok"})
			}
		}))
	b.RegisterHandler(tg.HandlerTypeMessageText, "start", tg.MatchTypeCommand, func(ctx context.Context, b *tg.Bot, u *tgm.Update) {
		record("start " + u.Message.Text + " " + string(u.Message.Chat.Type))
	})
	me, err := b.GetMe(context.Background())
	if err != nil || me.Username != fake.BotUsername {
		t.Fatalf("getMe = %+v, %v", me, err)
	}
	msg, err := b.SendMessage(context.Background(), &tg.SendMessageParams{ChatID: int64(-1001), Text: "<b>hi</b>", ParseMode: tgm.ParseModeHTML})
	if err != nil || msg.Chat.ID != -1001 || msg.Text != "hi" {
		t.Fatalf("sendMessage = %+v, %v", msg, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { b.Start(ctx); close(done) }()
	fake.QueueMessage(-1001, "Team", "", 55, "ann", "/start abc")
	cb := fake.QueueCallback(-1001, 55, msg.ID, "p:1")
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) && len(fake.Answers()) == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(got, "|") != "start /start abc group|callback p:1 hi" {
		t.Fatalf("handled %q", got)
	}
	if a := fake.Answers(); len(a) != 1 || a[0].CallbackQueryID != cb {
		t.Fatalf("answers %+v", a)
	}
	if fake.Conflicts() != 0 || fake.PollCount() == 0 {
		t.Fatalf("conflicts %d over %d polls", fake.Conflicts(), fake.PollCount())
	}
}

func TestFakeTelegramConflicts(t *testing.T) {
	fake := testutil.NewFakeTelegram(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 2 { // two replicas polling one token
		b := newFakeBot(t, fake, fake.Token)
		wg.Add(1)
		go func() { defer wg.Done(); b.Start(ctx) }()
	}
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) && fake.Conflicts() == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	if fake.Conflicts() == 0 {
		t.Fatal("two pollers met no 409")
	}
}

func TestFakeTelegramWebhookAndWire(t *testing.T) {
	fake := testutil.NewFakeTelegram(t)
	var hdr string
	var body []byte
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr = r.Header.Get("X-Telegram-Bot-Api-Secret-Token")
		body, _ = io.ReadAll(r.Body)
	}))
	defer hook.Close()
	b := newFakeBot(t, fake, fake.Token)
	if _, err := b.SetWebhook(context.Background(), &tg.SetWebhookParams{URL: hook.URL, SecretToken: "s3cret_-"}); err != nil {
		t.Fatal(err)
	}
	if u, s := fake.Webhook(); u != hook.URL || s != "s3cret_-" {
		t.Fatalf("webhook %q %q", u, s)
	}
	// getUpdates while a webhook is set: 409.
	if _, err := http.Post(fake.URL+"/bot"+fake.Token+"/getUpdates", "application/json", strings.NewReader(`{"timeout":0}`)); err != nil || fake.Conflicts() != 1 {
		t.Fatalf("conflicts %d, %v", fake.Conflicts(), err)
	}
	if st, err := fake.DeliverWebhook(testutil.FakeTelegramMessageUpdate(0, 5, "Ann", "", 5, "ann", "/help")); err != nil || st != 200 || hdr != "s3cret_-" {
		t.Fatalf("deliver %d %v %q", st, err, hdr)
	}
	var u tgm.Update
	if err := json.Unmarshal(body, &u); err != nil || u.ID == 0 || u.Message.Text != "/help" || u.Message.Entities[0].Type != "bot_command" {
		t.Fatalf("update %s: %v", body, err)
	}
	// JSON and urlencoded parameters, errors in the wire format.
	resp, _ := http.PostForm(fake.URL+"/bot"+fake.Token+"/sendMessage", url.Values{"chat_id": {"5"}, "text": {"a < b"}, "parse_mode": {"HTML"}})
	var r struct {
		OK          bool   `json:"ok"`
		Code        int    `json:"error_code"`
		Description string `json:"description"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&r)
	resp.Body.Close()
	if r.OK || r.Code != 400 || !strings.Contains(r.Description, "can't parse entities") {
		t.Fatalf("unescaped '<' accepted: %+v", r)
	}
	resp, _ = http.Post(fake.URL+"/bot"+fake.Token+"/sendMessage", "application/json", strings.NewReader(`{"chat_id":5,"text":"a &lt; b","parse_mode":"HTML"}`))
	resp.Body.Close()
	if s := fake.Sent(); resp.StatusCode != 200 || len(s) != 1 || s[0].ChatID != 5 {
		t.Fatalf("JSON send: %d %+v", resp.StatusCode, s)
	}
	for path, want := range map[string]int{"/botWRONG:1/getMe": 401, "/bot" + fake.Token + "/noSuchMethod": 404} {
		resp, _ := http.Post(fake.URL+path, "application/json", strings.NewReader(`{}`))
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", path, resp.StatusCode, want)
		}
	}
}
