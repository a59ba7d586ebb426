package models

import (
	"context"
	"encoding/json"
	"time"
)

// ReplicaHeartbeat is what a replica reports about itself every few seconds.
type ReplicaHeartbeat struct {
	ReplicaID     string          `db:"replica_id"`
	Hostname      string          `db:"hostname"`
	PID           int             `db:"pid"`
	StartedAt     time.Time       `db:"started_at"`
	LastTick      time.Time       `db:"last_tick"`
	IsLeader      bool            `db:"is_leader"`
	WorkersBusy   *int            `db:"workers_busy"` // nil: the replica cannot tell
	WorkersTotal  int             `db:"workers_total"`
	RunsBuffered  int             `db:"runs_buffered"`
	PlatformCalls json.RawMessage `db:"platform_calls"`
}

// ReplicaRetention is how long a silent replica's row is kept.
const ReplicaRetention = 24 * time.Hour

// RecordHeartbeat upserts the replica's row and deletes rows of replicas
// silent for longer than ReplicaRetention.
func (s *Store) RecordHeartbeat(ctx context.Context, hb ReplicaHeartbeat) error {
	calls := hb.PlatformCalls
	if len(calls) == 0 {
		calls = json.RawMessage(`{}`)
	}
	return s.withTx(ctx, func(tx *sqlxTx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO scheduler_replica (replica_id, hostname, pid, started_at, last_tick,
				is_leader, workers_busy, workers_total, runs_buffered, platform_calls)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
			ON CONFLICT (replica_id) DO UPDATE SET hostname = EXCLUDED.hostname, pid = EXCLUDED.pid,
				last_tick = EXCLUDED.last_tick, is_leader = EXCLUDED.is_leader, workers_busy = EXCLUDED.workers_busy,
				workers_total = EXCLUDED.workers_total, runs_buffered = EXCLUDED.runs_buffered,
				platform_calls = EXCLUDED.platform_calls`,
			hb.ReplicaID, hb.Hostname, hb.PID, hb.StartedAt, hb.LastTick, hb.IsLeader, hb.WorkersBusy, hb.WorkersTotal,
			hb.RunsBuffered, []byte(calls)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM scheduler_replica WHERE last_tick < $1`, hb.LastTick.Add(-ReplicaRetention))
		return err
	})
}

// ListReplicas returns the replicas heard from in the last day, the most
// recently heard first.
func (s *Store) ListReplicas(ctx context.Context) ([]ReplicaHeartbeat, error) {
	out := []ReplicaHeartbeat{}
	err := s.db.SelectContext(ctx, &out, `SELECT replica_id, hostname, pid, started_at, last_tick, is_leader, workers_busy,
			workers_total, runs_buffered, platform_calls
		FROM scheduler_replica WHERE last_tick > now() - interval '24 hours' ORDER BY last_tick DESC, replica_id`)
	return out, err
}

// SchedulerStats are the instance's automation queue figures.
type SchedulerStats struct {
	Due            int        `db:"due"`     // active automations whose next run has come
	Queued         int        `db:"queued"`  // runs waiting for a worker
	Running        int        `db:"running"` // runs being executed
	OldestDueAt    *time.Time `db:"oldest_due_at"`
	OldestDueID    string     `db:"oldest_due_id"`
	OldestDueName  string     `db:"oldest_due_name"`
	OldestDueOwner string     `db:"oldest_due_tenant"`
	Failed1h       int        `db:"failed_1h"`
	Completed1h    int        `db:"completed_1h"`
}

// GetSchedulerStats reads the queue: due automations (of active tenants),
// queued and running runs, the oldest due automation, and the last hour's
// finished runs.
func (s *Store) GetSchedulerStats(ctx context.Context, now time.Time) (SchedulerStats, error) {
	var st SchedulerStats
	err := s.db.GetContext(ctx, &st, `SELECT
		(SELECT count(*) FROM automation a JOIN tenant t ON t.id = a.tenant_id
			WHERE a.status = 'active' AND a.next_run <= $1 AND t.is_active) AS due,
		(SELECT count(*) FROM automation_run WHERE status = 'queued') AS queued,
		(SELECT count(*) FROM automation_run WHERE status = 'running') AS running,
		(SELECT count(*) FROM automation_run WHERE status = 'failed' AND completed_at > $1 - interval '1 hour') AS failed_1h,
		(SELECT count(*) FROM automation_run WHERE status = 'completed' AND completed_at > $1 - interval '1 hour') AS completed_1h,
		o.next_run AS oldest_due_at, COALESCE(o.id::text, '') AS oldest_due_id, COALESCE(o.name, '') AS oldest_due_name,
		COALESCE(o.tenant_name, '') AS oldest_due_tenant
		FROM (SELECT 1) one LEFT JOIN LATERAL (
			SELECT a.id, a.name, a.next_run, t.name AS tenant_name FROM automation a JOIN tenant t ON t.id = a.tenant_id
			WHERE a.status = 'active' AND a.next_run <= $1 AND t.is_active ORDER BY a.next_run, a.id LIMIT 1) o ON true`, now)
	return st, err
}
