package mailer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	gomailmsg "net/mail"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"adpilot/mailer"
	"adpilot/testutil"
)

const (
	from = "adpilot <noreply@adpilot.test>"
	link = "https://adpilot.example.com/auth/verify?token=Zx9_abc-123&next=%2F"
)

func message(to string) mailer.Message {
	return mailer.Message{
		To:      to,
		Subject: "Confirm your email address for Acme – ünïcode",
		Text:    "Hi,\n\nOpen this link:\n\n" + link + "\n\nThe link is valid for 48 hours.\n",
		HTML:    `<!doctype html><html><body><p>Hi,</p><p><a href="` + strings.ReplaceAll(link, "&", "&amp;") + `">Confirm</a></p></body></html>`,
	}
}

func newSender(t *testing.T, smtpURL string, opts ...mailer.Option) *mailer.SMTP {
	t.Helper()
	s, err := mailer.NewSMTP(smtpURL, from, opts...)
	if err != nil {
		t.Fatalf("NewSMTP: %v", err)
	}
	return s
}

// checkDelivered asserts what the server received for message(to).
func checkDelivered(t *testing.T, srv *testutil.SMTPServer, to string, wantTLS bool) {
	t.Helper()
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("server received %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.From != "noreply@adpilot.test" {
		t.Errorf("MAIL FROM = %q", m.From)
	}
	if len(m.To) != 1 || m.To[0] != to {
		t.Errorf("RCPT TO = %v, want [%s]", m.To, to)
	}
	if m.Username != testutil.SMTPUser {
		t.Errorf("authenticated as %q, want %q (credentials from the URL)", m.Username, testutil.SMTPUser)
	}
	if m.TLS != wantTLS {
		t.Errorf("TLS = %v, want %v", m.TLS, wantTLS)
	}
	want := message(to)
	if got := m.Subject(); got != want.Subject {
		t.Errorf("Subject = %q, want %q", got, want.Subject)
	}
	if got := m.Header("From"); !strings.Contains(got, "adpilot") || !strings.Contains(got, "<noreply@adpilot.test>") {
		t.Errorf("From header = %q", got)
	}
	if got := m.Header("To"); !strings.Contains(got, to) {
		t.Errorf("To header = %q", got)
	}
	if got := m.Header("Message-Id"); !strings.HasPrefix(got, "<") || !strings.HasSuffix(got, "@adpilot.test>") {
		t.Errorf("Message-ID = %q, want <…@adpilot.test>", got)
	}
	if m.Header("Date") == "" {
		t.Error("no Date header")
	}
	if got := m.Header("Content-Type"); !strings.HasPrefix(got, "multipart/alternative") {
		t.Errorf("Content-Type = %q, want multipart/alternative", got)
	}
	text, err := m.Part("text/plain")
	if err != nil || !strings.Contains(text, link) {
		t.Errorf("text/plain part (%v) lacks the link:\n%s", err, text)
	}
	html, err := m.Part("text/html")
	if err != nil || !strings.Contains(html, strings.ReplaceAll(link, "&", "&amp;")) {
		t.Errorf("text/html part (%v) lacks the link:\n%s", err, html)
	}
	if strings.Contains(string(m.Data), testutil.SMTPPassword) {
		t.Error("the message holds the SMTP password")
	}
}

func TestSendPlainSMTPWithAuth(t *testing.T) {
	t.Parallel()
	srv := testutil.NewSMTPServer(t)
	s := newSender(t, srv.URL())
	if err := s.Send(context.Background(), message("ada@example.com")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	checkDelivered(t, srv, "ada@example.com", false)
	if auths := srv.Auths(); len(auths) != 1 || auths[0] != testutil.SMTPUser {
		t.Errorf("AUTH attempts = %v, want one as %s", auths, testutil.SMTPUser)
	}
}

func TestSendUpgradesWithSTARTTLS(t *testing.T) {
	t.Parallel()
	srv := testutil.NewSMTPServer(t, testutil.SMTPWithStartTLS())
	s := newSender(t, srv.URL(), mailer.WithTLSConfig(srv.ClientTLSConfig()))
	if err := s.Send(context.Background(), message("bob@example.com")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	checkDelivered(t, srv, "bob@example.com", true)
}

func TestSendImplicitTLS(t *testing.T) {
	t.Parallel()
	srv := testutil.NewSMTPServer(t, testutil.SMTPWithImplicitTLS())
	if !strings.HasPrefix(srv.URL(), "smtps://") {
		t.Fatalf("URL = %s, want smtps://", srv.URL())
	}
	s := newSender(t, srv.URL(), mailer.WithTLSConfig(srv.ClientTLSConfig()))
	if err := s.Send(context.Background(), message("cy@example.com")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	checkDelivered(t, srv, "cy@example.com", true)

	// An untrusted certificate is refused.
	untrusted := newSender(t, srv.URL())
	if err := untrusted.Send(context.Background(), message("cy@example.com")); err == nil {
		t.Error("Send trusted a self-signed certificate")
	}
}

func TestSendRejectedRecipient(t *testing.T) {
	t.Parallel()
	srv := testutil.NewSMTPServer(t)
	s := newSender(t, srv.URL())
	const to = "nobody@example.com"
	for _, tt := range []struct {
		code      int
		temporary bool
	}{{550, false}, {451, true}} {
		srv.FailNext(1, tt.code, "mailbox unavailable")
		err := s.Send(context.Background(), message(to))
		if err == nil {
			t.Fatalf("Send succeeded although the server answered %d", tt.code)
		}
		msg := err.Error()
		t.Logf("error for %d: %s", tt.code, msg)
		if !strings.Contains(msg, fmt.Sprint(tt.code)) {
			t.Errorf("error %q does not mention status %d", msg, tt.code)
		}
		if strings.Contains(msg, testutil.SMTPPassword) {
			t.Errorf("error %q reveals the password", msg)
		}
		if strings.Contains(msg, to) {
			t.Errorf("error %q reveals the recipient", msg)
		}
		var me *mailer.Error
		if !errors.As(err, &me) {
			t.Fatalf("error is %T, want *mailer.Error", err)
		}
		if me.Code != tt.code || me.Temporary != tt.temporary {
			t.Errorf("Code, Temporary = %d, %v; want %d, %v", me.Code, me.Temporary, tt.code, tt.temporary)
		}
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("server accepted %d messages", n)
	}
}

func TestSendWrongPassword(t *testing.T) {
	t.Parallel()
	srv := testutil.NewSMTPServer(t)
	const wrong = "wrong-pw-4f1b"
	u, _ := url.Parse(srv.URL())
	u.User = url.UserPassword(testutil.SMTPUser, wrong)
	err := newSender(t, u.String()).Send(context.Background(), message("ada@example.com"))
	if err == nil {
		t.Fatal("Send succeeded with a wrong password")
	}
	if !strings.Contains(err.Error(), "535") || strings.Contains(err.Error(), wrong) {
		t.Errorf("error %q: want the 535 status without the password", err)
	}
}

func TestSendUnreachableServer(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := newSender(t, "smtp://"+testutil.SMTPUser+":"+testutil.SMTPPassword+"@"+addr)
	started := time.Now()
	err = s.Send(context.Background(), message("ada@example.com"))
	if err == nil {
		t.Fatal("Send to a closed port succeeded")
	}
	var me *mailer.Error
	if !errors.As(err, &me) || !me.Temporary || me.Code != 0 {
		t.Errorf("error %#v: want a temporary *mailer.Error without code", err)
	}
	if strings.Contains(err.Error(), testutil.SMTPPassword) {
		t.Errorf("error %q reveals the password", err)
	}
	if time.Since(started) > mailer.Timeout+time.Second {
		t.Errorf("Send took %v", time.Since(started))
	}
}

func TestSendHonoursContext(t *testing.T) {
	t.Parallel()
	// A server that accepts connections and never greets.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	started := time.Now()
	if err := newSender(t, "smtp://"+ln.Addr().String()).Send(ctx, message("ada@example.com")); err == nil {
		t.Fatal("Send to a silent server succeeded")
	}
	if d := time.Since(started); d > 3*time.Second {
		t.Errorf("Send took %v to give up after its context ended", d)
	}
}

func TestSendConcurrently(t *testing.T) {
	t.Parallel()
	srv := testutil.NewSMTPServer(t)
	s := newSender(t, srv.URL())
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() { errs <- s.Send(context.Background(), message(fmt.Sprintf("u%d@example.com", i))) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := len(srv.WaitForMessages(8, 5*time.Second)); n != 8 {
		t.Errorf("received %d messages, want 8", n)
	}
}

func TestNewSMTP(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ url, want string }{
		{"smtp://mail.example.com", "smtp://mail.example.com:587"},
		{"smtps://u:p@mail.example.com", "smtps://mail.example.com:465"},
		{"smtp://127.0.0.1:1025", "smtp://127.0.0.1:1025"},
		{"smtps://u:p@[::1]:2465", "smtps://[::1]:2465"},
	} {
		s, err := mailer.NewSMTP(tt.url, "noreply@example.com")
		if err != nil {
			t.Errorf("NewSMTP(%s): %v", tt.url, err)
			continue
		}
		if s.String() != tt.want {
			t.Errorf("NewSMTP(%s).String() = %s, want %s", tt.url, s, tt.want)
		}
	}
	const pw = "s3cret-in-url"
	for _, bad := range []string{
		"http://u:" + pw + "@mail.example.com",
		"smtp://u:" + pw + "@:25",
		"smtp://u:" + pw + "@mail.example.com:0",
		"smtp://u:" + pw + "@mail.example.com:x%zz",
		"smtp://:" + pw + "@mail.example.com",
	} {
		_, err := mailer.NewSMTP(bad, "noreply@example.com")
		if err == nil {
			t.Errorf("NewSMTP accepted a bad URL")
			continue
		}
		if strings.Contains(err.Error(), pw) {
			t.Errorf("error %q reveals the password", err)
		}
	}
	if _, err := mailer.NewSMTP("smtp://mail.example.com", "not an address"); err == nil {
		t.Error("NewSMTP accepted a bad MAIL_FROM")
	}
}

func TestSendWithAttachments(t *testing.T) {
	t.Parallel()
	srv := testutil.NewSMTPServer(t)
	s := newSender(t, srv.URL())
	m := message("ada@example.com")
	m.HTML = `<p>Spend</p><img src="cid:chart.png">`
	m.Attachments = []mailer.Attachment{
		{Name: "chart.png", ContentType: "image/png", Data: []byte("\x89PNG\r\n\x1a\nfake-chart"), Inline: true},
		{Name: "rows.csv", ContentType: "text/csv", Data: []byte("date,spend\n2026-11-25,120\n")},
	}
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	parsed, err := gomailmsg.ReadMessage(bytes.NewReader(msgs[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	_, params, _ := mime.ParseMediaType(parsed.Header.Get("Content-Type"))
	var parts []string
	var walk func(r io.Reader, boundary string)
	walk = func(r io.Reader, boundary string) {
		mr := multipart.NewReader(r, boundary)
		for {
			p, err := mr.NextPart()
			if err != nil {
				return
			}
			ct, ps, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
			if strings.HasPrefix(ct, "multipart/") {
				walk(p, ps["boundary"])
				continue
			}
			parts = append(parts, ct+"|"+p.Header.Get("Content-Disposition")+"|"+p.Header.Get("Content-ID"))
		}
	}
	walk(parsed.Body, params["boundary"])
	joined := strings.Join(parts, "\n")
	if joined == "" {
		t.Logf("raw message:\n%s", msgs[0].Data)
	}
	for _, want := range []string{"text/plain", "text/html", "image/png|inline", "<chart.png>", "text/csv|attachment", "rows.csv"} {
		if !strings.Contains(joined, want) {
			t.Errorf("the message lacks %q; parts:\n%s", want, joined)
		}
	}
}
