package models

import (
	"context"
	"encoding/json"
	"time"

	"github.com/lib/pq"
)

// RunEffects are the writes a run makes that must happen exactly once:
// the alert state it decided, the sync cursors it moved and the messages
// it queued. FinishRunWith commits them in the transaction that ends the
// run, fenced by the run's lease, so a worker that stalled past its lease
// (and whose run another replica took up again) writes none of them.
type RunEffects struct {
	AlertStates []AlertStateWrite
	// AlertStatesReadAt is when the run read the states it decided from: a
	// Snooze or Acknowledge pressed after that (a row changed later) is kept
	// over the run's copy, which could not know of it.
	AlertStatesReadAt time.Time
	SyncCursors       []SyncCursorWrite
	Deliveries        []DeliveryInput
}

// AlertStateWrite is one entity's new alert state.
type AlertStateWrite struct {
	EntityKey string
	State     any // stored as JSON
}

// SyncCursorWrite moves one (connection, level) cursor of a data sync: the
// day synced up to, and the hash of every row pushed.
type SyncCursorWrite struct {
	ConnectionID string
	Level        string
	Day          time.Time
	Rows         []SyncRowHash
	// PruneBefore: hashes of earlier days are forgotten (no sync reaches
	// back that far any more).
	PruneBefore time.Time
}

// SyncRowHash is the hash of one pushed row.
type SyncRowHash struct {
	EntityID string
	Day      time.Time
	Hash     string
}

// DeliveryInput is one message of a run for a destination; its place in
// Deliveries is its sequence number within the run.
type DeliveryInput struct {
	DestinationID string
	Event         string
	Title         string
	Payload       []byte
}

// Empty reports whether there is nothing to write.
func (e RunEffects) Empty() bool {
	return len(e.AlertStates) == 0 && len(e.SyncCursors) == 0 && len(e.Deliveries) == 0
}

// SaveRunEffects writes effects outside any run (a runner driven by hand:
// tools and tests); deliveries are queued without a run.
func (s *Store) SaveRunEffects(ctx context.Context, tenantID, automationID string, now time.Time, e RunEffects) error {
	if e.Empty() {
		return nil
	}
	return s.withTx(ctx, func(tx *sqlxTx) error {
		_, err := applyRunEffects(ctx, tx, tenantID, automationID, "", now, now, e)
		return err
	})
}

// applyRunEffects writes e in tx. With a runID, each delivery gets its
// index as sequence number, and one already queued under that (run, seq)
// is left as it is. Deliveries are first due at due; the ones written are
// returned.
func applyRunEffects(ctx context.Context, tx *sqlxTx, tenantID, automationID, runID string, now, due time.Time, e RunEffects) ([]Delivery, error) {
	for _, w := range e.AlertStates {
		raw, err := json.Marshal(w.State)
		if err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO alert_state (tenant_id, automation_id, entity_key, state, changed_at)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (automation_id, entity_key) DO UPDATE SET changed_at = EXCLUDED.changed_at,
				state = CASE WHEN alert_state.changed_at > $6 THEN EXCLUDED.state || jsonb_strip_nulls(jsonb_build_object(
						'snoozed_until', alert_state.state->'snoozed_until', 'acknowledged_at', alert_state.state->'acknowledged_at'))
					ELSE EXCLUDED.state END`,
			tenantID, automationID, w.EntityKey, raw, now, nullTime(e.AlertStatesReadAt)); err != nil {
			return nil, err
		}
	}
	for _, c := range e.SyncCursors {
		if err := saveSyncCursor(ctx, tx, tenantID, automationID, now, c); err != nil {
			return nil, err
		}
	}
	var written []Delivery
	for i, d := range e.Deliveries {
		var seq any
		if runID != "" {
			seq = i
		}
		var rows []Delivery
		if err := tx.SelectContext(ctx, &rows, `INSERT INTO delivery (tenant_id, destination_id, run_id, seq, event, title, payload, next_attempt_at)
			VALUES ($1, $2, NULLIF($3, '')::uuid, $4, $5, left($6, 300), $7, $8)
			ON CONFLICT (run_id, seq) DO NOTHING RETURNING `+deliveryListColumns+`, seq`,
			tenantID, d.DestinationID, runID, seq, d.Event, d.Title, d.Payload, due); err != nil {
			return nil, normalize(err)
		}
		for _, w := range rows {
			w.Payload = d.Payload
			written = append(written, w)
		}
	}
	return written, nil
}

func saveSyncCursor(ctx context.Context, tx *sqlxTx, tenantID, automationID string, now time.Time, c SyncCursorWrite) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO sync_cursor (tenant_id, automation_id, connection_id, level, synced_day, synced_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (automation_id, connection_id, level) DO UPDATE SET synced_day = EXCLUDED.synced_day, synced_at = EXCLUDED.synced_at`,
		tenantID, automationID, c.ConnectionID, c.Level, c.Day.Format(time.DateOnly), now); err != nil {
		return normalize(err)
	}
	if !c.PruneBefore.IsZero() {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sync_row WHERE tenant_id = $5 AND automation_id = $1 AND connection_id = $2 AND level = $3 AND day < $4`,
			automationID, c.ConnectionID, c.Level, c.PruneBefore.Format(time.DateOnly), tenantID); err != nil {
			return err
		}
	}
	if len(c.Rows) == 0 {
		return nil
	}
	entities := make([]string, len(c.Rows))
	days := make([]string, len(c.Rows))
	hashes := make([]string, len(c.Rows))
	for i, r := range c.Rows {
		entities[i], days[i], hashes[i] = r.EntityID, r.Day.Format(time.DateOnly), r.Hash
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO sync_row (tenant_id, automation_id, connection_id, level, entity_id, day, hash)
		SELECT $1, $2, $3, $4, r.entity_id, r.day::date, r.hash
		FROM unnest($5::text[], $6::text[], $7::text[]) AS r (entity_id, day, hash)
		ON CONFLICT (automation_id, connection_id, level, entity_id, day) DO UPDATE SET hash = EXCLUDED.hash`,
		tenantID, automationID, c.ConnectionID, c.Level, pq.StringArray(entities), pq.StringArray(days), pq.StringArray(hashes))
	return err
}

// SyncCursor is where a data sync stands on one connection and level:
// the day it last synced up to (zero: never) and the hash of each row it
// pushed from since on.
type SyncCursor struct {
	Day    time.Time
	Hashes map[string]string // by SyncCursorKey(entity, day)
}

// SyncCursorKey keys SyncCursor.Hashes.
func SyncCursorKey(entityID string, day time.Time) string {
	return entityID + "\x00" + day.Format(time.DateOnly)
}

// GetSyncCursor returns an automation's cursor on a connection and level,
// with the hashes of rows from since on.
func (s *Store) GetSyncCursor(ctx context.Context, tenantID, automationID, connectionID, level string, since time.Time) (SyncCursor, error) {
	out := SyncCursor{Hashes: map[string]string{}}
	if !validUUID(automationID) {
		return out, nil // a runner driven without a stored automation
	}
	var days []time.Time
	if err := s.db.SelectContext(ctx, &days, `SELECT synced_day FROM sync_cursor
		WHERE tenant_id = $1 AND automation_id = $2 AND connection_id = $3 AND level = $4`,
		tenantID, automationID, connectionID, level); err != nil {
		return out, err
	}
	if len(days) == 0 {
		return out, nil
	}
	out.Day = days[0].UTC()
	var rows []struct {
		EntityID string    `db:"entity_id"`
		Day      time.Time `db:"day"`
		Hash     string    `db:"hash"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT entity_id, day, hash FROM sync_row
		WHERE tenant_id = $1 AND automation_id = $2 AND connection_id = $3 AND level = $4 AND day >= $5`,
		tenantID, automationID, connectionID, level, since.Format(time.DateOnly)); err != nil {
		return out, err
	}
	for _, r := range rows {
		out.Hashes[SyncCursorKey(r.EntityID, r.Day.UTC())] = r.Hash
	}
	return out, nil
}
