package testutil

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Credentials the fake SMTP server accepts; URL() carries them.
const (
	SMTPUser     = "mailer"
	SMTPPassword = "smtp-test-pw-7c1e9a"
)

// SMTPServer is a real SMTP server (emersion/go-smtp) on 127.0.0.1 that
// records what it receives. It requires AUTH PLAIN with SMTPUser and
// SMTPPassword before MAIL FROM, and can refuse deliveries on demand.
type SMTPServer struct {
	t         testing.TB
	addr      string
	scheme    string
	clientTLS *tls.Config

	mu       sync.Mutex
	messages []SMTPMessage
	auths    []string // user names that tried AUTH, in order
	failures []smtpFailure
	delay    time.Duration // before answering DATA
	arrived  chan struct{} // signalled on every delivered message
}

// SMTPMessage is one message the server accepted.
type SMTPMessage struct {
	From     string   // envelope sender (MAIL FROM)
	To       []string // envelope recipients (RCPT TO)
	Data     []byte   // the message as sent after DATA
	Username string   // the authenticated user
	TLS      bool     // whether the connection was encrypted
}

type smtpFailure struct {
	code    int
	message string
}

// SMTPOption configures NewSMTPServer.
type SMTPOption func(*smtpConfig)

type smtpConfig struct{ startTLS, implicitTLS bool }

// SMTPWithStartTLS offers STARTTLS and accepts AUTH only after it.
func SMTPWithStartTLS() SMTPOption { return func(c *smtpConfig) { c.startTLS = true } }

// SMTPWithImplicitTLS serves TLS from the first byte (smtps://).
func SMTPWithImplicitTLS() SMTPOption { return func(c *smtpConfig) { c.implicitTLS = true } }

// NewSMTPServer starts a fake SMTP server that stops when the test ends.
// Without options it speaks plain SMTP and allows AUTH unencrypted (clients
// allow PLAIN to 127.0.0.1); see SMTPWithStartTLS and SMTPWithImplicitTLS.
func NewSMTPServer(t testing.TB, opts ...SMTPOption) *SMTPServer {
	t.Helper()
	var cfg smtpConfig
	for _, o := range opts {
		o(&cfg)
	}
	s := &SMTPServer{t: t, scheme: "smtp", arrived: make(chan struct{}, 1)}
	srv := smtp.NewServer(smtpBackend{s})
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.AllowInsecureAuth = !cfg.startTLS && !cfg.implicitTLS

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("SMTP test server: %v", err)
	}
	if cfg.startTLS || cfg.implicitTLS {
		serverTLS, clientTLS := selfSignedTLS(t)
		s.clientTLS = clientTLS
		if cfg.implicitTLS {
			ln = tls.NewListener(ln, serverTLS)
			s.scheme = "smtps"
		} else {
			srv.TLSConfig = serverTLS
		}
	}
	s.addr = ln.Addr().String()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return s
}

// URL is the server's SMTP_URL, credentials included:
// smtp://mailer:…@127.0.0.1:port (smtps:// with implicit TLS).
func (s *SMTPServer) URL() string {
	return (&url.URL{Scheme: s.scheme, User: url.UserPassword(SMTPUser, SMTPPassword), Host: s.addr}).String()
}

// Addr is the host:port the server listens on.
func (s *SMTPServer) Addr() string { return s.addr }

// ClientTLSConfig trusts the server's self-signed certificate (nil for a
// plain server).
func (s *SMTPServer) ClientTLSConfig() *tls.Config { return s.clientTLS }

// FailNext makes the server refuse the next n recipients (RCPT TO) with
// the given SMTP code, such as 451 (try again later) or 550 (no such user).
func (s *SMTPServer) FailNext(n, code int, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, smtpFailure{code, message})
	}
}

// SetDelay makes the server take d to accept each message, like a slow
// relay, so tests can catch work that overlaps.
func (s *SMTPServer) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Messages returns every message accepted so far.
func (s *SMTPServer) Messages() []SMTPMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SMTPMessage(nil), s.messages...)
}

// Auths returns the user names that attempted AUTH, in order.
func (s *SMTPServer) Auths() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.auths...)
}

// WaitForMessages waits until at least n messages arrived and returns them
// all; the test fails after timeout.
func (s *SMTPServer) WaitForMessages(n int, timeout time.Duration) []SMTPMessage {
	s.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		if got := s.Messages(); len(got) >= n {
			return got
		}
		select {
		case <-s.arrived:
		case <-deadline.C:
			s.t.Fatalf("SMTP server: %d messages after %v, want %d", len(s.Messages()), timeout, n)
		}
	}
}

type smtpBackend struct{ s *SMTPServer }

func (b smtpBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &smtpSession{s: b.s, conn: c}, nil
}

type smtpSession struct {
	s    *SMTPServer
	conn *smtp.Conn
	user string
	from string
	to   []string
}

var _ smtp.AuthSession = (*smtpSession)(nil)

func (ss *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *smtpSession) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(_, username, password string) error {
		ss.s.mu.Lock()
		ss.s.auths = append(ss.s.auths, username)
		ss.s.mu.Unlock()
		if username != SMTPUser || password != SMTPPassword {
			return smtp.ErrAuthFailed
		}
		ss.user = username
		return nil
	}), nil
}

func (ss *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if ss.user == "" {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	if len(ss.s.failures) > 0 {
		f := ss.s.failures[0]
		ss.s.failures = ss.s.failures[1:]
		class := 4
		if f.code >= 500 {
			class = 5
		}
		return &smtp.SMTPError{Code: f.code, EnhancedCode: smtp.EnhancedCode{class, 1, 1}, Message: f.message}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *smtpSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := ss.conn.TLSConnectionState()
	ss.s.mu.Lock()
	delay := ss.s.delay
	ss.s.mu.Unlock()
	time.Sleep(delay)
	ss.s.mu.Lock()
	ss.s.messages = append(ss.s.messages, SMTPMessage{
		From: ss.from, To: append([]string(nil), ss.to...), Data: data, Username: ss.user, TLS: isTLS,
	})
	ss.s.mu.Unlock()
	select {
	case ss.s.arrived <- struct{}{}:
	default:
	}
	return nil
}

func (ss *smtpSession) Reset() { ss.from, ss.to = "", nil }

func (ss *smtpSession) Logout() error { return nil }

// selfSignedTLS makes a certificate for 127.0.0.1 and a client config that
// trusts it.
func selfSignedTLS(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "adpilot test SMTP"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}}, MinVersion: tls.VersionTLS12}
	client = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	return server, client
}

// Header returns the decoded value of a header of the message ("" when absent).
func (m SMTPMessage) Header(name string) string {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		return ""
	}
	v := msg.Header.Get(name)
	if dec, err := new(mime.WordDecoder).DecodeHeader(v); err == nil {
		return dec
	}
	return v
}

// Subject is the decoded Subject header.
func (m SMTPMessage) Subject() string { return m.Header("Subject") }

// Part returns the decoded body of the first part with the given media type
// (such as text/plain or text/html), looking through multipart containers.
func (m SMTPMessage) Part(mediaType string) (string, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		return "", err
	}
	body, err := findPart(msg.Header, msg.Body, mediaType)
	if err != nil {
		return "", err
	}
	if body == nil {
		return "", fmt.Errorf("no %s part", mediaType)
	}
	return string(body), nil
}

// Text is the decoded text/plain part ("" when there is none).
func (m SMTPMessage) Text() string { s, _ := m.Part("text/plain"); return s }

// HTML is the decoded text/html part ("" when there is none).
func (m SMTPMessage) HTML() string { s, _ := m.Part("text/html"); return s }

type headerGetter interface{ Get(string) string }

func findPart(h headerGetter, body io.Reader, want string) ([]byte, error) {
	ct := h.Get("Content-Type")
	if ct == "" {
		ct = "text/plain"
	}
	mediaType, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil, nil
			}
			if err != nil {
				return nil, err
			}
			if found, err := findPart(p.Header, p, want); err != nil || found != nil {
				return found, err
			}
		}
	}
	if mediaType != want {
		return nil, nil
	}
	switch strings.ToLower(h.Get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, &newlineStripper{r: body})
	}
	return io.ReadAll(body)
}

// newlineStripper drops CR and LF, which base64 bodies wrap with.
type newlineStripper struct{ r io.Reader }

func (n *newlineStripper) Read(p []byte) (int, error) {
	for {
		k, err := n.r.Read(p)
		j := 0
		for _, c := range p[:k] {
			if c != '\r' && c != '\n' {
				p[j] = c
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}
