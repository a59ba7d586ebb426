package jobs

import (
	"context"
	"encoding/json"
	"os"
	"time"

	"github.com/google/uuid"

	"adpilot/metrics"
	"adpilot/models"
)

// heartbeatInterval is how often a replica writes its scheduler_replica row.
const heartbeatInterval = 15 * time.Second

// replicaInfo identifies this process among the replicas.
type replicaInfo struct {
	id       string
	hostname string
	pid      int
	started  time.Time
}

func newReplicaInfo(now time.Time) replicaInfo {
	host, _ := os.Hostname()
	return replicaInfo{id: uuid.NewString(), hostname: host, pid: os.Getpid(), started: now.UTC()}
}

// heartbeatJob returns the heartbeat task of this replica, with the
// replica's identity fixed when the job is registered.
func (s *Scheduler) heartbeatJob() func(ctx context.Context) error {
	info := newReplicaInfo(s.clock.Now())
	return func(ctx context.Context) error { return s.heartbeat(ctx, info) }
}

// heartbeat records that this replica is alive: its last tick, whether it
// holds the leader lock, how its automation workers are used and its
// platform calls of the last hour; rows of replicas silent for a day go.
func (s *Scheduler) heartbeat(ctx context.Context, info replicaInfo) error {
	// The same call the leader elector makes before each leader-only job:
	// it keeps (or takes, when free) the advisory lock.
	leader, err := s.lock.TryAcquire(ctx)
	if err != nil {
		s.logger.Warn("heartbeat: leader lock", "err", err)
	}
	calls, err := json.Marshal(metrics.PlatformCallsLastHour())
	if err != nil {
		return err
	}
	hb := models.ReplicaHeartbeat{ReplicaID: info.id, Hostname: info.hostname, PID: info.pid,
		StartedAt: info.started, LastTick: s.clock.Now().UTC(), IsLeader: leader, PlatformCalls: calls}
	hb.WorkersBusy, hb.WorkersTotal, hb.RunsBuffered = s.poolUsage()
	if err := s.store.RecordHeartbeat(ctx, hb); err != nil {
		s.logger.Warn("heartbeat", "err", err)
		return err
	}
	return nil
}

// poolUsage reads the automation pool without touching it: its workers,
// how many are executing a run now, and the claimed runs waiting for one.
func (s *Scheduler) poolUsage() (busy *int, total, buffered int) {
	p := s.pool
	if p == nil || s.engine == nil {
		return nil, 0, 0
	}
	n := int(p.active.Load())
	return &n, s.cfg.AutomationWorkers, len(p.runs)
}
