-- Event automations: a run set off by a platform webhook event names the
-- event, at most once per automation, so an event retried by processing
-- never runs an automation twice.

-- +migrate Up
ALTER TABLE automation_run ADD COLUMN event_id uuid REFERENCES webhook_event (id) ON DELETE SET NULL;
CREATE UNIQUE INDEX automation_run_event_key ON automation_run (automation_id, event_id) WHERE event_id IS NOT NULL;

-- +migrate Down
DROP INDEX automation_run_event_key;
ALTER TABLE automation_run DROP COLUMN event_id;
