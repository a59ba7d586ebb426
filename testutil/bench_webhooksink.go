package testutil

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// BenchSink is a webhook endpoint for load benchmarks: it answers 200 at
// once and keeps, per request, only what a benchmark needs (the
// X-Adpilot-Delivery id, the automation named in the payload and when it
// arrived), so 10,000 deliveries cost a few hundred kilobytes, not their
// bodies. Senders need URLPolicy{AllowPrivate: true} to reach it.
type BenchSink struct {
	URL string

	mu       sync.Mutex
	got      []BenchDelivery
	want     int
	complete chan struct{} // closed when len(got) reaches want
}

// BenchDelivery is one request the sink received.
type BenchDelivery struct {
	DeliveryID   string // X-Adpilot-Delivery ("" if missing)
	AutomationID string // data.automation.id of the JSON body ("" if absent)
	Received     time.Time
}

// NewBenchSink starts a sink on 127.0.0.1; it stops with the benchmark.
func NewBenchSink(tb testing.TB) *BenchSink {
	tb.Helper()
	s := &BenchSink{complete: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

func (s *BenchSink) serve(w http.ResponseWriter, r *http.Request) {
	received := time.Now()
	var body struct {
		Data struct {
			Automation struct {
				ID string `json:"id"`
			} `json:"automation"`
		} `json:"data"`
	}
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	_ = json.Unmarshal(raw, &body)
	w.WriteHeader(http.StatusOK)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, BenchDelivery{DeliveryID: r.Header.Get("X-Adpilot-Delivery"), AutomationID: body.Data.Automation.ID, Received: received})
	if s.want > 0 && len(s.got) == s.want {
		close(s.complete)
	}
}

// Expect resets the sink for a batch of n deliveries: Complete is closed
// once n requests have arrived.
func (s *BenchSink) Expect(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got, s.want, s.complete = make([]BenchDelivery, 0, n), n, make(chan struct{})
}

// Complete is closed when the expected number of requests has arrived.
func (s *BenchSink) Complete() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.complete
}

// Received returns a copy of every request so far, in arrival order.
func (s *BenchSink) Received() []BenchDelivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]BenchDelivery(nil), s.got...)
}

// Count is how many requests arrived so far.
func (s *BenchSink) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got)
}

// WithLatency delays every request by d before h answers it: a fake
// platform that takes as long as a real one to answer.
func WithLatency(h http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		}
		h.ServeHTTP(w, r)
	})
}
