package notify

import (
	"context"
	"sync"
	"time"
)

// Pump timing: after finding work the queue is looked at again within
// pumpMinWait; while it stays empty the wait doubles up to Run's idle.
const pumpMinWait = 50 * time.Millisecond

// Kick tells a running Run that deliveries were just queued, so it claims
// them now instead of at its next poll. It never blocks.
func (d *Dispatcher) Kick() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// Run drains the delivery queue until ctx ends, with up to workers attempts
// at once. It claims as many due deliveries as it has idle workers (one
// lease each, so a delivery is never held longer than its attempt), hands
// each to a worker at once, and claims again as soon as a worker is free
// while deliveries are due. With nothing due it waits for Kick, or polls:
// soon after recent work (runs finishing on other replicas), backing off to
// idle. Attempts in flight when ctx ends finish (within attemptBudget)
// before Run returns. Every replica may run it: claims are leased rows.
func (d *Dispatcher) Run(ctx context.Context, workers int, idle time.Duration) {
	workers = max(workers, 1)
	free := make(chan struct{}, workers)
	for range workers {
		free <- struct{}{}
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	wait := pumpMinWait
	for {
		select {
		case <-free:
		case <-ctx.Done():
			return
		}
		n := 1
	take:
		for n < workers {
			select {
			case <-free:
				n++
			default:
				break take
			}
		}
		due, err := d.store.ClaimDueDeliveries(ctx, d.now(), n, Lease)
		if err != nil && ctx.Err() == nil {
			d.logger.Error("delivery queue: claiming", "err", err)
		}
		for range n - len(due) {
			free <- struct{}{}
		}
		for _, del := range due {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { free <- struct{}{} }()
				// Shutdown waits for attempts in flight rather than cutting them.
				actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), attemptBudget)
				defer cancel()
				if _, err := d.Attempt(actx, del); err != nil {
					d.logger.Error("delivery: recording the attempt failed; it will be retried after its lease", "delivery", del.ID, "err", err)
				}
			}()
		}
		if len(due) == n {
			wait = pumpMinWait
			continue // maybe more are due: claim again as soon as a worker is free
		}
		if len(due) > 0 {
			wait = pumpMinWait
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-d.kick:
			wait = pumpMinWait
		case <-t.C:
			wait = min(2*wait, max(idle, pumpMinWait))
		}
		t.Stop()
	}
}
