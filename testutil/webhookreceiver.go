package testutil

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// ReceivedWebhook is one request a WebhookReceiver got.
type ReceivedWebhook struct {
	Header         http.Header
	Body           []byte
	DeliveryID     string // X-Adpilot-Delivery
	Event          string // X-Adpilot-Event
	SignatureValid bool   // X-Adpilot-Signature verified against the receiver's secret
	Status         int    // what the receiver answered
	Received       time.Time
}

// WebhookReceiver is an HTTP server on 127.0.0.1 playing a customer's
// webhook endpoint. It verifies signatures with its own code (not
// adpilot/notify's), so a test checks the documented scheme rather than the
// sender against itself. Senders need URLPolicy{AllowPrivate: true} to reach it.
type WebhookReceiver struct {
	URL string

	t       testing.TB
	mu      sync.Mutex
	secret  string
	delay   time.Duration
	script  []scriptedAnswer
	reqs    []ReceivedWebhook
	changed chan struct{} // closed and replaced on every request
}

type scriptedAnswer struct {
	status     int
	retryAfter string
}

// NewWebhookReceiver starts a receiver expecting signatures made with
// secret; it answers 200 unless scripted otherwise and stops with the test.
func NewWebhookReceiver(t testing.TB, secret string) *WebhookReceiver {
	t.Helper()
	r := &WebhookReceiver{t: t, secret: secret, changed: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

// SetSecret changes the secret signatures are checked against.
func (r *WebhookReceiver) SetSecret(s string) { r.mu.Lock(); r.secret = s; r.mu.Unlock() }

// SetDelay makes the receiver wait d before answering (timeout tests).
func (r *WebhookReceiver) SetDelay(d time.Duration) { r.mu.Lock(); r.delay = d; r.mu.Unlock() }

// RespondWith queues statuses for the next requests, in order; afterwards
// (and between scripted answers queued later) it answers 200. A 3xx answer
// carries a Location header.
func (r *WebhookReceiver) RespondWith(statuses ...int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range statuses {
		r.script = append(r.script, scriptedAnswer{status: s})
	}
}

// RespondRetryAfter queues one answer with status and a Retry-After header.
func (r *WebhookReceiver) RespondRetryAfter(status int, retryAfter string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.script = append(r.script, scriptedAnswer{status: status, retryAfter: retryAfter})
}

func (r *WebhookReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	r.mu.Lock()
	secret, delay := r.secret, r.delay
	answer := scriptedAnswer{status: http.StatusOK}
	if len(r.script) > 0 {
		answer, r.script = r.script[0], r.script[1:]
	}
	r.reqs = append(r.reqs, ReceivedWebhook{
		Header:         req.Header.Clone(),
		Body:           body,
		DeliveryID:     req.Header.Get("X-Adpilot-Delivery"),
		Event:          req.Header.Get("X-Adpilot-Event"),
		SignatureValid: verifyWebhookSignature(secret, req.Header.Get("X-Adpilot-Signature"), body, time.Now()),
		Status:         answer.status,
		Received:       time.Now(),
	})
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()

	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-req.Context().Done(): // the sender gave up
			return
		}
	}
	if answer.retryAfter != "" {
		w.Header().Set("Retry-After", answer.retryAfter)
	}
	if answer.status >= 300 && answer.status < 400 {
		w.Header().Set("Location", r.URL+"/moved")
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(answer.status)
	io.WriteString(w, http.StatusText(answer.status)+" from the test receiver")
}

// verifyWebhookSignature is what a customer's receiver does with
// "t=<unix>,v1=<hex>[,v1=...]": HMAC-SHA256(secret, t + "." + raw body)
// must equal one v1 (constant-time) and t be within 5 minutes of now.
func verifyWebhookSignature(secret, header string, body []byte, now time.Time) bool {
	var ts string
	var sigs []string
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	if d := now.Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	ok := false
	for _, s := range sigs {
		got, err := hex.DecodeString(s)
		ok = (err == nil && hmac.Equal(got, want)) || ok
	}
	return ok
}

// Requests returns what the receiver got so far, oldest first.
func (r *WebhookReceiver) Requests() []ReceivedWebhook {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]ReceivedWebhook(nil), r.reqs...)
}

// DeliveryIDs returns the X-Adpilot-Delivery of every request, oldest first.
func (r *WebhookReceiver) DeliveryIDs() []string {
	var ids []string
	for _, req := range r.Requests() {
		ids = append(ids, req.DeliveryID)
	}
	return ids
}

// WaitFor waits until at least n requests arrived and returns them all,
// failing the test after timeout. Call it from the test's goroutine.
func (r *WebhookReceiver) WaitFor(n int, timeout time.Duration) []ReceivedWebhook {
	r.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		got, changed := len(r.reqs), r.changed
		r.mu.Unlock()
		if got >= n {
			return r.Requests()
		}
		select {
		case <-changed:
		case <-deadline.C:
			r.t.Fatalf("webhook receiver: %d requests after %s, want %d", got, timeout, n)
			return nil
		}
	}
}
