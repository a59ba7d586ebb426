package bot

import (
	"context"
	"time"

	"adpilot/engine"
	"adpilot/models"
)

// Executor runs a queued run at once (the engine); the bot's /report and
// Run now buttons use it as the JSON API's run endpoint does.
type Executor interface {
	Execute(ctx context.Context, run models.Run) (models.Run, error)
	// NextRun is an automation's next scheduled run after now (zero for an
	// event automation), so Resume counts it from now.
	NextRun(a models.Automation, now time.Time) (time.Time, error)
}

// resume makes an automation active again; with the engine its next run is
// counted from now, as the web's Resume does (no catch-up run after a long
// pause).
func (b *Bot) resume(ctx context.Context, u models.User, id string) (models.Automation, error) {
	b.runMu.Lock()
	exec := b.exec
	b.runMu.Unlock()
	if exec == nil {
		return b.store.SetAutomationStatus(ctx, u, id, models.AutomationActive, "telegram", "")
	}
	return b.store.ResumeAutomation(ctx, u, id, "telegram", "", func(a models.Automation) (time.Time, error) {
		return exec.NextRun(a, b.now())
	})
}

// SetExecutor gives the bot the engine (built after the bot, since the
// engine's alert buttons come from it). Without one, Run now only makes
// the automation due, and the scheduler's next tick runs it.
func (b *Bot) SetExecutor(e Executor) {
	b.runMu.Lock()
	defer b.runMu.Unlock()
	b.exec = e
}

// runNow is "Run now" by member u: a manual run of the active automation
// is queued (audited), leased to this replica, and executed at once in
// the background. If this process stops first, the run's lease expires
// and another replica takes it up. A paused or unknown automation is
// models.ErrNotFound.
func (b *Bot) runNow(ctx context.Context, u models.User, id string) (models.Automation, error) {
	b.runMu.Lock()
	exec := b.exec
	b.runMu.Unlock()
	if exec == nil {
		return b.store.RequestRun(ctx, u, id, "telegram", "")
	}
	a, run, err := b.store.RequestManualRun(ctx, u, id, "telegram", "", b.now(), engine.Lease)
	if err != nil {
		return a, err
	}
	b.runMu.Lock()
	defer b.runMu.Unlock()
	if b.runsClosed {
		// Shutting down: hand the run to the other replicas at once.
		if err := b.store.ReleaseRun(context.WithoutCancel(ctx), run, b.now()); err != nil {
			b.logger.Error("telegram: handing a run back", "run", run.ID, "err", err)
		}
		return a, nil
	}
	b.runs.Add(1)
	go func() {
		defer b.runs.Done()
		if _, err := exec.Execute(context.WithoutCancel(ctx), run); err != nil {
			b.logger.Error("telegram: run now", "run", run.ID, "automation", run.AutomationID, "err", err)
		}
	}()
	return a, nil
}

// Wait lets runs started from Telegram finish (until ctx ends) and starts
// no more; shutdown calls it before the database closes.
func (b *Bot) Wait(ctx context.Context) error {
	b.runMu.Lock()
	b.runsClosed = true
	b.runMu.Unlock()
	done := make(chan struct{})
	go func() { b.runs.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
