package reports

import "time"

// State is what an alert remembers per automation and entity between runs.
// The JSON tags let callers store it as a JSON column.
type State struct {
	Firing         bool       `json:"firing"`
	LastFiredAt    *time.Time `json:"last_fired_at,omitempty"`   // last Fire notice sent
	SnoozedUntil   *time.Time `json:"snoozed_until,omitempty"`   // no notices before this
	AcknowledgedAt *time.Time `json:"acknowledged_at,omitempty"` // no re-fires until it clears
}

// Decision is what a run should do for one entity after Decide.
type Decision string

const (
	None     Decision = "none"     // send nothing
	Fire     Decision = "fire"     // notify (and act, for action pause)
	Resolved Decision = "resolved" // send a "resolved" notice
)

// Snoozed reports whether notices are held back at now.
func (s State) Snoozed(now time.Time) bool {
	return s.SnoozedUntil != nil && now.Before(*s.SnoozedUntil)
}

// Snooze returns s with notices held back for d from now (the Telegram
// "Snooze 24h" button).
func (s State) Snooze(now time.Time, d time.Duration) State {
	until := now.Add(d)
	s.SnoozedUntil = &until
	return s
}

// Acknowledge returns s acknowledged at now (the "Acknowledge" button):
// no more re-fires until the condition clears.
func (s State) Acknowledge(now time.Time) State {
	s.AcknowledgedAt = &now
	return s
}

// Decide turns one evaluation into a notice and the next state:
//
//   - Not firing → firing: Fire at once, whatever the cooldown (it is news
//     that it is back), unless snoozed.
//   - Still firing: quiet within the cooldown of the last Fire; after it, a
//     reminder Fire (and another action, for pause). A cooldown of 0 thus
//     notifies on every run while firing. Quiet while acknowledged.
//   - While snoozed nothing is sent, not even Resolved; an episode that
//     starts or continues under a snooze fires on the first run after it
//     ends, unless the cooldown since the last Fire still runs.
//   - Firing → clear: Resolved if notifyResolved, and the episode resets
//     (acknowledgement dropped). A snooze stays until it expires.
//   - A guarded result (too little data) is not a verdict either way: the
//     state is kept and nothing is sent, so a window that restarts at
//     midnight with no spend does not "resolve" and re-fire.
func Decide(prev State, r Result, now time.Time, cooldown time.Duration, notifyResolved bool) (Decision, State) {
	next := prev
	if next.SnoozedUntil != nil && !next.Snoozed(now) {
		next.SnoozedUntil = nil // expired: tidy the stored state
	}
	snoozed := next.Snoozed(now)
	switch {
	case r.Guarded:
		return None, next
	case !r.Fired:
		if !prev.Firing {
			return None, next
		}
		next.Firing, next.AcknowledgedAt = false, nil
		if notifyResolved && !snoozed {
			return Resolved, next
		}
		return None, next
	case !prev.Firing:
		next.Firing, next.AcknowledgedAt = true, nil
		if snoozed {
			// Started under a snooze: nothing sent yet, so the first run
			// after the snooze must fire regardless of an old LastFiredAt.
			next.LastFiredAt = nil
			return None, next
		}
		next.LastFiredAt = &now
		return Fire, next
	case snoozed || prev.AcknowledgedAt != nil:
		return None, next
	case prev.LastFiredAt == nil || now.Sub(*prev.LastFiredAt) >= cooldown:
		next.LastFiredAt = &now
		return Fire, next
	}
	return None, next
}
