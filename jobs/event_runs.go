package jobs

import (
	"context"
	"errors"
	"fmt"

	"adpilot/engine"
	"adpilot/models"
)

// engineEventMatcher runs every event automation an event matches, through
// the engine, once per (event, automation): a retried event finds the runs
// it already made.
type engineEventMatcher struct {
	StoreEventMatcher
	engine *engine.Engine
}

// MatchEventAutomations implements EventMatcher.
func (m engineEventMatcher) MatchEventAutomations(ctx context.Context, tenantID, eventName string, ev EventInput) (EventMatch, error) {
	match, err := m.StoreEventMatcher.MatchEventAutomations(ctx, tenantID, eventName, ev)
	if err != nil {
		return match, err
	}
	for _, id := range match.AutomationIDs {
		run, err := m.engine.RunEvent(ctx, tenantID, id, ev.EventID)
		if errors.Is(err, models.ErrNotFound) {
			continue // paused or deleted since it was matched
		}
		if err != nil {
			return match, fmt.Errorf("running automation %s for the event: %w", id, err)
		}
		match.RunIDs = append(match.RunIDs, run.ID)
	}
	return match, nil
}
