package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"adpilot/metrics"
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
	tenantTZ, accountTZ, err := e.deps.Store.ScheduleZones(context.Background(), a.TenantID, a.ID)
	if err != nil {
		return time.Time{}, err
	}
	return e.NextRunIn(a, tenantTZ, accountTZ, now)
}

// NextRunIn is NextRun given the zones the schedule may be in (the
// scheduler's claim reads them with the automations it claims): the
// scheduler's models.NextRunInFunc.
func (e *Engine) NextRunIn(a models.Automation, tenantTZ, accountTZ string, now time.Time) (time.Time, error) {
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
	loc, err := resolveZone(s.Timezone, accountTZ, tenantTZ)
	if err != nil {
		return time.Time{}, err
	}
	return s.Next(now, loc)
}

// Execute runs one claimed run to its end: it starts it (fenced by its
// lease), runs the type's runner, then in one transaction fenced by the
// same lease records the result, the state the runner decided and the
// output's deliveries (numbered per run, so never queued twice). A worker
// that stalled past its lease gets models.ErrLeaseLost and leaves no trace:
// the replica that took the run up again delivers it. Failures count
// toward the automation's error state. A webhook or email delivery gets
// its first attempt right after the commit, from this worker.
func (e *Engine) Execute(ctx context.Context, run models.Run) (models.Run, error) {
	return e.execute(ctx, run, nil)
}

// ExecuteClaimed is Execute for a run the scheduler's claim started
// (models.Store.ClaimAndStartDueRuns) with its runtime already read
// (models.Store.LoadRunRuntimes): a running run is not started again. A
// run the claim left queued (its automation was busy) is started as by
// Execute.
func (e *Engine) ExecuteClaimed(ctx context.Context, run models.Run, rt *models.RunRuntime) (models.Run, error) {
	return e.execute(ctx, run, rt)
}

func (e *Engine) execute(ctx context.Context, run models.Run, rt *models.RunRuntime) (models.Run, error) {
	store := e.deps.Store
	started := run
	if rt == nil || run.Status != models.RunRunning {
		var err error
		started, err = store.StartRun(ctx, run, e.now(), Lease)
		if errors.Is(err, models.ErrRunBusy) {
			// Another run of it is under way: try again in a minute.
			return run, store.ReleaseRun(ctx, run, e.now().Add(busyRetry))
		}
		if err != nil {
			return run, err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, RunBudget)
	defer cancel()
	log := &Log{}
	var runErr error
	if rt == nil {
		rt, runErr = store.LoadRunRuntime(ctx, started.TenantID, started.AutomationID)
	}
	var out Output
	var a models.Automation
	if runErr == nil {
		a = rt.Automation
		out, runErr = e.safeRun(ctx, rt, started, log)
	}
	effects := out.Effects
	var msgs []notify.Message
	if runErr == nil {
		var deliveries []models.DeliveryInput
		deliveries, msgs, runErr = deliveriesOf(a, out)
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
	// Deliveries this worker attempts itself are written leased to it.
	var inlineLease time.Time
	if runErr == nil && e.dispatcher != nil && len(effects.Deliveries) > 0 && notify.Inline(rt.Destination) {
		inlineLease = e.dispatcher.InlineLease()
	}
	// The run's state and deliveries are committed with its end, only if
	// this worker still holds the lease: otherwise another replica has
	// taken the run up again, and its attempt is the one that counts.
	notice := func(a models.Automation) models.Email { return e.errorNotice(a, runErr) }
	finished, written, err := store.FinishRunLeasing(context.WithoutCancel(ctx), started, e.now(), out.Result, log.Entries(), runErr, effects,
		notice, inlineLease)
	if err != nil && runErr == nil && !errors.Is(err, models.ErrLeaseLost) {
		// The effects could not be written: the run fails (nothing of it
		// is half-written) and the next run starts from the old state.
		runErr = fmt.Errorf("saving the run's state and deliveries: %w", err)
		log.Error(e.now(), runErr.Error())
		finished, err = store.FinishRun(context.WithoutCancel(ctx), started, e.now(), out.Result, log.Entries(), runErr, notice)
		observeRun(a, finished, err)
		return finished, err
	}
	observeRun(a, finished, err)
	if err == nil && len(effects.Deliveries) > 0 {
		if inlineLease.IsZero() {
			e.kickQueue()
		} else {
			e.deliverNow(ctx, rt, msgs, written)
		}
	}
	return finished, err
}

// deliverNow makes the first attempt of the run's just-committed
// deliveries (leased to this worker); the queue owns any retry, and takes
// up a delivery whose attempt this worker never made when its lease ends.
func (e *Engine) deliverNow(ctx context.Context, rt *models.RunRuntime, msgs []notify.Message, written []models.Delivery) {
	for _, del := range written {
		if del.Seq == nil || *del.Seq < 0 || *del.Seq >= len(msgs) {
			continue
		}
		if _, err := e.dispatcher.AttemptNow(ctx, del, *rt.Destination, rt.WebhookSecrets, msgs[*del.Seq]); err != nil {
			e.deps.Logger.Error("delivery: recording the attempt failed; it will be retried after its lease", "delivery", del.ID, "err", err)
		}
	}
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
func (e *Engine) safeRun(ctx context.Context, rt *models.RunRuntime, run models.Run, log *Log) (out Output, err error) {
	defer func() {
		if p := recover(); p != nil {
			e.deps.Logger.Error("automation runner panicked", "run", run.ID, "automation", run.AutomationID, "panic", p)
			out, err = Output{}, fmt.Errorf("internal error in the runner (logged as run %s)", run.ID)
		}
	}()
	return e.runOnce(ctx, rt, run, log, false)
}

// Preview computes a run's output without delivering, acting or storing.
func (e *Engine) Preview(ctx context.Context, tenantID, automationID string) (Output, []models.RunLog, error) {
	rt, err := e.deps.Store.LoadRunRuntime(ctx, tenantID, automationID)
	if err != nil {
		return Output{}, nil, err
	}
	log := &Log{}
	out, err := e.runOnce(ctx, rt, models.Run{TenantID: tenantID, AutomationID: rt.Automation.ID, Trigger: models.TriggerManual}, log, true)
	return out, log.Entries(), err
}

func (e *Engine) runOnce(ctx context.Context, rt *models.RunRuntime, run models.Run, log *Log, dry bool) (Output, error) {
	a := rt.Automation
	runner, ok := e.runners[a.Type]
	if !ok {
		return Output{}, fmt.Errorf("no runner for automation type %q", a.Type)
	}
	conns, creds := rt.Connections, rt.Credentials
	event := IsEventAutomation(a)
	if len(conns) == 0 && !event {
		return Output{}, errors.New("the automation has no connections: choose at least one account")
	}
	if a.DestinationID != nil && rt.Destination == nil {
		return Output{}, fmt.Errorf("reading the automation's destination: %w", models.ErrNotFound)
	}
	now := e.now()
	log.Info(now, a.Type+" run started ("+run.Trigger+") on "+strconv.Itoa(len(conns))+" connection(s)")
	job := Job{Automation: a, Run: run, Tenant: rt.Tenant, Connections: conns, Credentials: creds,
		Destination: rt.Destination, Now: now, DryRun: dry, Log: log}
	var out Output
	var err error
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
// retries once they are written. The messages come back too, their data
// encoded once (as it is sent to a webhook) for both the stored payload
// and the first attempt.
func deliveriesOf(a models.Automation, out Output) ([]models.DeliveryInput, []notify.Message, error) {
	if a.DestinationID == nil || out.Message == nil {
		return nil, nil, nil // computed and stored (a sync with no destination)
	}
	msgs := append([]notify.Message{*out.Message}, out.Extra...)
	ds := make([]models.DeliveryInput, 0, len(msgs))
	for i, m := range msgs {
		if err := encodeData(&msgs[i]); err != nil {
			return nil, nil, fmt.Errorf("queueing the delivery: %w", err)
		}
		payload, err := json.Marshal(msgs[i])
		if err != nil {
			return nil, nil, fmt.Errorf("queueing the delivery: %w", err)
		}
		ds = append(ds, models.DeliveryInput{DestinationID: *a.DestinationID, Event: m.Event, Title: m.Title, Payload: payload})
	}
	return ds, msgs, nil
}

// encodeData replaces m.Data by its JSON, encoded as a webhook sends it
// (HTML characters unescaped; json.Marshal of the message still escapes
// them in the stored payload, as before), so it is encoded once, not for
// the payload and again for the webhook.
func encodeData(m *notify.Message) error {
	if m.Data == nil {
		return nil
	}
	if _, ok := m.Data.(json.RawMessage); ok {
		return nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m.Data); err != nil {
		return err
	}
	m.Data = json.RawMessage(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	return nil
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

// observeRun counts a finished run for /metrics; a run whose lease was
// lost is counted by the replica that finished it.
func observeRun(a models.Automation, r models.Run, err error) {
	if err != nil || r.CompletedAt == nil {
		return
	}
	typ := a.Type
	if typ == "" {
		typ = "unknown"
	}
	metrics.ObserveRun(typ, r.Trigger, r.Status, r.CompletedAt.Sub(r.StartedAt))
}
