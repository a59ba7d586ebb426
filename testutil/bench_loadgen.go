package testutil

import (
	"context"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Load generators for benchmarks that drive a running server (or the
// database) from inside the test process. do is one request or statement;
// it returns nil when the call was accepted.

// ClosedLoopResult is what a closed-loop run did.
type ClosedLoopResult struct {
	OK       int64         // calls that returned nil
	Failed   int64         // calls that returned an error
	FirstErr error         // the first error, if any
	Elapsed  time.Duration // from the start until the last call returned
}

// PerSecond is accepted calls per second of Elapsed.
func (r ClosedLoopResult) PerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.OK) / r.Elapsed.Seconds()
}

// Add sums two runs (for rounds interleaved with other work).
func (r ClosedLoopResult) Add(o ClosedLoopResult) ClosedLoopResult {
	r.OK, r.Failed, r.Elapsed = r.OK+o.OK, r.Failed+o.Failed, r.Elapsed+o.Elapsed
	if r.FirstErr == nil {
		r.FirstErr = o.FirstErr
	}
	return r
}

// ClosedLoop runs workers goroutines, each calling do back to back (the
// next call starts when the previous one returned) until d has passed,
// and measures the throughput the system sustains at that concurrency.
// Calls in flight at the deadline are finished and counted.
func ClosedLoop(ctx context.Context, workers int, d time.Duration, do func(ctx context.Context) error) ClosedLoopResult {
	var ok, failed atomic.Int64
	var firstErr error
	var errOnce sync.Once
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(deadline) {
				if err := do(ctx); err != nil {
					failed.Add(1)
					errOnce.Do(func() { firstErr = err })
					continue
				}
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	return ClosedLoopResult{OK: ok.Load(), Failed: failed.Load(), FirstErr: firstErr, Elapsed: time.Since(start)}
}

// OpenLoopResult is what an open-loop run did.
type OpenLoopResult struct {
	Sent      int
	Failed    int
	FirstErr  error
	Latencies Latencies     // of every call, failed ones included, from its scheduled time
	MaxLag    time.Duration // the latest a call started after its scheduled time
	Elapsed   time.Duration // from the first scheduled send until the last call returned
}

// OpenLoop offers a constant rate of calls for d without ever waiting for
// answers: call i is scheduled at start + i/rate and started in its own
// goroutine at that time (at once, if the generator is behind), and its
// latency is measured from the scheduled time, not from when it really
// started. A server that stalls therefore shows its queue as latency
// instead of silently lowering the offered rate (no coordinated omission).
// The schedule is computed from the start, not from ticks, so a late
// wake-up never drops sends as a time.Ticker would.
func OpenLoop(ctx context.Context, rate int, d time.Duration, do func(ctx context.Context) error) OpenLoopResult {
	n := int(d.Seconds() * float64(rate))
	interval := time.Second / time.Duration(rate)
	lat := make(Latencies, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	var maxLag time.Duration
	start := time.Now().Add(5 * time.Millisecond)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	sent := 0
	for i := 0; i < n && ctx.Err() == nil; i++ {
		at := start.Add(time.Duration(i) * interval)
		if wait := time.Until(at); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
			}
		}
		maxLag = max(maxLag, time.Since(at))
		sent++
		wg.Go(func() {
			errs[i] = do(ctx)
			lat[i] = time.Since(at)
		})
	}
	wg.Wait()
	r := OpenLoopResult{Sent: sent, Latencies: lat[:sent], MaxLag: maxLag, Elapsed: time.Since(start)}
	for _, err := range errs[:sent] {
		if err != nil {
			r.Failed++
			if r.FirstErr == nil {
				r.FirstErr = err
			}
		}
	}
	return r
}

// Latencies are measured durations.
type Latencies []time.Duration

// Percentile is the nearest-rank p-th percentile (0 < p <= 100); 0 when
// there are none.
func (l Latencies) Percentile(p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := slices.Clone(l)
	slices.Sort(s)
	rank := int(float64(len(s))*p/100+0.999999) - 1
	return s[min(max(rank, 0), len(s)-1)]
}

// NewLoadClient is an HTTP client for load generators: keep-alive
// connections to one host, as many as conns kept idle (the default keeps
// 2, so a load test would open and close a connection per request and
// measure TCP set-up and TIME_WAIT instead of the server).
func NewLoadClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
