package platforms

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"adpilot/metrics"
)

func TestPlatformCallsAreCounted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow-down" {
			w.WriteHeader(http.StatusTooManyRequests)
		}
	}))
	defer srv.Close()
	s := observed(Settings{HTTPClient: &http.Client{}}, "observe_test")
	before := metrics.PlatformCallsLastHour()["observe_test"]
	for _, path := range []string{"/ok", "/slow-down", "/ok"} {
		resp, err := s.HTTPClient.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if _, err := s.HTTPClient.Get("http://127.0.0.1:1/unreachable"); err == nil {
		t.Fatal("a closed port answered")
	}
	got := metrics.PlatformCallsLastHour()["observe_test"]
	if got.Calls-before.Calls != 4 || got.Errors-before.Errors != 2 {
		t.Fatalf("counted %+v (before %+v), want 4 calls and 2 errors", got, before)
	}
}
