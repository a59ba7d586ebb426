package mailer

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Timeout bounds one delivery: connecting, TLS, AUTH and the transfer.
const Timeout = 10 * time.Second

// Default ports: implicit TLS for smtps://, submission with STARTTLS for smtp://.
const (
	defaultSMTPSPort = 465
	defaultSMTPPort  = 587
)

// SMTP sends mail through one SMTP server. It holds no connection: each Send
// dials, delivers and hangs up, so it is safe for concurrent use.
type SMTP struct {
	host      string
	port      int
	implicit  bool // smtps://: TLS from the first byte
	user      string
	password  string
	from      *mail.Address
	tlsConfig *tls.Config
}

// Option adjusts an SMTP sender.
type Option func(*SMTP)

// WithTLSConfig replaces the TLS settings (tests trust a private CA with it).
func WithTLSConfig(c *tls.Config) Option { return func(s *SMTP) { s.tlsConfig = c.Clone() } }

// NewSMTP builds a sender from SMTP_URL and MAIL_FROM.
//
// smtpURL is smtps://[user:password@]host[:port] for implicit TLS (port 465
// by default) or smtp://[user:password@]host[:port] for STARTTLS when the
// server offers it (port 587 by default). With credentials, SMTP AUTH
// (PLAIN or LOGIN, whichever the server offers) runs; go-mail sends them
// only over TLS or to a server on the loopback address. from is an
// address, optionally with a name ("adpilot <noreply@example.com>").
// Errors describe the URL without quoting it: it may hold a password.
func NewSMTP(smtpURL, from string, opts ...Option) (*SMTP, error) {
	u, err := url.Parse(smtpURL)
	if err != nil {
		return nil, errors.New("mailer: SMTP_URL is not a valid URL")
	}
	s := &SMTP{host: u.Hostname()}
	switch u.Scheme {
	case "smtps":
		s.implicit, s.port = true, defaultSMTPSPort
	case "smtp":
		s.port = defaultSMTPPort
	default:
		return nil, errors.New("mailer: SMTP_URL must start with smtp:// or smtps://")
	}
	if s.host == "" {
		return nil, errors.New("mailer: SMTP_URL has no host")
	}
	if p := u.Port(); p != "" {
		if s.port, err = strconv.Atoi(p); err != nil || s.port < 1 || s.port > 65535 {
			return nil, errors.New("mailer: SMTP_URL has an invalid port")
		}
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.password, _ = u.User.Password()
		if s.user == "" {
			return nil, errors.New("mailer: SMTP_URL has credentials without a user name")
		}
	}
	if s.from, err = mail.ParseAddress(from); err != nil {
		return nil, fmt.Errorf("mailer: MAIL_FROM %q is not an email address", from)
	}
	s.tlsConfig = &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12}
	for _, o := range opts {
		o(s)
	}
	if s.tlsConfig.ServerName == "" {
		s.tlsConfig.ServerName = s.host
	}
	return s, nil
}

// String describes the server without credentials, for logs.
func (s *SMTP) String() string {
	scheme := "smtp"
	if s.implicit {
		scheme = "smtps"
	}
	return scheme + "://" + net.JoinHostPort(s.host, strconv.Itoa(s.port))
}

// Send delivers m as multipart/alternative (plain text, then HTML) within
// Timeout. A failure is an *Error that holds neither the password nor the
// recipient's address.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	if strings.TrimSpace(m.To) == "" {
		return &Error{text: "smtp: no recipient"}
	}
	msg, err := s.build(m)
	if err != nil {
		return newError(err, s.password, m.To)
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	client, err := s.client(ctx)
	if err != nil {
		return newError(err, s.password, m.To)
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return newError(err, s.password, m.To)
	}
	return nil
}

func (s *SMTP) build(m Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(s.from)
	if err := msg.To(m.To); err != nil {
		return nil, errors.New("invalid recipient address")
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	domain := s.from.Address[strings.LastIndexByte(s.from.Address, '@')+1:]
	msg.SetMessageIDWithValue(strings.ToLower(rand.Text()) + "@" + domain)
	// Transactional mail: no vacation replies (RFC 3834).
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	for _, a := range m.Attachments {
		opts := []gomail.FileOption{gomail.WithFileContentType(gomail.ContentType(a.ContentType))}
		var err error
		if a.Inline {
			err = msg.EmbedReader(a.Name, bytes.NewReader(a.Data), opts...) // Content-ID <Name>
		} else {
			err = msg.AttachReader(a.Name, bytes.NewReader(a.Data), opts...)
		}
		if err != nil {
			return nil, errors.New("attachment " + a.Name + ": " + err.Error())
		}
	}
	return msg, nil
}

// client builds a go-mail client per delivery: go-mail's Client keeps
// per-connection state, and mail volume is low. Its connection closes when
// ctx ends (go-mail itself only bounds the dial by the context).
func (s *SMTP) client(ctx context.Context) (*gomail.Client, error) {
	opts := []gomail.Option{
		gomail.WithPort(s.port),
		gomail.WithTimeout(Timeout),
		gomail.WithTLSConfig(s.tlsConfig.Clone()),
		gomail.WithDialContextFunc(s.dial(ctx)),
	}
	if s.implicit {
		opts = append(opts, gomail.WithSSL())
	} else {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if s.user != "" {
		opts = append(opts,
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(s.user), gomail.WithPassword(s.password))
	}
	return gomail.NewClient(s.host, opts...)
}

// dial connects (with TLS from the start for smtps://) and ties the
// connection to ctx. It returns the *tls.Conn itself, unwrapped: go-mail
// checks for that type before it sends credentials.
func (s *SMTP) dial(ctx context.Context) gomail.DialContextFunc {
	return func(dialCtx context.Context, network, addr string) (net.Conn, error) {
		d := &net.Dialer{}
		var conn net.Conn
		var err error
		if s.implicit {
			conn, err = (&tls.Dialer{NetDialer: d, Config: s.tlsConfig.Clone()}).DialContext(dialCtx, network, addr)
		} else {
			conn, err = d.DialContext(dialCtx, network, addr)
		}
		if err != nil {
			return nil, err
		}
		context.AfterFunc(ctx, func() { _ = conn.Close() })
		return conn, nil
	}
}
