package jobs_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"adpilot/jobs"
	"adpilot/mailer"
	"adpilot/models"
	"adpilot/testutil"
)

const outboxTick = 10 * time.Second

// replica is one server's scheduler with the outbox job, on a fake clock.
type replica struct {
	clock *clockwork.FakeClock
	logs  *testutil.LogBuffer
	store *models.Store
}

// startReplica starts a scheduler that sends the outbox of dbURL through
// the SMTP server srv; it stops when the test ends.
func startReplica(t *testing.T, dbURL string, srv *testutil.SMTPServer) *replica {
	t.Helper()
	sender, err := mailer.NewSMTP(srv.URL(), "adpilot <noreply@adpilot.test>")
	if err != nil {
		t.Fatal(err)
	}
	r := &replica{clock: clockwork.NewFakeClockAt(time.Now()), logs: &testutil.LogBuffer{}, store: testutil.OpenStore(t, dbURL)}
	logger := slog.New(slog.NewTextHandler(r.logs, nil))
	s, err := newScheduler(t, testConfig(t, dbURL), r.store, logger, jobs.WithClock(r.clock), jobs.WithMailer(sender))
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return r
}

// tick moves the replica's clock past one outbox interval, once both its
// timers (cleanup and outbox) are armed, and returns the time of the run.
func (r *replica) tick(t *testing.T) time.Time {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.clock.BlockUntilContext(ctx, 3); err != nil {
		t.Fatalf("the scheduler never armed its timers: %v", err)
	}
	r.clock.Advance(outboxTick)
	return r.clock.Now()
}

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func queue(t *testing.T, store *models.Store, to string) string {
	t.Helper()
	err := store.EnqueueEmail(context.Background(), models.Email{
		To: to, Subject: "Confirm your email address",
		Text: "Open https://adpilot.example.com/auth/verify?token=SECRET-TOKEN-" + to,
		HTML: `<p><a href="https://adpilot.example.com/auth/verify?token=SECRET-TOKEN-` + to + `">Confirm</a></p>`,
	})
	if err != nil {
		t.Fatal(err)
	}
	list, _, err := store.ListOutbox(context.Background(), models.OutboxFilter{Search: to})
	if err != nil || len(list) != 1 {
		t.Fatalf("finding the queued email: %v, %v", list, err)
	}
	return list[0].ID
}

func get(t *testing.T, store *models.Store, id string) models.OutboxEmail {
	t.Helper()
	e, err := store.GetOutboxEmail(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestOutboxDeliversQueuedEmailOnce(t *testing.T) {
	dbURL := testutil.NewMigratedDatabase(t)
	srv := testutil.NewSMTPServer(t)
	r := startReplica(t, dbURL, srv)
	id := queue(t, r.store, "ada@example.com")

	r.tick(t)
	msgs := srv.WaitForMessages(1, 10*time.Second)
	if msgs[0].To[0] != "ada@example.com" || msgs[0].Subject() != "Confirm your email address" {
		t.Errorf("delivered to %v with subject %q", msgs[0].To, msgs[0].Subject())
	}
	if !strings.Contains(msgs[0].Text(), "SECRET-TOKEN-ada@example.com") || !strings.Contains(msgs[0].HTML(), "SECRET-TOKEN-ada@example.com") {
		t.Error("the delivered parts lack the link")
	}
	waitFor(t, "the email to be marked sent", func() bool { return get(t, r.store, id).Status == models.OutboxSent })
	e := get(t, r.store, id)
	if e.Attempts != 1 || e.SentAt == nil || e.LastError != "" {
		t.Errorf("sent email: attempts %d, sent at %v, last error %q", e.Attempts, e.SentAt, e.LastError)
	}

	// Later runs find nothing more to send.
	for range 3 {
		r.tick(t)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("the email was delivered %d times", n)
	}

	logs := r.logs.String()
	if !strings.Contains(logs, "outbox: email sent") || !strings.Contains(logs, "outbox_id="+id) || !strings.Contains(logs, "recipient_domain=example.com") {
		t.Errorf("the send is not logged with its id and recipient domain:\n%s", logs)
	}
	for _, secret := range []string{"ada@example.com", "SECRET-TOKEN", testutil.SMTPPassword} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log reveals %q:\n%s", secret, logs)
		}
	}
}

func TestOutboxRetriesWithBackoff(t *testing.T) {
	dbURL := testutil.NewMigratedDatabase(t)
	db, err := sql.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	srv := testutil.NewSMTPServer(t)
	r := startReplica(t, dbURL, srv)

	// Three emails that failed 0, 3 and 6 times before fail once more (the
	// seventh attempt is the last with a retry: 30 s · 2^6 = 32 min).
	prior := map[string]int{"first@example.com": 0, "fourth@example.com": 3, "seventh@example.com": 6}
	ids := map[string]string{}
	for to, n := range prior {
		ids[to] = queue(t, r.store, to)
		if _, err := db.Exec(`UPDATE email_outbox SET attempts = $1 WHERE id = $2`, n, ids[to]); err != nil {
			t.Fatal(err)
		}
	}
	srv.FailNext(len(prior), 451, "greylisted, try again later")
	ranAt := r.tick(t)
	waitFor(t, "the failures to be recorded", func() bool {
		for to, n := range prior {
			if get(t, r.store, ids[to]).Attempts != n+1 {
				return false
			}
		}
		return true
	})
	for to, n := range prior {
		e := get(t, r.store, ids[to])
		full := min(30*time.Second<<n, time.Hour)
		wait := e.NextAttemptAt.Sub(ranAt)
		if e.Status != models.OutboxPending || !strings.Contains(e.LastError, "451") || strings.Contains(e.LastError, testutil.SMTPPassword) {
			t.Errorf("%s: status %q, last error %q", to, e.Status, e.LastError)
		}
		if wait < full/2-time.Millisecond || wait > full+time.Millisecond {
			t.Errorf("%s after %d earlier failures: retried in %v, want between %v and %v", to, n, wait, full/2, full)
		}
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("%d messages delivered although the server refused them", n)
	}

	// Not due yet: the next run leaves them alone.
	r.tick(t)
	time.Sleep(200 * time.Millisecond)
	if e := get(t, r.store, ids["first@example.com"]); e.Attempts != 1 || len(srv.Messages()) != 0 {
		t.Fatalf("an email was retried before its time (attempts %d)", e.Attempts)
	}

	// Once due, the retry goes through.
	if _, err := db.Exec(`UPDATE email_outbox SET next_attempt_at = now() - interval '1 second' WHERE id = $1`, ids["first@example.com"]); err != nil {
		t.Fatal(err)
	}
	r.tick(t)
	msgs := srv.WaitForMessages(1, 10*time.Second)
	if msgs[0].To[0] != "first@example.com" {
		t.Errorf("retried delivery went to %v", msgs[0].To)
	}
	waitFor(t, "the retried email to be marked sent", func() bool {
		return get(t, r.store, ids["first@example.com"]).Status == models.OutboxSent
	})
	if e := get(t, r.store, ids["first@example.com"]); e.Attempts != 2 || !strings.Contains(e.LastError, "451") {
		t.Errorf("after the retry: attempts %d, last error %q (the earlier failure stays on record)", e.Attempts, e.LastError)
	}
	if !strings.Contains(r.logs.String(), "will retry") {
		t.Errorf("the retry is not logged:\n%s", r.logs.String())
	}
}

func TestOutboxGivesUpAfterEightAttempts(t *testing.T) {
	dbURL := testutil.NewMigratedDatabase(t)
	db, err := sql.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	srv := testutil.NewSMTPServer(t)
	r := startReplica(t, dbURL, srv)
	id := queue(t, r.store, "gone@example.com")
	if _, err := db.Exec(`UPDATE email_outbox SET attempts = 7 WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	srv.FailNext(1, 550, "no such user")
	r.tick(t)
	waitFor(t, "the email to be given up", func() bool { return get(t, r.store, id).Status == models.OutboxFailed })
	if e := get(t, r.store, id); e.Attempts != 8 || !strings.Contains(e.LastError, "550") {
		t.Errorf("given up: attempts %d, last error %q", e.Attempts, e.LastError)
	}
	if !strings.Contains(r.logs.String(), "giving up") {
		t.Errorf("giving up is not logged:\n%s", r.logs.String())
	}
}

func TestOutboxTwoReplicasNeverSendTwice(t *testing.T) {
	dbURL := testutil.NewMigratedDatabase(t)
	srv := testutil.NewSMTPServer(t)
	// A slow server: a replica is still sending its batch when the next
	// runs start, so only the claims' leases keep them apart.
	srv.SetDelay(20 * time.Millisecond)
	replicas := []*replica{startReplica(t, dbURL, srv), startReplica(t, dbURL, srv)}
	const n = 45 // more than two batches of 20
	ids := make([]string, n)
	for i := range n {
		ids[i] = queue(t, replicas[0].store, fmt.Sprintf("user%02d@example.com", i))
	}

	// Both replicas run at the same moments until everything went out.
	deadline := time.Now().Add(20 * time.Second)
	for len(srv.Messages()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d emails delivered", len(srv.Messages()), n)
		}
		var wg sync.WaitGroup
		for _, r := range replicas {
			wg.Go(func() { r.tick(t) })
		}
		wg.Wait()
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	for range 2 { // further runs send nothing again
		for _, r := range replicas {
			r.tick(t)
		}
	}
	time.Sleep(200 * time.Millisecond)

	msgs := srv.Messages()
	perRecipient := map[string]int{}
	for _, m := range msgs {
		perRecipient[m.To[0]]++
	}
	if len(msgs) != n || len(perRecipient) != n {
		t.Errorf("%d messages to %d recipients, want %d each", len(msgs), len(perRecipient), n)
	}
	for to, count := range perRecipient {
		if count != 1 {
			t.Errorf("%s received %d copies", to, count)
		}
	}
	for _, id := range ids {
		if e := get(t, replicas[0].store, id); e.Status != models.OutboxSent || e.Attempts != 1 {
			t.Errorf("email %s: status %q, attempts %d", id, e.Status, e.Attempts)
		}
	}
	sentBy := [2]int{}
	for i, r := range replicas {
		sentBy[i] = strings.Count(r.logs.String(), "outbox: email sent")
	}
	if sentBy[0]+sentBy[1] != n {
		t.Errorf("replicas logged %d + %d sends, want %d in all", sentBy[0], sentBy[1], n)
	}
	t.Logf("replica 1 sent %d, replica 2 sent %d", sentBy[0], sentBy[1])
}

func TestOutboxWithoutMailerLeavesEmailsPending(t *testing.T) {
	dbURL := testutil.NewMigratedDatabase(t)
	store := testutil.OpenStore(t, dbURL)
	clk := clockwork.NewFakeClockAt(time.Now())
	s, err := newScheduler(t, testConfig(t, dbURL), store, slog.New(slog.NewTextHandler(&testutil.LogBuffer{}, nil)), jobs.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	id := queue(t, store, "dev@example.com")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := clk.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		clk.Advance(outboxTick)
	}
	time.Sleep(200 * time.Millisecond)
	if e := get(t, store, id); e.Status != models.OutboxPending || e.Attempts != 0 {
		t.Errorf("without SMTP the email should wait in the outbox: status %q, attempts %d", e.Status, e.Attempts)
	}
}
