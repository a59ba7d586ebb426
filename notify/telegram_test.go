package notify_test

import (
	"context"
	"errors"
	"html"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"adpilot/notify"
	"adpilot/testutil"
)

// fakeClock makes the limiter and the 429 waits instant and observable.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return nil
}

func (c *fakeClock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

func newTelegram(t *testing.T, opts ...notify.TelegramOption) (*notify.Telegram, *testutil.FakeTelegram, *fakeClock) {
	t.Helper()
	fake := testutil.NewFakeTelegram(t)
	clk := &fakeClock{now: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)}
	opts = append([]notify.TelegramOption{notify.WithTelegramClock(clk.Now, clk.Sleep)}, opts...)
	tg, err := notify.NewTelegram(fake.Token, fake.URL, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return tg, fake, clk
}

var tagRe = regexp.MustCompile(`<[^>]*>`)

func plain(s string) string { return html.UnescapeString(tagRe.ReplaceAllString(s, "")) }

func u16(s string) int { return len(utf16.Encode([]rune(s))) }

func TestTelegramEscapeHTML(t *testing.T) {
	if got := notify.EscapeHTML(`a<b>&"c"`); got != `a&lt;b&gt;&amp;"c"` {
		t.Fatalf("EscapeHTML = %q", got)
	}
	tg, fake, _ := newTelegram(t)
	sent, err := tg.Send(context.Background(), 42, notify.Message{Title: "<Spend & ROAS>", Text: "CPC > 1 & CTR < 2"})
	if err != nil || len(sent.MessageIDs) != 1 {
		t.Fatalf("Send = %v, %v", sent, err)
	}
	m := fake.Sent()[0]
	if want := "<b>&lt;Spend &amp; ROAS&gt;</b>\nCPC &gt; 1 &amp; CTR &lt; 2"; m.Text != want || m.ParseMode != "HTML" {
		t.Fatalf("text %q (%s), want %q", m.Text, m.ParseMode, want)
	}
	if !strings.Contains(m.LinkPreview, `"is_disabled":true`) {
		t.Fatalf("link previews not disabled: %q", m.LinkPreview)
	}
}

func TestTelegramSplitsLongMessages(t *testing.T) {
	tg, fake, _ := newTelegram(t)
	// ~10,000 characters; <b> and <a> stay open across the cuts.
	var b strings.Builder
	b.WriteString("<b>Daily report &amp; alerts</b>\n<blockquote><b>")
	for i := 0; b.Len() < 10000; i++ {
		b.WriteString("Campaign <i>spring</i> — spend 12.50 &lt; budget, <a href=\"https://example.com/c\">open</a> row\n")
	}
	b.WriteString("</b></blockquote>\nend")
	src := b.String()
	buttons := [][]notify.Button{{{Text: "Pause", CallbackData: "p:1"}, {Text: "Open", URL: "https://example.com"}}}
	sent, err := tg.Send(context.Background(), 7, notify.Message{TelegramHTML: src, Buttons: buttons})
	if err != nil {
		t.Fatal(err)
	}
	msgs := fake.Sent()
	if len(msgs) < 3 || len(sent.MessageIDs) != len(msgs) {
		t.Fatalf("%d messages, ids %v", len(msgs), sent.MessageIDs)
	}
	origLines := map[string]bool{"": true}
	for _, l := range strings.Split(plain(src), "\n") {
		origLines[l] = true
	}
	var all strings.Builder
	for i, m := range msgs {
		if u16(m.Text) > 4096 {
			t.Errorf("part %d has %d characters", i, u16(m.Text))
		}
		if i > 0 && !strings.HasPrefix(m.Text, "<blockquote><b>") {
			t.Errorf("part %d does not reopen the open tags: %.40q", i, m.Text)
		}
		if i < len(msgs)-1 && !strings.HasSuffix(m.Text, "</b></blockquote>") {
			t.Errorf("part %d does not close the open tags: …%q", i, m.Text[len(m.Text)-40:])
		}
		for _, l := range strings.Split(plain(m.Text), "\n") {
			if !origLines[l] {
				t.Errorf("part %d holds a cut line %q", i, l)
			}
		}
		if hasKB := m.ReplyMarkup != ""; hasKB != (i == len(msgs)-1) {
			t.Errorf("part %d: keyboard %q", i, m.ReplyMarkup)
		}
		all.WriteString(plain(m.Text))
	}
	if strings.ReplaceAll(all.String(), "\n", "") != strings.ReplaceAll(plain(src), "\n", "") {
		t.Error("the parts do not add up to the message")
	}
	if last := msgs[len(msgs)-1].ReplyMarkup; !strings.Contains(last, `"callback_data":"p:1"`) || !strings.Contains(last, `"url":"https://example.com"`) {
		t.Errorf("keyboard %s", last)
	}
}

func TestTelegramHardSplitsLongLines(t *testing.T) {
	tg, fake, _ := newTelegram(t)
	// One line, no newline: 3,000 emoji (6,000 UTF-16 units) in <i>, then entities.
	src := "<i>" + strings.Repeat("😀", 3000) + "</i>" + strings.Repeat("x&amp;y ", 800)
	if _, err := tg.Send(context.Background(), 7, notify.Message{TelegramHTML: src}); err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for i, m := range fake.Sent() {
		if u16(m.Text) > 4096 {
			t.Errorf("part %d has %d UTF-16 units", i, u16(m.Text))
		}
		all.WriteString(plain(m.Text))
	}
	if len(fake.Sent()) < 2 || all.String() != plain(src) {
		t.Fatalf("%d parts, content preserved: %v", len(fake.Sent()), all.String() == plain(src))
	}
}

func TestTelegramUploadsImagesAndFiles(t *testing.T) {
	tg, fake, _ := newTelegram(t)
	png := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 1000)...)
	m := notify.Message{Title: "Spend <week>", Text: "Charts attached",
		Images:  []notify.Attachment{{Name: "spend.png", ContentType: "image/png", Data: png}, {Name: "ctr.png", ContentType: "image/png", Data: png[:500]}},
		Files:   []notify.Attachment{{Name: "report.csv", ContentType: "text/csv", Data: []byte("a,b\n1,2\n")}},
		Buttons: [][]notify.Button{{{Text: "Snooze", CallbackData: "s:1"}}}}
	sent, err := tg.Send(context.Background(), -1001234567890, m)
	if err != nil {
		t.Fatal(err)
	}
	msgs := fake.Sent()
	want := []struct {
		method, file string
		size         int64
	}{{"sendMessage", "", 0}, {"sendPhoto", "spend.png", 1008}, {"sendPhoto", "ctr.png", 500}, {"sendDocument", "report.csv", 8}}
	if len(msgs) != len(want) || len(sent.MessageIDs) != len(want) {
		t.Fatalf("sent %+v", msgs)
	}
	for i, w := range want {
		if msgs[i].Method != w.method || msgs[i].FileName != w.file || msgs[i].FileSize != w.size || sent.MessageIDs[i] != msgs[i].MessageID {
			t.Errorf("#%d = %+v, want %+v", i, msgs[i], w)
		}
	}
	if msgs[1].Caption != "Spend &lt;week&gt;" || msgs[3].Caption != "" {
		t.Errorf("captions %q, %q", msgs[1].Caption, msgs[3].Caption)
	}
	if msgs[0].ReplyMarkup == "" || msgs[1].ReplyMarkup != "" {
		t.Errorf("the keyboard belongs to the text: %q / %q", msgs[0].ReplyMarkup, msgs[1].ReplyMarkup)
	}
}

func TestTelegramRateLimits(t *testing.T) {
	tg, _, clk := newTelegram(t)
	ctx := context.Background()
	for range 3 {
		if _, err := tg.Send(ctx, 5, notify.Message{Text: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	if got := clk.Sleeps(); len(got) != 2 || got[0] != time.Second || got[1] != time.Second {
		t.Fatalf("private chat waits %v, want [1s 1s]", got)
	}
	// A group: 1/s per chat, then 20/min (one every 3 s) per group.
	var first time.Time
	for i := range 2 {
		if _, err := tg.Send(ctx, -100, notify.Message{Text: "hi"}); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = clk.Now()
		}
	}
	if got := clk.Now().Sub(first); got != 3*time.Second {
		t.Fatalf("second group message %v after the first, want 3s", got)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := tg.Send(cctx, 5, notify.Message{Text: "hi"}); notify.KindOf(err) != notify.Retry {
		t.Fatalf("canceled send: %v", err)
	}
}

// checkErr asserts err's kind and that no error in its chain shows the token.
func checkErr(t *testing.T, err error, kind notify.FailureKind, token string) *notify.Error {
	t.Helper()
	var ne *notify.Error
	if !errors.As(err, &ne) || ne.Kind != kind {
		t.Fatalf("error %v (kind %d), want kind %d", err, notify.KindOf(err), kind)
	}
	for e := error(ne); e != nil; e = errors.Unwrap(e) {
		if strings.Contains(e.Error(), token) || strings.Contains(e.Error(), strings.Split(token, ":")[1]) {
			t.Fatalf("the token shows in %q", e.Error())
		}
	}
	return ne
}

func TestTelegramErrors(t *testing.T) {
	ra := func(n int) map[string]any { return map[string]any{"retry_after": n} }
	fail := func(n int, code int, desc string, params map[string]any) func(*testutil.FakeTelegram) {
		return func(f *testutil.FakeTelegram) { f.FailN(n, "sendMessage", 9, code, desc, params) }
	}
	cases := []struct {
		name    string
		setup   func(f *testutil.FakeTelegram)
		kind    notify.FailureKind
		status  int
		retry   time.Duration // RetryAfter
		newChat int64
		waits   int // 429 waits taken inline
	}{
		{"blocked", func(f *testutil.FakeTelegram) { f.Block(9) }, notify.Gone, 403, 0, 0, 0},
		{"kicked", fail(1, 403, "Forbidden: bot was kicked from the group chat", nil), notify.Gone, 403, 0, 0, 0},
		{"migrated", func(f *testutil.FakeTelegram) { f.Migrate(9, -1009999) }, notify.Migrated, 400, 0, -1009999, 0},
		{"bad request", fail(1, 400, "Bad Request: can't parse entities", nil), notify.Permanent, 400, 0, 0, 0},
		{"chat not found", fail(1, 400, "Bad Request: chat not found", nil), notify.Gone, 400, 0, 0, 0},
		{"server error", fail(1, 502, "Bad Gateway", nil), notify.Retry, 502, 0, 0, 0},
		// Beyond 30 s the wait goes back to the queue: no inline wait.
		{"long retry_after", fail(1, 429, "Too Many Requests: retry after 60", ra(60)), notify.Retry, 429, time.Minute, 0, 0},
		{"429 four times", fail(4, 429, "Too Many Requests: retry after 1", ra(1)), notify.Retry, 429, time.Second, 0, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tg, fake, clk := newTelegram(t)
			c.setup(fake)
			_, err := tg.Send(context.Background(), 9, notify.Message{Title: "Alert", Text: "CPA above 12"})
			e := checkErr(t, err, c.kind, fake.Token)
			if e.StatusCode != c.status || e.RetryAfter != c.retry || e.NewChatID != c.newChat {
				t.Errorf("got %+v", e)
			}
			if len(clk.Sleeps()) != c.waits || fake.Calls("sendMessage") != c.waits+1 {
				t.Errorf("waited %v over %d calls", clk.Sleeps(), fake.Calls("sendMessage"))
			}
		})
	}
}

func TestTelegramRetriesAfter429(t *testing.T) {
	tg, fake, clk := newTelegram(t)
	fake.FailNext("sendMessage", 9, 429, "Too Many Requests: retry after 2", map[string]any{"retry_after": 2})
	sent, err := tg.Send(context.Background(), 9, notify.Message{Text: "hello"})
	if err != nil || len(sent.MessageIDs) != 1 {
		t.Fatalf("Send = %v, %v", sent, err)
	}
	if got := clk.Sleeps(); len(got) != 1 || got[0] != 2*time.Second || fake.Calls("sendMessage") != 2 {
		t.Fatalf("waits %v over %d calls, want [2s] over 2", got, fake.Calls("sendMessage"))
	}
}

func TestTelegramPartialSend(t *testing.T) {
	tg, fake, _ := newTelegram(t)
	fake.FailNext("sendPhoto", 0, 403, "Forbidden: bot was blocked by the user", nil)
	sent, err := tg.Send(context.Background(), 9, notify.Message{Text: "chart:", Images: []notify.Attachment{{Name: "a.png", Data: []byte("png")}}})
	checkErr(t, err, notify.Gone, fake.Token)
	if len(sent.MessageIDs) != 1 || sent.MessageIDs[0] != fake.Sent()[0].MessageID {
		t.Fatalf("sent %v, want the text's id", sent.MessageIDs)
	}
	if _, err := tg.Send(context.Background(), 9, notify.Message{}); notify.KindOf(err) != notify.Permanent {
		t.Fatalf("empty message: %v", err)
	}
}

func TestTelegramOperatorAndNetworkErrors(t *testing.T) {
	fake := testutil.NewFakeTelegram(t)
	const bad = "999999:SECRET-wrong-token"
	tg, err := notify.NewTelegram(bad, fake.URL)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tg.Send(context.Background(), 9, notify.Message{Text: "x"})
	if e := checkErr(t, err, notify.Retry, bad); e.StatusCode != 401 || !strings.Contains(e.Error(), "TELEGRAM_BOT_TOKEN") {
		t.Fatalf("unauthorized: %v", e)
	}
	// Nothing listens: the library's url.Error quotes the URL with the token.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	tg, _ = notify.NewTelegram(bad, dead.URL)
	_, err = tg.Send(context.Background(), 9, notify.Message{Text: "x"})
	checkErr(t, err, notify.Retry, bad)
	// A slow answer beyond the client's timeout.
	fake.Delay("sendMessage", 2*time.Second)
	tg, _ = notify.NewTelegram(fake.Token, fake.URL, notify.WithTelegramHTTPClient(&http.Client{Timeout: 50 * time.Millisecond}))
	_, err = tg.Send(context.Background(), 9, notify.Message{Text: "x"})
	checkErr(t, err, notify.Retry, fake.Token)
}

func TestTelegramEditAndAnswer(t *testing.T) {
	tg, fake, _ := newTelegram(t)
	ctx := context.Background()
	sent, err := tg.Send(ctx, 9, notify.Message{Text: "Alert", Buttons: [][]notify.Button{{{Text: "Pause", CallbackData: "p:1"}}}})
	if err != nil {
		t.Fatal(err)
	}
	id := sent.MessageIDs[0]
	for range 2 { // the second edit changes nothing: Telegram's 400 is success
		if err := tg.Edit(ctx, 9, id, "Alert — <b>paused</b>", nil); err != nil {
			t.Fatal(err)
		}
	}
	if e := fake.Edits(); len(e) != 1 || e[0].MessageID != id || e[0].Text != "Alert — <b>paused</b>" || e[0].ReplyMarkup != "" {
		t.Fatalf("edits %+v", e)
	}
	fake.FailNext("editMessageText", 9, 400, "Bad Request: message to edit not found", nil)
	checkErr(t, tg.Edit(ctx, 9, 777, "x", nil), notify.Permanent, fake.Token)
	cb := fake.QueueCallback(9, 1, id, "p:1")
	if err := tg.Answer(ctx, cb, "Paused"); err != nil {
		t.Fatal(err)
	}
	if a := fake.Answers(); len(a) != 1 || a[0].CallbackQueryID != cb || a[0].Text != "Paused" {
		t.Fatalf("answers %+v", a)
	}
}
