package platforms

import (
	"net/http"

	"adpilot/metrics"
)

// observedTransport counts every HTTP call a platform client makes (API
// calls and OAuth exchanges alike), by outcome, for /metrics and the
// operators' scheduler page.
type observedTransport struct {
	next     http.RoundTripper
	platform string
}

func (o observedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := o.next.RoundTrip(req)
	metrics.ObservePlatformCall(o.platform, callOutcome(resp, err))
	return resp, err
}

// callOutcome names a call's result: ok, rate_limited, client_error,
// server_error or network_error.
func callOutcome(resp *http.Response, err error) string {
	switch {
	case err != nil:
		return "network_error"
	case resp.StatusCode == http.StatusTooManyRequests:
		return "rate_limited"
	case resp.StatusCode >= 500:
		return "server_error"
	case resp.StatusCode >= 400:
		return "client_error"
	}
	return "ok"
}

// observed gives a platform's settings an HTTP client whose calls are counted.
func observed(s Settings, platform string) Settings {
	c := *s.HTTPClient
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c.Transport = observedTransport{next: next, platform: platform}
	s.HTTPClient = &c
	return s
}
