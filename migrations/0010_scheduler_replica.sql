-- Scheduler heartbeats: every replica writes its row every 15 seconds, so
-- operators see at /admin/scheduler which replicas are alive, which one
-- leads, how busy their workers are and how their platform calls fare.
-- Rows silent for a day are deleted by the heartbeat itself.

-- +migrate Up
CREATE TABLE scheduler_replica (
    replica_id     uuid PRIMARY KEY,
    hostname       text NOT NULL DEFAULT '',
    pid            integer NOT NULL DEFAULT 0,
    started_at     timestamptz NOT NULL,
    last_tick      timestamptz NOT NULL,
    is_leader      boolean NOT NULL DEFAULT false,
    -- Workers running an automation; NULL when the replica cannot tell.
    workers_busy   integer CHECK (workers_busy >= 0),
    workers_total  integer NOT NULL DEFAULT 0 CHECK (workers_total >= 0),
    -- Runs claimed by the replica and waiting for a free worker.
    runs_buffered  integer NOT NULL DEFAULT 0 CHECK (runs_buffered >= 0),
    -- The last hour's platform API calls: {"facebook": {"calls": 10, "errors": 1}, ...}
    platform_calls jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX scheduler_replica_last_tick_idx ON scheduler_replica (last_tick);

-- +migrate Down
DROP TABLE scheduler_replica;
