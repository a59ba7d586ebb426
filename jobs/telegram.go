package jobs

import (
	"context"
	"time"
)

// telegramLockKey is the advisory-lock key of the Telegram poller ("adpilotT").
const telegramLockKey int64 = 0x6164_7069_6c6f_7454

// pollRetry is how often a replica without the poller lock tries to take it.
const pollRetry = 10 * time.Second

// runTelegramPoller long-polls Telegram on exactly one replica: the one
// holding the advisory lock (Telegram answers 409 to a second poller).
// When that replica stops, its lock goes with its connection and another
// replica takes over within pollRetry.
func (s *Scheduler) runTelegramPoller(ctx context.Context) {
	lock := s.store.NewLeaderLock(telegramLockKey)
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = lock.Release(rctx)
	}()
	for {
		ok, err := lock.TryAcquire(ctx)
		if err != nil && ctx.Err() == nil {
			s.logger.Warn("telegram poller: taking the lock failed", "err", err)
		}
		if ok {
			s.pollWhileLeader(ctx, lock)
			if ctx.Err() != nil {
				return
			}
			s.logger.Warn("telegram poller: lost the lock; another replica polls now")
		}
		select {
		case <-ctx.Done():
			return
		case <-s.clock.After(pollRetry):
		}
	}
}

// pollWhileLeader polls until ctx ends or the lock is lost (its connection
// died and another replica took it): two pollers would fight with 409s.
func (s *Scheduler) pollWhileLeader(ctx context.Context, lock interface {
	TryAcquire(context.Context) (bool, error)
}) {
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		for {
			select {
			case <-pctx.Done():
				return
			case <-s.clock.After(pollRetry):
			}
			if held, _ := lock.TryAcquire(pctx); !held && pctx.Err() == nil {
				cancel()
				return
			}
		}
	}()
	s.bot.Poll(pctx)
}

// runDeliveries sends due deliveries (every replica: claims are leased rows).
func (s *Scheduler) runDeliveries(ctx context.Context) error {
	n, err := s.dispatcher.RunDue(ctx, deliveryBatch, deliveryWorkers)
	if err != nil {
		s.logger.Error("delivery queue", "err", err)
	} else if n > 0 {
		s.logger.Debug("delivery queue ran", "attempted", n)
	}
	return err
}

const (
	deliveryInterval = 5 * time.Second
	deliveryBatch    = 50
	deliveryWorkers  = 4
)
