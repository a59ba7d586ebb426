package jobs

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"adpilot/engine"
	"adpilot/models"
)

// maxClaimBatch bounds one claim: its row locks are held for one short
// transaction, and a replica does not hoard runs that others could start.
const maxClaimBatch = 64

// claimedRun is a run handed to a worker, with its runtime when the claim
// read it (nil: Execute reads it).
type claimedRun struct {
	run models.Run
	rt  *models.RunRuntime
}

// automationPool runs claimed automation runs on a fixed number of workers.
// The scheduler claims ahead into a buffer of twice as many runs as there
// are workers, so a worker that finishes takes its next run at once
// instead of waiting for a claim; a claim is made again as soon as the
// buffer is half empty.
type automationPool struct {
	runs   chan claimedRun // the claimed runs not yet taken by a worker
	busy   sync.WaitGroup  // workers
	active atomic.Int32    // workers executing a run now (the heartbeat reports it)
	kick   chan struct{}   // the buffer ran low: claim again without waiting for the tick

	// release hands back a claimed run no worker took (shutdown).
	release func(models.Run)

	mu     sync.Mutex // held while claiming and handing runs over, so shutdown never closes runs mid-send
	closed bool
}

func (s *Scheduler) startAutomationPool(ctx context.Context) {
	n := s.cfg.AutomationWorkers
	p := &automationPool{runs: make(chan claimedRun, 2*n), kick: make(chan struct{}, 1)}
	p.release = func(r models.Run) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := s.store.ReleaseRun(rctx, r, s.clock.Now()); err != nil {
			s.logger.Warn("automation run: handing back a claimed run failed; its lease will run out", "run", r.ID, "err", err)
		}
	}
	for range n {
		p.busy.Add(1)
		go func() {
			defer p.busy.Done()
			for c := range p.runs {
				if len(p.runs) <= cap(p.runs)/2 {
					select {
					case p.kick <- struct{}{}:
					default:
					}
				}
				var err error
				p.active.Add(1)
				if c.rt != nil {
					_, err = s.engine.ExecuteClaimed(ctx, c.run, c.rt)
				} else {
					_, err = s.engine.Execute(ctx, c.run)
				}
				p.active.Add(-1)
				if errors.Is(err, models.ErrLeaseLost) {
					// This worker stalled past its lease and another replica
					// took the run up: its attempt is the one that counts, and
					// nothing of this one was written.
					s.logger.Warn("automation run: lease lost to another worker; this attempt was dropped", "run", c.run.ID,
						"automation", c.run.AutomationID)
				} else if err != nil {
					s.logger.Error("automation run", "run", c.run.ID, "automation", c.run.AutomationID, "err", err)
				}
			}
		}()
	}
	s.pool = p
	p.kick <- struct{}{} // claim at once, not at the first tick
	// A backlog drains as fast as workers free up, not one batch a tick.
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-p.kick:
				_ = s.tickAutomations(ctx)
			}
		}
	}()
}

// tickAutomations claims due runs (and runs whose lease expired) until the
// buffer is full or nothing more is due, and hands them over. Every replica
// ticks; the claim's row locks and unique slot key keep each slot to one
// run. A batch costs a few statements whatever its size: the claim starts
// the runs and reads the zones their next runs are computed in, and one
// read fetches what they run on (automation, tenant, connections,
// destination).
func (s *Scheduler) tickAutomations(ctx context.Context) error {
	p := s.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		if p.closed || ctx.Err() != nil {
			return nil
		}
		// Claim in batches: a claim of a few runs costs as many
		// statements as one of maxClaimBatch.
		room := min(cap(p.runs)-len(p.runs), maxClaimBatch)
		if room < min(maxClaimBatch, cap(p.runs)/2) {
			return nil
		}
		now := s.clock.Now()
		var batch []claimedRun
		reclaimed, err := s.store.ReclaimExpiredRuns(ctx, now, room, engine.Lease)
		for _, r := range reclaimed {
			batch = append(batch, claimedRun{run: r})
		}
		var due []models.ClaimedRun
		if err == nil && len(batch) < room {
			due, err = s.store.ClaimAndStartDueRuns(ctx, now, room-len(batch), engine.Lease, s.engine.NextRunIn)
		}
		if len(due) > 0 {
			autos := make([]models.Automation, len(due))
			for i, c := range due {
				autos[i] = c.Automation
			}
			// Without their runtime (a failed read) runs still go: each
			// worker reads its own.
			rts, rerr := s.store.LoadRunRuntimes(ctx, autos)
			if rerr != nil {
				s.logger.Warn("reading claimed runs' automations; each run reads its own", "err", rerr)
			}
			for _, c := range due {
				batch = append(batch, claimedRun{run: c.Run, rt: rts[c.Run.AutomationID]})
			}
		}
		for _, c := range batch {
			p.runs <- c // room was counted under mu: never blocks
		}
		if err != nil {
			s.logger.Error("claiming automation runs", "err", err)
			return err
		}
		if len(batch) < room {
			return nil // nothing more is due now
		}
	}
}

// close stops handing out runs: claimed runs no worker took yet go back
// to the queue (another replica takes them up at once), and workers finish
// what they hold.
func (p *automationPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	for {
		select {
		case c := <-p.runs:
			p.release(c.run)
			continue
		default:
		}
		break
	}
	close(p.runs)
}
