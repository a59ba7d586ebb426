package metrics

import (
	"testing"
	"time"
)

func TestWindowKeepsTheLastHour(t *testing.T) {
	w := &window{buckets: map[string]*[60]bucket{}}
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	w.add("facebook", false, t0)
	w.add("facebook", true, t0.Add(30*time.Minute))
	w.add("tiktok", true, t0.Add(59*time.Minute))
	got := w.lastHour(t0.Add(59 * time.Minute))
	if got["facebook"] != (CallCounts{Calls: 2, Errors: 1}) || got["tiktok"] != (CallCounts{Calls: 1, Errors: 1}) {
		t.Fatalf("within the hour: %+v", got)
	}
	// An hour later the first call has left the window; the bucket it used is reused.
	w.add("facebook", false, t0.Add(60*time.Minute))
	got = w.lastHour(t0.Add(61 * time.Minute))
	if got["facebook"] != (CallCounts{Calls: 2, Errors: 1}) {
		t.Fatalf("an hour on: %+v", got)
	}
	if got = w.lastHour(t0.Add(3 * time.Hour)); len(got) != 0 {
		t.Fatalf("hours later: %+v", got)
	}
}
