package notify_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"adpilot/models"
	"adpilot/notify"
	"adpilot/testutil"
	"adpilot/vault"
)

// queue is a store with one tenant and its admin, a clock the test moves,
// and a dispatcher on it.
type queue struct {
	store  *models.Store
	db     *sql.DB
	admin  models.User
	mu     sync.Mutex
	now    time.Time
	tg     *testutil.FakeTelegram
	logger *slog.Logger
}

func newQueue(t *testing.T) *queue {
	t.Helper()
	store, dbURL := testutil.NewStore(t)
	k, _ := vault.New(bytes.Repeat([]byte{7}, 32))
	store.SetVault(k)
	db, err := sql.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var tenant, user string
	if err := db.QueryRow(`INSERT INTO tenant (name, slug) VALUES ('Acme', 'acme') RETURNING id`).Scan(&tenant); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`INSERT INTO app_user (tenant_id, email, role) VALUES ($1, 'boss@acme.test', 'admin') RETURNING id`, tenant).Scan(&user); err != nil {
		t.Fatal(err)
	}
	q := &queue{store: store, db: db, now: time.Now(), tg: testutil.NewFakeTelegram(t), logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if q.admin, err = store.GetUser(context.Background(), tenant, user); err != nil {
		t.Fatal(err)
	}
	return q
}

func (q *queue) clock() time.Time { q.mu.Lock(); defer q.mu.Unlock(); return q.now }
func (q *queue) advance(d time.Duration) {
	q.mu.Lock()
	q.now = q.now.Add(d)
	q.mu.Unlock()
}

// dispatcher is what one replica runs; a "restart" is a new one on the same store.
func (q *queue) dispatcher(t *testing.T) *notify.Dispatcher {
	t.Helper()
	tg, err := notify.NewTelegram(q.tg.Token, q.tg.URL, notify.WithTelegramLimits(0, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	d := notify.NewDispatcher(q.store, tg, notify.NewWebhook(notify.URLPolicy{AllowPrivate: true}, notify.WithWebhookClock(q.clock)),
		q.logger, "https://adpilot.test")
	d.WithClock(q.clock)
	return d
}

func (q *queue) destination(t *testing.T, in models.DestinationInput) models.Destination {
	t.Helper()
	d, err := q.store.CreateDestination(context.Background(), q.admin, in, "")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (q *queue) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := q.db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

var report = notify.Message{Event: "report", Title: "Daily spend", Text: "Spend: 120.00 USD", Data: map[string]any{"spend": 120}}

func TestWebhookRetriesOnScheduleWithOneDeliveryIDAcrossARestart(t *testing.T) {
	q := newQueue(t)
	recv := testutil.NewWebhookReceiver(t, "whsec_test")
	recv.RespondWith(500, 503, 200)
	dest := q.destination(t, models.DestinationInput{Name: "Hook", Type: models.DestinationWebhook,
		Config: models.WebhookConfig{URL: recv.URL}, Secrets: &models.WebhookSecrets{SigningSecret: "whsec_test"}})
	ctx := context.Background()

	del, err := q.dispatcher(t).Enqueue(ctx, dest.TenantID, dest.ID, "", report)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := q.dispatcher(t).RunDue(ctx, 10, 2); n != 1 {
		t.Fatalf("first run attempted %d deliveries, want 1", n)
	}
	// Nothing is due until the schedule's first step (30 s ± 10 %).
	q.advance(20 * time.Second)
	if n, _ := q.dispatcher(t).RunDue(ctx, 10, 2); n != 0 {
		t.Fatalf("a retry ran %d deliveries before its time", n)
	}
	// "Restart": a fresh dispatcher on the same database picks it up.
	q.advance(15 * time.Second)
	if n, _ := q.dispatcher(t).RunDue(ctx, 10, 2); n != 1 {
		t.Fatalf("after the first backoff, %d attempted, want 1", n)
	}
	q.advance(3 * time.Minute)
	q.dispatcher(t).RunDue(ctx, 10, 2)
	got, _ := q.store.GetDelivery(ctx, dest.TenantID, del.ID)
	if got.Status != models.DeliveryDelivered || got.Attempts != 3 {
		atts, _ := q.store.ListAttempts(ctx, dest.TenantID, del.ID)
		t.Fatalf("delivery = %s after %d attempts, want delivered after 3: %+v", got.Status, got.Attempts, atts)
	}
	reqs := recv.Requests()
	if len(reqs) != 3 {
		t.Fatalf("receiver got %d requests, want 3", len(reqs))
	}
	for _, r := range reqs {
		if r.DeliveryID != del.ID || !r.SignatureValid || r.Event != "report" {
			t.Fatalf("request: id %q (want %q), signature valid %v, event %q", r.DeliveryID, del.ID, r.SignatureValid, r.Event)
		}
	}
	if n := q.count(t, `SELECT count(*) FROM delivery_attempt WHERE delivery_id = $1`, del.ID); n != 3 {
		t.Fatalf("%d attempts recorded, want 3", n)
	}
	// Delivered: never sent again.
	q.advance(24 * time.Hour)
	q.dispatcher(t).RunDue(ctx, 10, 2)
	if len(recv.Requests()) != 3 {
		t.Fatal("a delivered message was sent again")
	}
}

func TestWebhookGivesUpAfterTheScheduleAndTellsAdmins(t *testing.T) {
	q := newQueue(t)
	recv := testutil.NewWebhookReceiver(t, "s")
	statuses := make([]int, 20)
	for i := range statuses {
		statuses[i] = 502
	}
	recv.RespondWith(statuses...)
	dest := q.destination(t, models.DestinationInput{Name: "Flaky", Type: models.DestinationWebhook,
		Config: models.WebhookConfig{URL: recv.URL}, Secrets: &models.WebhookSecrets{SigningSecret: "s"}})
	ctx := context.Background()
	del, _ := q.dispatcher(t).Enqueue(ctx, dest.TenantID, dest.ID, "", report)
	start := q.clock()
	for range 15 {
		q.dispatcher(t).RunDue(ctx, 10, 1)
		// Jump to the next scheduled attempt.
		cur, _ := q.store.GetDelivery(ctx, dest.TenantID, del.ID)
		if cur.Status != models.DeliveryPending {
			break
		}
		q.advance(cur.NextAttemptAt.Sub(q.clock()) + time.Second)
	}
	got, _ := q.store.GetDelivery(ctx, dest.TenantID, del.ID)
	if got.Status != models.DeliveryFailed || got.Attempts != len(notify.RetrySchedule())+1 {
		t.Fatalf("delivery %s after %d attempts, want failed after %d", got.Status, got.Attempts, len(notify.RetrySchedule())+1)
	}
	var last time.Time
	if err := q.db.QueryRow(`SELECT max(started_at) FROM delivery_attempt WHERE delivery_id = $1`, del.ID).Scan(&last); err != nil {
		t.Fatal(err)
	}
	if span := last.Sub(start); span < 10*time.Hour || span > 14*time.Hour {
		t.Fatalf("retries spanned %v, want about 12 hours", span)
	}
	if n := q.count(t, `SELECT count(*) FROM email_outbox WHERE subject LIKE 'A delivery to Flaky failed%'`); n != 1 {
		t.Fatalf("%d failure notices, want 1", n)
	}
	// Another 4xx is not retried.
	recv2 := testutil.NewWebhookReceiver(t, "s")
	recv2.RespondWith(422)
	dest2 := q.destination(t, models.DestinationInput{Name: "Strict", Type: models.DestinationWebhook,
		Config: models.WebhookConfig{URL: recv2.URL}, Secrets: &models.WebhookSecrets{SigningSecret: "s"}})
	out, err := q.dispatcher(t).SendNow(ctx, dest2.TenantID, dest2.ID, report)
	if err != nil || out.Status != models.DeliveryFailed || out.Attempts != 1 {
		t.Fatalf("422: %+v, %v", out, err)
	}
}

func TestTelegramBlockedDeactivatesAndMigrationResends(t *testing.T) {
	q := newQueue(t)
	ctx := context.Background()
	blocked := q.destination(t, models.DestinationInput{Name: "Gone Chat", Type: models.DestinationTelegram,
		Config: models.TelegramConfig{ChatID: 4242, ChatTitle: "Gone Chat", ChatType: "private"}})
	q.tg.Block(4242)
	out, err := q.dispatcher(t).SendNow(ctx, blocked.TenantID, blocked.ID, report)
	if err != nil || out.Status != models.DeliveryFailed {
		t.Fatalf("blocked: %+v, %v", out, err)
	}
	d, _ := q.store.GetDestination(ctx, blocked.TenantID, blocked.ID)
	if d.IsActive || d.DeactivatedReason == "" {
		t.Fatalf("the destination stays active after a 403: %+v", d)
	}
	// A second message to it is refused without calling Telegram, and
	// admins were told exactly once.
	before := q.tg.Calls("sendMessage")
	q.dispatcher(t).SendNow(ctx, blocked.TenantID, blocked.ID, report)
	if q.tg.Calls("sendMessage") != before {
		t.Fatal("a message went to a deactivated destination")
	}
	if n := q.count(t, `SELECT count(*) FROM email_outbox WHERE subject = 'Destination Gone Chat was deactivated'`); n != 1 {
		t.Fatalf("%d deactivation notices, want 1", n)
	}

	group := q.destination(t, models.DestinationInput{Name: "Team", Type: models.DestinationTelegram,
		Config: models.TelegramConfig{ChatID: -100, ChatTitle: "Team", ChatType: "group"}})
	q.tg.Migrate(-100, -1001234)
	out, _ = q.dispatcher(t).SendNow(ctx, group.TenantID, group.ID, report)
	if out.Status != models.DeliveryPending {
		t.Fatalf("after a migration the delivery is %s, want pending for an immediate resend", out.Status)
	}
	q.dispatcher(t).RunDue(ctx, 10, 1)
	d, _ = q.store.GetDestination(ctx, group.TenantID, group.ID)
	if d.Telegram().ChatID != -1001234 {
		t.Fatalf("chat id = %d, want the supergroup's", d.Telegram().ChatID)
	}
	if got, _ := q.store.GetDelivery(ctx, group.TenantID, out.ID); got.Status != models.DeliveryDelivered {
		t.Fatalf("resend after migration: %s", got.Status)
	}
	if len(q.tg.SentTo(-1001234)) != 1 {
		t.Fatalf("the supergroup got %d messages", len(q.tg.SentTo(-1001234)))
	}
}

func TestEmailDeliveryGoesThroughTheOutboxWithAttachments(t *testing.T) {
	q := newQueue(t)
	ctx := context.Background()
	dest := q.destination(t, models.DestinationInput{Name: "Team mail", Type: models.DestinationEmail,
		Config: models.EmailConfig{Addresses: []string{"a@acme.test", "b@acme.test"}}})
	m := report
	m.Images = []notify.Attachment{{Name: "chart.png", ContentType: "image/png", Data: []byte("\x89PNG fake")}}
	m.Files = []notify.Attachment{{Name: "rows.csv", ContentType: "text/csv", Data: []byte("date,spend\n2026-11-25,120\n")}}
	out, err := q.dispatcher(t).SendNow(ctx, dest.TenantID, dest.ID, m)
	if err != nil || out.Status != models.DeliveryDelivered {
		t.Fatalf("email delivery: %+v, %v", out, err)
	}
	var att string
	if err := q.db.QueryRow(`SELECT attachments::text FROM email_outbox WHERE to_address = 'b@acme.test'`).Scan(&att); err != nil {
		t.Fatal(err)
	}
	var list []map[string]any
	_ = json.Unmarshal([]byte(att), &list)
	if len(list) != 2 || list[0]["name"] != "chart.png" || list[0]["inline"] != true || list[1]["name"] != "rows.csv" {
		t.Fatalf("outbox attachments = %s", att)
	}
	var html string
	_ = q.db.QueryRow(`SELECT html_body FROM email_outbox WHERE to_address = 'a@acme.test'`).Scan(&html)
	if !strings.Contains(html, "cid:chart.png") || !strings.Contains(html, "Spend: 120.00 USD") {
		t.Fatalf("the HTML part lacks the chart or the text:\n%s", html)
	}

}
