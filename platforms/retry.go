package platforms

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// Retry is a capped, jittered exponential backoff for platform calls.
type Retry struct {
	Attempts int           // total tries, first included
	Base     time.Duration // first backoff
	Max      time.Duration // cap of one wait; a RetryAfter above it is not waited for
	// Sleep waits for d or until ctx ends; tests replace it to record waits.
	Sleep func(ctx context.Context, d time.Duration) error
}

// DefaultRetry suits interactive and job calls alike: four tries within
// about a minute at worst.
var DefaultRetry = Retry{Attempts: 4, Base: 500 * time.Millisecond, Max: 30 * time.Second}

// Do runs call until it succeeds, fails with an error that retrying cannot
// fix, or runs out of attempts. The last error is returned as is.
func (r Retry) Do(ctx context.Context, call func(ctx context.Context) error) error {
	attempts := max(r.Attempts, 1)
	var err error
	for attempt := 0; attempt < attempts; attempt++ {
		if err = call(ctx); err == nil {
			return nil
		}
		wait, ok := r.Delay(attempt, err)
		if !ok || attempt == attempts-1 {
			return err
		}
		if serr := r.sleep(ctx, wait); serr != nil {
			return err
		}
	}
	return err
}

// Delay decides whether err (after try number attempt, from 0) is worth
// another try, and how long to wait first. Rate limits wait RetryAfter when
// the platform gave one, unless that is longer than Max: then the caller is
// better off rescheduling than holding a worker.
func (r Retry) Delay(attempt int, err error) (time.Duration, bool) {
	var pe *Error
	if !errors.As(err, &pe) {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return 0, false
		}
		return r.backoff(attempt), true // unknown errors: treat as transient
	}
	switch pe.Kind {
	case KindTransient:
		return r.backoff(attempt), true
	case KindRateLimited:
		if pe.RetryAfter > 0 {
			if pe.RetryAfter > r.Max {
				return 0, false
			}
			return pe.RetryAfter, true
		}
		return r.backoff(attempt), true
	}
	return 0, false
}

// backoff is "full jitter": a random wait up to Base*2^attempt, capped at Max.
func (r Retry) backoff(attempt int) time.Duration {
	ceiling := r.Base << min(attempt, 20)
	if ceiling <= 0 || ceiling > r.Max {
		ceiling = r.Max
	}
	if ceiling <= 0 {
		return 0
	}
	// Half fixed, half random: never a zero wait, never a thundering herd.
	return ceiling/2 + rand.N(ceiling/2+1)
}

func (r Retry) sleep(ctx context.Context, d time.Duration) error {
	if r.Sleep != nil {
		return r.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
