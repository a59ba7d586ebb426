package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Webhook delivers messages as signed JSON POSTs.
type Webhook struct {
	policy  URLPolicy
	client  *http.Client
	now     func() time.Time
	timeout time.Duration
}

// WebhookOption configures a Webhook.
type WebhookOption func(*Webhook)

// WithWebhookClock sets the clock of sent_at and the signature timestamp.
func WithWebhookClock(now func() time.Time) WebhookOption {
	return func(w *Webhook) { w.now = now }
}

// WithWebhookTransport replaces policy.Transport(); the replacement bypasses
// the dial-time address check (tests only).
func WithWebhookTransport(rt http.RoundTripper) WebhookOption {
	return func(w *Webhook) { w.client.Transport = rt }
}

// WithWebhookTimeout sets the per-attempt timeout (default 10 s).
func WithWebhookTimeout(d time.Duration) WebhookOption {
	return func(w *Webhook) { w.timeout = d }
}

// NewWebhook returns a sender whose URLs and connections follow policy.
func NewWebhook(policy URLPolicy, opts ...WebhookOption) *Webhook {
	w := &Webhook{
		policy: policy,
		client: &http.Client{
			Transport: policy.Transport(),
			// A redirect could lead anywhere (and would drop the signature's
			// meaning); the receiver must be configured with its final URL.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		now:     time.Now,
		timeout: 10 * time.Second,
	}
	for _, o := range opts {
		o(w)
	}
	return w
}

// WebhookTarget is where and how to deliver: the URL, the signing secret
// and custom headers (e.g. Authorization for the receiver).
type WebhookTarget struct {
	URL     string
	Secret  string
	Headers map[string]string
}

// webhookPayload is the JSON body. Attachments are described, not carried:
// receivers get names, types and sizes (the bytes would bloat every
// delivery and most receivers only want the data).
type webhookPayload struct {
	ID          string           `json:"id"`
	Event       string           `json:"event"`
	Title       string           `json:"title"`
	Text        string           `json:"text"`
	Data        any              `json:"data"`
	SentAt      string           `json:"sent_at"`
	Attachments []attachmentMeta `json:"attachments"`
}

type attachmentMeta struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int    `json:"size"`
}

// Send POSTs m to target once. deliveryID goes into the body and the
// X-Adpilot-Delivery header; the caller keeps it across retries so receivers
// can deduplicate. A failure is an *Error: Retry for network errors,
// timeouts, 5xx, 408 and 429 (RetryAfter from Retry-After), Permanent for
// redirects, other 4xx and refused URLs. Errors never contain the secret or
// custom header values.
func (w *Webhook) Send(ctx context.Context, target WebhookTarget, deliveryID string, m Message) (int, error) {
	_, _, err := w.policy.checkForm(target.URL)
	if err != nil {
		return 0, &Error{Kind: Permanent, Message: "webhook URL " + err.Error(), Err: err}
	}
	now := w.now()
	body, err := webhookBody(deliveryID, m, now)
	if err != nil {
		return 0, &Error{Kind: Permanent, Message: "encoding the payload: " + err.Error(), Err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target.URL, bytes.NewReader(body))
	if err != nil {
		return 0, &Error{Kind: Permanent, Message: "webhook URL is not valid", Err: err}
	}
	for k, v := range target.Headers {
		if checkHeader(k, v) == nil {
			req.Header.Set(k, v)
		}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "adpilot-webhook/1")
	req.Header.Set("X-Adpilot-Event", m.Event)
	req.Header.Set("X-Adpilot-Delivery", deliveryID)
	req.Header.Set(SignatureHeader, Sign(target.Secret, body, now))

	resp, err := w.client.Do(req)
	if err != nil {
		return 0, w.transportError(ctx, err)
	}
	excerptBytes, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		return code, nil
	}
	msg := http.StatusText(code)
	if msg == "" {
		msg = "unexpected status"
	}
	kind := Permanent
	switch {
	case code >= 300 && code < 400:
		msg = "the receiver answered with a redirect; redirects are not followed, set the final URL"
		if loc := resp.Header.Get("Location"); loc != "" {
			msg += " (Location: " + excerpt([]byte(loc), target) + ")"
		}
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests, code >= 500:
		kind = Retry
	}
	if s := excerpt(excerptBytes, target); s != "" && (code < 300 || code >= 400) {
		msg += ": " + s
	}
	e := &Error{Kind: kind, StatusCode: code, Message: msg}
	if kind == Retry {
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), now)
	}
	return code, e
}

func webhookBody(id string, m Message, now time.Time) ([]byte, error) {
	p := webhookPayload{
		ID: id, Event: m.Event, Title: m.Title, Text: m.Text, Data: m.Data,
		SentAt:      now.UTC().Format(time.RFC3339),
		Attachments: []attachmentMeta{},
	}
	for _, a := range append(append([]Attachment{}, m.Images...), m.Files...) {
		p.Attachments = append(p.Attachments, attachmentMeta{a.Name, a.ContentType, len(a.Data)})
	}
	// Struct fields keep their order and encoding/json sorts map keys, so
	// the same message always gives the same bytes.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// transportError classifies a failure before any response: an SSRF refusal
// is Permanent, anything else (refused connection, DNS, timeout) Retry. The
// *url.Error wrapper is dropped: its message repeats the URL, whose query
// may hold a token.
func (w *Webhook) transportError(ctx context.Context, err error) error {
	var ue *URLError
	if errors.As(err, &ue) {
		return &Error{Kind: Permanent, Message: "webhook URL " + ue.Msg, Err: ue}
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &Error{Kind: Retry, Message: fmt.Sprintf("no answer within %s", w.timeout), Err: context.DeadlineExceeded}
	}
	if inner := errors.Unwrap(err); inner != nil {
		err = inner
	}
	return &Error{Kind: Retry, Message: "request failed: " + err.Error(), Err: err}
}

// excerpt makes a receiver's answer safe to store and show: at most 200
// characters of printable text, with the secret and custom header values
// blanked out (a receiver may echo the request).
func excerpt(b []byte, target WebhookTarget) string {
	s := strings.ToValidUTF8(string(b), "�")
	for _, v := range append(headerValues(target.Headers), target.Secret) {
		if len(v) >= 4 {
			s = strings.ReplaceAll(s, v, "[redacted]")
		}
	}
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }), " ")
	if utf8.RuneCountInString(s) > 200 {
		s = string([]rune(s)[:199]) + "…"
	}
	return s
}

func headerValues(h map[string]string) []string {
	vs := make([]string, 0, len(h))
	for _, v := range h {
		vs = append(vs, v)
	}
	return vs
}

// MaxRetryAfter caps a receiver's requested wait.
const MaxRetryAfter = 12 * time.Hour

// parseRetryAfter reads delay-seconds or an HTTP-date; 0 when absent or bad.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		d = time.Duration(min(max(secs, 0), int64(MaxRetryAfter/time.Second))) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), MaxRetryAfter)
}

// MaxCustomHeaders is how many custom headers a destination may have.
const MaxCustomHeaders = 20

// ValidateHeaders checks a destination's custom headers for the form. It
// never quotes a value (they are usually credentials).
func ValidateHeaders(h map[string]string) error {
	if len(h) > MaxCustomHeaders {
		return fmt.Errorf("at most %d custom headers are allowed", MaxCustomHeaders)
	}
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names) // the same input always reports the same problem
	for _, k := range names {
		if err := checkHeader(k, h[k]); err != nil {
			return err
		}
	}
	return nil
}

// Headers adpilot sets itself, or that belong to the HTTP connection.
var reservedHeaders = map[string]bool{
	"Content-Type": true, "Content-Length": true, "Content-Encoding": true, "Host": true,
	"User-Agent": true, "Connection": true, "Keep-Alive": true, "Transfer-Encoding": true,
	"Te": true, "Trailer": true, "Upgrade": true, "Expect": true, "Proxy-Connection": true,
}

func checkHeader(name, value string) error {
	if name == "" || strings.IndexFunc(name, func(r rune) bool { return !isTokenChar(r) }) >= 0 {
		return fmt.Errorf("header name %q is not valid (letters, digits and !#$%%&'*+-.^_`|~ only)", name)
	}
	canon := http.CanonicalHeaderKey(name)
	if reservedHeaders[canon] || strings.HasPrefix(canon, "X-Adpilot-") {
		return fmt.Errorf("header %s is set by adpilot and cannot be overridden", canon)
	}
	if strings.IndexFunc(value, func(r rune) bool { return (r < ' ' && r != '\t') || r == 0x7f }) >= 0 {
		return fmt.Errorf("the value of header %s contains a line break or control character", canon)
	}
	if len(value) > 4096 {
		return fmt.Errorf("the value of header %s is too long (at most 4096 bytes)", canon)
	}
	return nil
}

// isTokenChar reports whether r may appear in an RFC 7230 token.
func isTokenChar(r rune) bool {
	return r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		strings.ContainsRune("!#$%&'*+-.^_`|~", r))
}

// retrySchedule is the wait after each failed attempt: quick retries for
// blips, then hours for outages; about 11 h 42 min in all (9 attempts).
var retrySchedule = []time.Duration{
	30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 4 * time.Hour, 4 * time.Hour,
}

// RetrySchedule returns the waits between attempts (a copy).
func RetrySchedule() []time.Duration { return append([]time.Duration(nil), retrySchedule...) }

// NextAttempt returns when to try again after attempt (1-based) failed at
// now: the schedule's step ±10 % (so deliveries that failed together do not
// retry together), or retryAfter (capped at MaxRetryAfter) when longer.
// false: the schedule is exhausted, give up.
func NextAttempt(attempt int, now time.Time, retryAfter time.Duration) (time.Time, bool) {
	if attempt > len(retrySchedule) {
		return time.Time{}, false
	}
	step := retrySchedule[max(attempt, 1)-1]
	d := time.Duration(float64(step) * (0.9 + 0.2*rand.Float64()))
	d = max(d, min(retryAfter, MaxRetryAfter))
	return now.Add(d), true
}
