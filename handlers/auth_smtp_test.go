package handlers_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"adpilot/testutil"
)

// TestVerificationEmailReachesSMTP: with SMTP configured, the sign-up email
// leaves the outbox for a real SMTP server, with the right recipient,
// subject and a link that verifies the address.
func TestVerificationEmailReachesSMTP(t *testing.T) {
	smtp := testutil.NewSMTPServer(t)
	clock := clockwork.NewFakeClock()
	app := testutil.NewApp(t, testutil.WithJobs(clock),
		testutil.WithEnv("SMTP_URL", smtp.URL(), "MAIL_FROM", "adpilot <noreply@adpilot.test>"))
	registerAPI(t, app, "inbox@example.com", "Mail Co")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := clock.BlockUntilContext(ctx, 2); err != nil { // the cleanup and outbox timers
		t.Fatal(err)
	}
	clock.Advance(11 * time.Second)
	msgs := smtp.WaitForMessages(1, 10*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("SMTP server got %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if len(m.To) != 1 || m.To[0] != "inbox@example.com" || !strings.Contains(m.From, "noreply@adpilot.test") {
		t.Fatalf("envelope from %q to %v", m.From, m.To)
	}
	if !strings.Contains(m.Subject(), "Confirm your email") || !strings.Contains(m.Subject(), "Mail Co") {
		t.Errorf("subject %q", m.Subject())
	}
	link := testutil.LinkIn(t, m.Text(), "/auth/verify?token=")
	if !strings.Contains(m.HTML(), link) {
		t.Error("the HTML part lacks the link of the text part")
	}
	resp := app.Get(strings.TrimPrefix(link, app.URL)).ExpectStatus(http.StatusSeeOther)
	if resp.Header.Get("Location") != "/" {
		t.Fatalf("verification redirected to %q", resp.Header.Get("Location"))
	}
	token := loginAPI(t, app, `{"email":"inbox@example.com","password":"`+strongPassword+`"}`)
	if _, me := jsonCall(t, app, http.MethodGet, "/auth/me", "", token); me["email_verified"] != true {
		t.Fatalf("not verified after following the emailed link: %v", me)
	}
	e := testutil.LatestEmail(t, app.Store, "inbox@example.com")
	if e.Status != "sent" {
		t.Errorf("outbox status %q, want sent", e.Status)
	}
	linkToken := strings.SplitN(link, "token=", 2)[1]
	if strings.Contains(e.Text, linkToken) || strings.Contains(e.HTML, linkToken) || !strings.Contains(e.Text, "token=[redacted]") {
		t.Error("the sent email's one-time link is still stored in the outbox")
	}
}
