package models_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"adpilot/models"
	"adpilot/testutil"
)

func enqueue(t *testing.T, store *models.Store, e models.Email) {
	t.Helper()
	if e.Subject == "" {
		e.Subject = "Hello"
	}
	if e.Text == "" {
		e.Text, e.HTML = "text body", "<p>html body</p>"
	}
	if err := store.EnqueueEmail(context.Background(), e); err != nil {
		t.Fatalf("EnqueueEmail(%s): %v", e.To, err)
	}
}

func onlyEmail(t *testing.T, store *models.Store) models.OutboxEmail {
	t.Helper()
	list, total, err := store.ListOutbox(context.Background(), models.OutboxFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if total != 1 || len(list) != 1 {
		t.Fatalf("outbox holds %d emails (%d listed), want 1", total, len(list))
	}
	return list[0]
}

func TestEnqueueEmail(t *testing.T) {
	t.Parallel()
	store, dbURL := testutil.NewStore(t)
	ctx := context.Background()
	tenantID := insertTenant(t, openDB(t, dbURL), "acme")

	before := time.Now().Add(-time.Minute)
	enqueue(t, store, models.Email{TenantID: tenantID, To: "ada@example.com", Subject: "Verify", Text: "plain", HTML: "<p>rich</p>"})
	e := onlyEmail(t, store)
	if e.TenantID != tenantID || e.To != "ada@example.com" || e.Subject != "Verify" || e.Text != "plain" || e.HTML != "<p>rich</p>" {
		t.Errorf("stored email = %+v", e)
	}
	if e.Status != models.OutboxPending || e.Attempts != 0 || e.LastError != "" || e.SentAt != nil {
		t.Errorf("new email: status %q, attempts %d, last error %q, sent at %v", e.Status, e.Attempts, e.LastError, e.SentAt)
	}
	if e.CreatedAt.Before(before) || e.NextAttemptAt.Before(before) || e.NextAttemptAt.After(time.Now().Add(time.Minute)) {
		t.Errorf("created %v, next attempt %v: want about now", e.CreatedAt, e.NextAttemptAt)
	}
	got, err := store.GetOutboxEmail(ctx, e.ID)
	if err != nil || got.ID != e.ID || got.HTML != e.HTML {
		t.Errorf("GetOutboxEmail = %+v, %v", got, err)
	}

	// Mail of no tenant (tenant "").
	enqueue(t, store, models.Email{To: "ops@example.com"})
	list, _, err := store.ListOutbox(ctx, models.OutboxFilter{Search: "ops@"})
	if err != nil || len(list) != 1 || list[0].TenantID != "" {
		t.Errorf("email without tenant: %+v, %v", list, err)
	}

	if err := store.EnqueueEmail(ctx, models.Email{To: " ", Subject: "x"}); err == nil {
		t.Error("an email without a recipient was queued")
	}
	if err := store.EnqueueEmail(ctx, models.Email{TenantID: "not-a-uuid", To: "a@example.com"}); err == nil {
		t.Error("an email with a malformed tenant id was queued")
	}
}

func TestGetOutboxEmailNotFound(t *testing.T) {
	t.Parallel()
	store, _ := testutil.NewStore(t)
	ctx := context.Background()
	for _, id := range []string{
		"",
		"nope",
		"'; DROP TABLE email_outbox; --",
		"00000000-0000-0000-0000-000000000000", // well-formed, absent
		"urn:uuid:6ba7b810-9dad-11d1-80b4-00c04fd430c8",      // uuid.Parse takes it, PostgreSQL does not
		"{6ba7b810-9dad-11d1-80b4-00c04fd430c8}",             // likewise
		"6ba7b8109dad11d180b400c04fd430c8",                   // likewise
		"6ba7b810-9dad-11d1-80b4-00c04fd430c8-extra-garbage", // too long
	} {
		if _, err := store.GetOutboxEmail(ctx, id); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("GetOutboxEmail(%q) = %v, want ErrNotFound", id, err)
		}
		if err := store.MarkEmailSent(ctx, id); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("MarkEmailSent(%q) = %v, want ErrNotFound", id, err)
		}
		if err := store.MarkEmailFailed(ctx, id, "boom", nil); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("MarkEmailFailed(%q) = %v, want ErrNotFound", id, err)
		}
	}
}

func TestClaimDueEmailsLeases(t *testing.T) {
	t.Parallel()
	store, dbURL := testutil.NewStore(t)
	db := openDB(t, dbURL)
	ctx := context.Background()
	for i := range 3 {
		enqueue(t, store, models.Email{To: fmt.Sprintf("u%d@example.com", i)})
	}
	// Oldest due first: make u2 the most overdue.
	if _, err := db.Exec(`UPDATE email_outbox SET next_attempt_at = now() - interval '1 hour' WHERE to_address = 'u2@example.com'`); err != nil {
		t.Fatal(err)
	}

	first, err := store.ClaimDueEmails(ctx, 2, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 2 {
		t.Fatalf("claimed %d emails, want 2", len(first))
	}
	if first[0].To != "u2@example.com" && first[1].To != "u2@example.com" {
		t.Errorf("the most overdue email was not claimed first: %s, %s", first[0].To, first[1].To)
	}
	for _, e := range first {
		if d := time.Until(e.NextAttemptAt); d < 50*time.Second || d > 70*time.Second {
			t.Errorf("claimed email's next attempt is %v away, want the one-minute lease", d)
		}
		if e.Status != models.OutboxPending {
			t.Errorf("claimed email has status %q", e.Status)
		}
	}
	second, err := store.ClaimDueEmails(ctx, 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(second) != 1 || second[0].ID == first[0].ID || second[0].ID == first[1].ID {
		t.Fatalf("second claim got %d emails (%v), want only the unclaimed one", len(second), second)
	}
	if again, err := store.ClaimDueEmails(ctx, 10, time.Minute); err != nil || len(again) != 0 {
		t.Fatalf("claim while every email is leased: %d emails, %v", len(again), err)
	}
	if none, err := store.ClaimDueEmails(ctx, 0, time.Minute); err != nil || len(none) != 0 {
		t.Fatalf("claim of 0: %v, %v", none, err)
	}
}

func TestClaimDueEmailsLeaseExpires(t *testing.T) {
	t.Parallel()
	store, _ := testutil.NewStore(t)
	ctx := context.Background()
	enqueue(t, store, models.Email{To: "crash@example.com"})

	claimed, err := store.ClaimDueEmails(ctx, 10, 300*time.Millisecond)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("first claim: %d emails, %v", len(claimed), err)
	}
	// The sender "crashes": no Mark call. Until the lease ends nobody else
	// gets the email; afterwards it is due again.
	if again, err := store.ClaimDueEmails(ctx, 10, time.Minute); err != nil || len(again) != 0 {
		t.Fatalf("claimed during the lease: %d emails, %v", len(again), err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		again, err := store.ClaimDueEmails(ctx, 10, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(again) == 1 {
			if again[0].ID != claimed[0].ID {
				t.Fatalf("reclaimed %s, want %s", again[0].ID, claimed[0].ID)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the email never became claimable after its lease expired")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestClaimDueEmailsConcurrentClaimsAreDisjoint(t *testing.T) {
	t.Parallel()
	store, dbURL := testutil.NewStore(t)
	const n = 60
	for i := range n {
		enqueue(t, store, models.Email{To: fmt.Sprintf("r%02d@example.com", i)})
	}
	// Two replicas, each with its own connection pool, claim at once, over
	// and over, until nothing is left.
	stores := []*models.Store{store, testutil.OpenStore(t, dbURL)}
	claims := make([][]string, len(stores))
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, len(stores))
	for i, s := range stores {
		wg.Go(func() {
			<-start
			for {
				got, err := s.ClaimDueEmails(context.Background(), 7, time.Hour)
				if err != nil {
					errs <- err
					return
				}
				if len(got) == 0 {
					return
				}
				for _, e := range got {
					claims[i] = append(claims[i], e.ID)
				}
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for i := range claims {
		for _, id := range claims[i] {
			seen[id]++
		}
	}
	if len(seen) != n {
		t.Errorf("%d distinct emails claimed, want %d", len(seen), n)
	}
	for id, count := range seen {
		if count > 1 {
			t.Errorf("email %s was claimed %d times", id, count)
		}
	}
	t.Logf("replica claims: %d and %d", len(claims[0]), len(claims[1]))
}

func TestMarkEmailSentAndFailed(t *testing.T) {
	t.Parallel()
	store, _ := testutil.NewStore(t)
	ctx := context.Background()
	enqueue(t, store, models.Email{To: "ok@example.com"})
	id := onlyEmail(t, store).ID

	// A failure with a retry time keeps the email pending.
	retryAt := time.Now().Add(5 * time.Minute).Truncate(time.Microsecond)
	if err := store.MarkEmailFailed(ctx, id, "451 4.3.0 try later", &retryAt); err != nil {
		t.Fatal(err)
	}
	e, err := store.GetOutboxEmail(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if e.Status != models.OutboxPending || e.Attempts != 1 || e.LastError != "451 4.3.0 try later" || !e.NextAttemptAt.Equal(retryAt) {
		t.Errorf("after a retryable failure: status %q, attempts %d, last error %q, next attempt %v (want %v)",
			e.Status, e.Attempts, e.LastError, e.NextAttemptAt, retryAt)
	}
	if due, _ := store.ClaimDueEmails(ctx, 10, time.Minute); len(due) != 0 {
		t.Error("an email waiting for its retry time was claimed")
	}

	if err := store.MarkEmailSent(ctx, id); err != nil {
		t.Fatal(err)
	}
	e, _ = store.GetOutboxEmail(ctx, id)
	if e.Status != models.OutboxSent || e.SentAt == nil || time.Since(*e.SentAt) > time.Minute || e.Attempts != 2 {
		t.Errorf("after sending: status %q, sent at %v, attempts %d", e.Status, e.SentAt, e.Attempts)
	}
	// A sent email is final.
	if err := store.MarkEmailSent(ctx, id); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("MarkEmailSent twice = %v, want ErrNotFound", err)
	}
	if err := store.MarkEmailFailed(ctx, id, "late failure", nil); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("MarkEmailFailed after sent = %v, want ErrNotFound", err)
	}
	if e, _ = store.GetOutboxEmail(ctx, id); e.Status != models.OutboxSent {
		t.Errorf("status became %q", e.Status)
	}

	// Giving up (retryAt nil) marks the email failed for good.
	enqueue(t, store, models.Email{To: "bad@example.com"})
	list, _, _ := store.ListOutbox(ctx, models.OutboxFilter{Search: "bad@"})
	bad := list[0].ID
	long := strings.Repeat("x", 5000)
	if err := store.MarkEmailFailed(ctx, bad, "550 5.1.1 no such user "+long, nil); err != nil {
		t.Fatal(err)
	}
	e, _ = store.GetOutboxEmail(ctx, bad)
	if e.Status != models.OutboxFailed || e.Attempts != 1 || !strings.HasPrefix(e.LastError, "550 5.1.1") || len(e.LastError) > 1100 {
		t.Errorf("after giving up: status %q, attempts %d, last error %.40q (%d bytes)", e.Status, e.Attempts, e.LastError, len(e.LastError))
	}
	if due, _ := store.ClaimDueEmails(ctx, 10, time.Minute); len(due) != 0 {
		t.Error("a failed email was claimed")
	}
}

func TestListOutboxFiltersAndPages(t *testing.T) {
	t.Parallel()
	store, dbURL := testutil.NewStore(t)
	db := openDB(t, dbURL)
	ctx := context.Background()
	for i := range 12 {
		enqueue(t, store, models.Email{To: fmt.Sprintf("user%02d@acme.test", i), Subject: fmt.Sprintf("Report %02d", i)})
	}
	enqueue(t, store, models.Email{To: "percent@other.test", Subject: "100% done_now"})
	enqueue(t, store, models.Email{To: "back\\slash@other.test", Subject: "Path"})
	// Spread creation times so the order is deterministic, then give the
	// first two a status each.
	if _, err := db.Exec(`UPDATE email_outbox SET created_at = now() - (interval '1 minute' * (100 - (SELECT count(*) FROM email_outbox e2 WHERE e2.to_address < email_outbox.to_address)))`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE email_outbox SET status = 'sent', sent_at = now() WHERE to_address = 'user00@acme.test'`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE email_outbox SET status = 'failed' WHERE to_address = 'user01@acme.test'`); err != nil {
		t.Fatal(err)
	}

	list := func(f models.OutboxFilter) ([]string, int) {
		t.Helper()
		rows, total, err := store.ListOutbox(ctx, f)
		if err != nil {
			t.Fatalf("ListOutbox(%+v): %v", f, err)
		}
		var to []string
		for _, r := range rows {
			to = append(to, r.To)
		}
		return to, total
	}
	tests := []struct {
		name      string
		filter    models.OutboxFilter
		wantTotal int
		want      []string // the page, newest first; nil = only check the count
		wantLen   int
	}{
		{"all", models.OutboxFilter{}, 14, nil, 14},
		{"sent", models.OutboxFilter{Status: "sent"}, 1, []string{"user00@acme.test"}, 1},
		{"failed", models.OutboxFilter{Status: "failed"}, 1, []string{"user01@acme.test"}, 1},
		{"pending", models.OutboxFilter{Status: "pending"}, 12, nil, 12},
		{"unknown status matches nothing", models.OutboxFilter{Status: "bogus"}, 0, nil, 0},
		{"search recipient, any case", models.OutboxFilter{Search: "USER1"}, 2, []string{"user11@acme.test", "user10@acme.test"}, 2},
		{"search subject", models.OutboxFilter{Search: "report 0"}, 10, nil, 10},
		{"search and status", models.OutboxFilter{Search: "user0", Status: "pending"}, 8, nil, 8},
		{"percent is literal", models.OutboxFilter{Search: "%"}, 1, []string{"percent@other.test"}, 1},
		{"underscore is literal", models.OutboxFilter{Search: "e_n"}, 1, []string{"percent@other.test"}, 1},
		{"underscore does not match any character", models.OutboxFilter{Search: "user_0"}, 0, nil, 0},
		{"backslash is literal", models.OutboxFilter{Search: `k\s`}, 1, []string{`back\slash@other.test`}, 1},
		{"first page", models.OutboxFilter{Search: "acme", Limit: 5}, 12, []string{"user11@acme.test", "user10@acme.test", "user09@acme.test", "user08@acme.test", "user07@acme.test"}, 5},
		{"second page", models.OutboxFilter{Search: "acme", Limit: 5, Offset: 5}, 12, []string{"user06@acme.test", "user05@acme.test", "user04@acme.test", "user03@acme.test", "user02@acme.test"}, 5},
		{"last page", models.OutboxFilter{Search: "acme", Limit: 5, Offset: 10}, 12, []string{"user01@acme.test", "user00@acme.test"}, 2},
		{"past the end", models.OutboxFilter{Search: "acme", Limit: 5, Offset: 50}, 12, nil, 0},
		{"negative offset", models.OutboxFilter{Search: "acme", Limit: 1, Offset: -3}, 12, []string{"user11@acme.test"}, 1},
	}
	for _, tt := range tests {
		got, total := list(tt.filter)
		if total != tt.wantTotal || len(got) != tt.wantLen {
			t.Errorf("%s: total %d, %d rows; want %d, %d (%v)", tt.name, total, len(got), tt.wantTotal, tt.wantLen, got)
			continue
		}
		if tt.want != nil && strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}
