package metrics

import (
	"sync"
	"time"
)

// CallCounts are a platform's API calls in the last hour on this replica.
type CallCounts struct {
	Calls  int64 `json:"calls"`
	Errors int64 `json:"errors"`
}

// window counts calls per platform in one-minute buckets over the last hour.
type window struct {
	mu      sync.Mutex
	buckets map[string]*[60]bucket
}

type bucket struct {
	minute        int64 // unix minute the bucket holds
	calls, errors int64
}

var calls = &window{buckets: map[string]*[60]bucket{}}

func (w *window) add(platform string, failed bool, now time.Time) {
	minute := now.Unix() / 60
	w.mu.Lock()
	defer w.mu.Unlock()
	b, ok := w.buckets[platform]
	if !ok {
		b = &[60]bucket{}
		w.buckets[platform] = b
	}
	slot := &b[minute%60]
	if slot.minute != minute {
		*slot = bucket{minute: minute}
	}
	slot.calls++
	if failed {
		slot.errors++
	}
}

func (w *window) lastHour(now time.Time) map[string]CallCounts {
	oldest := now.Unix()/60 - 59
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]CallCounts{}
	for platform, b := range w.buckets {
		var c CallCounts
		for _, slot := range b {
			if slot.minute >= oldest {
				c.Calls += slot.calls
				c.Errors += slot.errors
			}
		}
		if c.Calls > 0 {
			out[platform] = c
		}
	}
	return out
}

// PlatformCallsLastHour are this replica's platform API calls and errors
// over the last hour, by platform.
func PlatformCallsLastHour() map[string]CallCounts { return calls.lastHour(time.Now()) }
