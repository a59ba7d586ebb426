package handlers

import (
	"context"
	"time"
)

// backgroundTimeout bounds work a handler leaves running after its answer.
const backgroundTimeout = 30 * time.Second

// background runs fn after the response, detached from the request's
// cancellation. Shutdown waits for it (Wait) before the database closes.
func (h *Handler) background(fn func(ctx context.Context)) {
	h.inFlight.Add(1)
	go func() {
		defer h.inFlight.Done()
		ctx, cancel := context.WithTimeout(context.Background(), backgroundTimeout)
		defer cancel()
		fn(ctx)
	}()
}

// Wait blocks until background work has finished or ctx ends.
func (h *Handler) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { h.inFlight.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
