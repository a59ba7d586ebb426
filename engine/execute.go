package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"adpilot/models"
	"adpilot/notify"
	"adpilot/schedule"
	"adpilot/views/emails"
)

// Lease is how long a worker holds a run; RunBudget bounds one run well
// inside it, so a lease never runs out under a live worker.
const (
	Lease     = 10 * time.Minute
	RunBudget = 5 * time.Minute
)

// busyRetry is when a run that found its automation already running is
// tried again.
const busyRetry = time.Minute

// Engine executes claimed runs with the runner of each automation type.
type Engine struct {
	deps       Deps
	runners    map[string]Runner
	dispatcher *notify.Dispatcher
	now        func() time.Time
}

// New builds the engine; runners maps automation types to their runner.
func New(d Deps, dispatcher *notify.Dispatcher, runners map[string]Runner, now func() time.Time) *Engine {
	if now == nil {
		now = time.Now
	}
	return &Engine{deps: d, runners: runners, dispatcher: dispatcher, now: now}
}

// NextRun is the scheduler's models.NextRunFunc: the automation's schedule
// in its zone ("account": its first connection's timezone).
func (e *Engine) NextRun(a models.Automation, now time.Time) (time.Time, error) {
	if IsEventAutomation(a) {
		return time.Time{}, nil // never due: events set it off
	}
	s, err := schedule.Parse(a.ScheduleConfig)
	if err != nil {
		return time.Time{}, err
	}
	if errs := s.Validate(); len(errs) > 0 {
		return time.Time{}, fmt.Errorf("invalid schedule: %v", errs)
	}
	loc, err := e.location(context.Background(), a, s.Timezone)
	if err != nil {
		return time.Time{}, err
	}
	return s.Next(now, loc)
}

func (e *Engine) location(ctx context.Context, a models.Automation, tz string) (*time.Location, error) {
	tenantTZ, accountTZ, err := e.deps.Store.ScheduleZones(ctx, a.TenantID, a.ID)
	if err != nil {
		return nil, err
	}
	return schedule.Resolve(tz, accountTZ, tenantTZ)
}

// Execute runs one claimed run to its end: it starts it (fenced by its
// lease), runs the type's runner, then in one transaction fenced by the
// same lease records the result, the state the runner decided and the
// output's deliveries (numbered per run, so never queued twice). A worker
// that stalled past its lease gets models.ErrLeaseLost and leaves no trace:
// the replica that took the run up again delivers it. Failures count
// toward the automation's error state.
func (e *Engine) Execute(ctx context.Context, run models.Run) (models.Run, error) {
	store := e.deps.Store
	started, err := store.StartRun(ctx, run, e.now(), Lease)
	if errors.Is(err, models.ErrRunBusy) {
		// Another run of it is under way: try again in a minute.
		return run, store.ReleaseRun(ctx, run, e.now().Add(busyRetry))
	}
	if err != nil {
		return run, err
	}
	ctx, cancel := context.WithTimeout(ctx, RunBudget)
	defer cancel()
	log := &Log{}
	a, runErr := store.GetAutomation(ctx, started.TenantID, started.AutomationID)
	var out Output
	if runErr == nil {
		out, runErr = e.safeRun(ctx, a, started, log)
	}
	effects := out.Effects
	if runErr == nil {
		var deliveries []models.DeliveryInput
		deliveries, runErr = deliveriesOf(a, out)
		effects.Deliveries = deliveries
	}
	if runErr != nil && ctx.Err() == context.Canceled {
		// Shutdown, not a failure: hand the run back to another replica
		// and count nothing.
		return started, e.deps.Store.ReleaseRun(context.WithoutCancel(ctx), started, e.now())
	}
	if runErr != nil {
		log.Error(e.now(), runErr.Error())
		effects = models.RunEffects{}
	}
	// The run's state and deliveries are committed with its end, only if
	// this worker still holds the lease: otherwise another replica has
	// taken the run up again, and its attempt is the one that counts.
	notice := func(a models.Automation) models.Email { return e.errorNotice(a, runErr) }
	finished, err := store.FinishRunWith(context.WithoutCancel(ctx), started, e.now(), out.Result, log.Entries(), runErr, effects, notice)
	if err != nil && runErr == nil && !errors.Is(err, models.ErrLeaseLost) {
		// The effects could not be written: the run fails (nothing of it
		// is half-written) and the next run starts from the old state.
		runErr = fmt.Errorf("saving the run's state and deliveries: %w", err)
		log.Error(e.now(), runErr.Error())
		return store.FinishRun(context.WithoutCancel(ctx), started, e.now(), out.Result, log.Entries(), runErr, notice)
	}
	if err == nil && len(effects.Deliveries) > 0 {
		e.kickQueue()
	}
	return finished, err
}

// kickQueue tells the delivery queue that deliveries were just committed,
// when the dispatcher can be told (otherwise its next poll finds them).
func (e *Engine) kickQueue() {
	if e.dispatcher == nil {
		return
	}
	if k, ok := any(e.dispatcher).(interface{ Kick() }); ok {
		k.Kick()
	}
}

// safeRun turns a runner's panic into a failed run, so one bad automation
// cannot take a replica (and then every replica, on retry) down.
func (e *Engine) safeRun(ctx context.Context, a models.Automation, run models.Run, log *Log) (out Output, err error) {
	defer func() {
		if p := recover(); p != nil {
			e.deps.Logger.Error("automation runner panicked", "run", run.ID, "automation", run.AutomationID, "panic", p)
			out, err = Output{}, fmt.Errorf("internal error in the runner (logged as run %s)", run.ID)
		}
	}()
	return e.runOnce(ctx, a, run, log, false)
}

// Preview computes a run's output without delivering, acting or storing.
func (e *Engine) Preview(ctx context.Context, tenantID, automationID string) (Output, []models.RunLog, error) {
	a, err := e.deps.Store.GetAutomation(ctx, tenantID, automationID)
	if err != nil {
		return Output{}, nil, err
	}
	log := &Log{}
	out, err := e.runOnce(ctx, a, models.Run{TenantID: tenantID, AutomationID: a.ID, Trigger: models.TriggerManual}, log, true)
	return out, log.Entries(), err
}

func (e *Engine) runOnce(ctx context.Context, a models.Automation, run models.Run, log *Log, dry bool) (Output, error) {
	store := e.deps.Store
	runner, ok := e.runners[a.Type]
	if !ok {
		return Output{}, fmt.Errorf("no runner for automation type %q", a.Type)
	}
	tenant, err := store.GetTenant(ctx, a.TenantID)
	if err != nil {
		return Output{}, err
	}
	conns, creds, err := store.AutomationConnections(ctx, a.TenantID, a.ID)
	if err != nil {
		return Output{}, fmt.Errorf("reading the automation's connections: %w", err)
	}
	event := IsEventAutomation(a)
	if len(conns) == 0 && !event {
		return Output{}, errors.New("the automation has no connections: choose at least one account")
	}
	var dest *models.Destination
	if a.DestinationID != nil {
		d, err := store.GetDestination(ctx, a.TenantID, *a.DestinationID)
		if err != nil {
			return Output{}, fmt.Errorf("reading the automation's destination: %w", err)
		}
		dest = &d
	}
	log.Info(e.now(), fmt.Sprintf("%s run started (%s) on %d connection(s)", a.Type, run.Trigger, len(conns)))
	job := Job{Automation: a, Run: run, Tenant: tenant, Connections: conns, Credentials: creds,
		Destination: dest, Now: e.now(), DryRun: dry, Log: log}
	var out Output
	if event {
		out, err = e.runEvent(ctx, job) // what an event automation does is the same whatever its type's runner
	} else {
		out, err = runner.Run(ctx, job)
	}
	if dry {
		out.Effects = models.RunEffects{}
	}
	return out, err
}

// deliveriesOf are the run's messages for the automation's destination,
// in order: their index is their sequence number within the run, so a
// retried attempt of the run cannot queue one twice. The queue owns
// retries once they are written.
func deliveriesOf(a models.Automation, out Output) ([]models.DeliveryInput, error) {
	if a.DestinationID == nil || out.Message == nil {
		return nil, nil // computed and stored (a sync with no destination)
	}
	msgs := append([]notify.Message{*out.Message}, out.Extra...)
	ds := make([]models.DeliveryInput, 0, len(msgs))
	for _, m := range msgs {
		payload, err := json.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("queueing the delivery: %w", err)
		}
		ds = append(ds, models.DeliveryInput{DestinationID: *a.DestinationID, Event: m.Event, Title: m.Title, Payload: payload})
	}
	return ds, nil
}

// errorNotice tells admins an automation stopped after failing in a row.
func (e *Engine) errorNotice(a models.Automation, last error) models.Email {
	msg, err := emails.AutomationStopped(emails.AutomationData{Name: a.Name, Failures: models.MaxConsecutiveFailures,
		LastError: last.Error(), Link: e.deps.BaseURL + "/automations/" + a.ID})
	if err != nil {
		e.deps.Logger.Error("rendering the automation error email", "err", err)
	}
	return models.Email{Subject: msg.Subject, Text: msg.Text, HTML: msg.HTML}
}
