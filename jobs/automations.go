package jobs

import (
	"context"
	"errors"
	"sync"

	"adpilot/engine"
	"adpilot/models"
)

// automationPool runs claimed automation runs on a fixed number of workers.
type automationPool struct {
	runs chan models.Run
	busy sync.WaitGroup // workers
	free chan struct{}  // one token per idle worker
	kick chan struct{}  // a worker freed up: claim again without waiting for the tick

	mu     sync.Mutex // held while handing runs over, so shutdown never closes runs mid-send
	closed bool
}

func (s *Scheduler) startAutomationPool(ctx context.Context) {
	n := s.cfg.AutomationWorkers
	p := &automationPool{runs: make(chan models.Run), free: make(chan struct{}, n), kick: make(chan struct{}, 1)}
	for range n {
		p.free <- struct{}{}
		p.busy.Add(1)
		go func() {
			defer p.busy.Done()
			for run := range p.runs {
				if _, err := s.engine.Execute(ctx, run); errors.Is(err, models.ErrLeaseLost) {
					// This worker stalled past its lease and another replica
					// took the run up: its attempt is the one that counts, and
					// nothing of this one was written.
					s.logger.Warn("automation run: lease lost to another worker; this attempt was dropped", "run", run.ID,
						"automation", run.AutomationID)
				} else if err != nil {
					s.logger.Error("automation run", "run", run.ID, "automation", run.AutomationID, "err", err)
				}
				p.free <- struct{}{}
				select {
				case p.kick <- struct{}{}:
				default:
				}
			}
		}()
	}
	s.pool = p
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

// tickAutomations claims as many due runs (and runs whose lease expired)
// as there are idle workers, and hands them over. Every replica ticks; the
// claim's row locks and unique slot key keep each slot to one run.
func (s *Scheduler) tickAutomations(ctx context.Context) error {
	s.pool.mu.Lock()
	defer s.pool.mu.Unlock()
	if s.pool.closed || ctx.Err() != nil {
		return nil
	}
	idle := 0
	for len(s.pool.free) > 0 {
		<-s.pool.free
		idle++
	}
	if idle == 0 {
		return nil
	}
	now := s.clock.Now()
	runs, err := s.store.ReclaimExpiredRuns(ctx, now, idle, engine.Lease)
	if err == nil && len(runs) < idle {
		var due []models.Run
		due, err = s.store.ClaimDueRuns(ctx, now, idle-len(runs), engine.Lease, s.engine.NextRun)
		runs = append(runs, due...)
	}
	for range idle - len(runs) {
		s.pool.free <- struct{}{} // give back what was not used
	}
	for _, r := range runs {
		s.pool.runs <- r
	}
	if err != nil {
		s.logger.Error("claiming automation runs", "err", err)
	}
	return err
}

// closePool stops handing out runs; workers finish what they hold.
func (p *automationPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed = true
		close(p.runs)
	}
}
