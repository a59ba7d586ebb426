package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"adpilot/connections"
	"adpilot/models"
	"adpilot/notify"
	"adpilot/platforms"
	"adpilot/reports"
)

// AlertButtons builds the Telegram inline keyboard rows of one fired
// entity of an alert: "Pause" (only when canPause), "Snooze 24h" and
// "Acknowledge". The bot package sets it at start-up, since only the bot
// can sign callback data (at most 64 bytes: the bot must shorten the
// entity key, for example to a stored token or a hash, if it does not fit).
// nil: alerts carry no buttons. Rows of at most alertMaxButtonEntities
// fired entities are attached to a message.
//
// entityKey is the alert state key: connection id + ":" + level + ":" +
// entity id (see AlertEntityKey).
var AlertButtons func(automationID, entityKey string, canPause bool) [][]notify.Button

// alertMaxButtonEntities bounds the keyboard: buttons for the first fired
// entities only.
const alertMaxButtonEntities = 5

// AlertEntityKey is the key of one entity's alert state.
func AlertEntityKey(connectionID string, level platforms.Level, entityID string) string {
	return connectionID + ":" + string(level) + ":" + entityID
}

// NewAlertRunner returns the runner of alert automations. Config is
// reports.AlertConfig; cooldown, snooze and acknowledgement come from
// reports.Decide.
func NewAlertRunner(d Deps) Runner { return &alertRunner{d: d} }

type alertRunner struct{ d Deps }

// alertRunResult is the run's stored result.
type alertRunResult struct {
	Window   reports.Period `json:"window"`
	Checked  int            `json:"checked"`
	Fired    []string       `json:"fired"`
	Resolved []string       `json:"resolved"`
	Paused   []string       `json:"paused"`
	Guarded  int            `json:"guarded"`
}

// alertFetched is one connection's rows split into the two windows.
type alertFetched struct {
	window, prev reports.Period
	cur, before  []platforms.InsightRow
}

// alertFired is one entity whose alert fired in this run.
type alertFired struct {
	Key          string
	ConnIndex    int
	ConnectionID string
	AccountName  string
	Level        platforms.Level
	EntityID     string
	EntityName   string
	Currency     string
	Spend        string // the current window's spend, formatted
	Conditions   []reports.ConditionResult
	Action       string
	Attempted    bool   // a pause was tried
	Paused       bool   // and it succeeded
	PauseError   string // why it failed
	DryRun       bool
}

// alertResolved is one entity whose condition cleared.
type alertResolved struct {
	Key          string
	ConnectionID string
	AccountName  string
	EntityID     string
	EntityName   string
}

// alertSave is a state to store.
type alertSave struct {
	key   string
	state reports.State
}

func (r *alertRunner) client(platform string) (platforms.Client, bool) {
	reg := r.d.Platforms
	if reg == nil && r.d.Connections != nil {
		reg = r.d.Connections.Platforms()
	}
	if reg == nil {
		return nil, false
	}
	return reg.Client(platform)
}

func (r *alertRunner) Run(ctx context.Context, job Job) (Output, error) {
	a := job.Automation
	var cfg reports.AlertConfig
	if err := json.Unmarshal(a.AutomationConfig, &cfg); err != nil {
		return Output{}, fmt.Errorf("reading the alert config: %w", err)
	}
	if errs := cfg.Validate(); errs != nil {
		return Output{}, fmt.Errorf("invalid alert config: %s", alertJoinErrors(errs))
	}
	if cfg.Action == "" {
		cfg.Action = reports.ActionNotify
	}
	if len(job.Connections) == 0 {
		return Output{}, errors.New("the alert has no connections: choose at least one account")
	}

	// Fetch every connection first, so that a failing one leaves no state
	// changed and nothing paused.
	fetched := make([]alertFetched, len(job.Connections))
	for i, conn := range job.Connections {
		f, err := r.fetch(ctx, job, i, cfg)
		if err != nil {
			return Output{}, err
		}
		fetched[i] = f
		job.Log.Info(job.Now, fmt.Sprintf("%s: %d %s rows for %s (previous %s)", alertAccountName(conn),
			len(f.cur)+len(f.before), cfg.Level, f.window, f.prev))
	}

	statesReadAt := job.Now // the engine's clock, which also stamps the run's writes
	raw, err := r.d.Store.AlertStates(ctx, a.TenantID, a.ID)
	if err != nil {
		return Output{}, fmt.Errorf("reading the alert state: %w", err)
	}
	res := alertRunResult{Window: fetched[0].window, Fired: []string{}, Resolved: []string{}, Paused: []string{}}
	var fired []alertFired
	var resolved []alertResolved
	var saves []alertSave
	for i, conn := range job.Connections {
		f := fetched[i]
		prevByID := map[string]reports.EntityTotals{}
		for _, e := range reports.ByEntity(f.before) {
			prevByID[e.EntityID] = e
		}
		entities := reports.ByEntity(f.cur)
		seen := map[string]bool{}
		for _, e := range entities {
			seen[e.EntityID] = true
		}
		// Entities with data only in the previous window (they stopped
		// delivering) are evaluated against empty current totals.
		for _, e := range reports.ByEntity(f.before) {
			if !seen[e.EntityID] {
				entities = append(entities, reports.EntityTotals{EntityID: e.EntityID, EntityName: e.EntityName,
					Totals: reports.Totals{Currency: e.Currency}})
			}
		}
		for _, e := range entities {
			prevT := prevByID[e.EntityID]
			name := e.EntityName
			if name == "" {
				name = prevT.EntityName
			}
			if name == "" {
				name = e.EntityID
			}
			key := AlertEntityKey(conn.ID, cfg.Level, e.EntityID)
			result := reports.Evaluate(cfg, e.Totals, prevT.Totals)
			res.Checked++
			if result.Guarded {
				res.Guarded++
			}
			state := alertDecodeState(raw[key])
			decision, next := reports.Decide(state, result, job.Now, cfg.Cooldown(), cfg.NotifyResolved)
			if alertStateChanged(state, next) {
				saves = append(saves, alertSave{key: key, state: next})
			}
			switch decision {
			case reports.Fire:
				var conds []reports.ConditionResult
				for _, c := range result.Matched {
					if c.Fired {
						conds = append(conds, c)
					}
				}
				fired = append(fired, alertFired{Key: key, ConnIndex: i, ConnectionID: conn.ID, AccountName: alertAccountName(conn),
					Level: cfg.Level, EntityID: e.EntityID, EntityName: name, Currency: e.Currency,
					Spend: e.Metric(reports.Spend).StringFixed(2), Conditions: conds, Action: cfg.Action, DryRun: job.DryRun})
				res.Fired = append(res.Fired, key)
			case reports.Resolved:
				resolved = append(resolved, alertResolved{Key: key, ConnectionID: conn.ID, AccountName: alertAccountName(conn),
					EntityID: e.EntityID, EntityName: name})
				res.Resolved = append(res.Resolved, key)
			}
		}
	}
	job.Log.Info(job.Now, fmt.Sprintf("checked %d %s(s): %d fired, %d resolved, %d below the minimum-data guard",
		res.Checked, cfg.Level, len(fired), len(resolved), res.Guarded))

	var effects models.RunEffects
	if !job.DryRun {
		// The new state is committed by the engine with the run's
		// deliveries, fenced by its lease: a notice is queued exactly when
		// the state that says it fired is stored. A pause cannot wait for
		// that commit (its outcome is in the notice); if the commit is
		// lost, the retried run pauses again: the entity stays paused, and
		// the audit log shows both attempts.
		for _, s := range saves {
			effects.AlertStates = append(effects.AlertStates, models.AlertStateWrite{EntityKey: s.key, State: s.state})
		}
		effects.AlertStatesReadAt = statesReadAt
		if cfg.Action == reports.ActionPause {
			for k := range fired {
				if r.pause(ctx, job, &fired[k]) {
					res.Paused = append(res.Paused, fired[k].Key)
				}
			}
		}
	}
	m := alertMessage(a, res.Window, fired, resolved)
	if m != nil {
		m.Buttons = alertKeyboard(r.d.AlertButtons, a.ID, fired)
	}
	return Output{Message: m, Result: res, Effects: effects}, nil
}

// fetch reads connection i's rows over the window and the previous one.
func (r *alertRunner) fetch(ctx context.Context, job Job, i int, cfg reports.AlertConfig) (alertFetched, error) {
	conn := job.Connections[i]
	name := alertAccountName(conn)
	if st := conn.Status(job.Now); st == models.ConnectionInvalid || st == models.ConnectionExpired {
		reason := conn.InvalidReason
		if reason == "" {
			reason = "its token is " + st
		}
		return alertFetched{}, fmt.Errorf("the connection %s (%s) needs to be reconnected: %s", name, platforms.Label(conn.Platform), reason)
	}
	client, ok := r.client(conn.Platform)
	if !ok {
		return alertFetched{}, fmt.Errorf("the connection %s: platform %q is not available", name, conn.Platform)
	}
	window, err := reports.WindowFor(cfg.Window, job.Now, job.Location(i))
	if err != nil {
		return alertFetched{}, err
	}
	prev := window.Previous()
	rows, err := client.Insights(ctx, job.Cred(i), connections.InsightsQuery(conn, cfg.Level, prev.Since, window.Until))
	if err != nil {
		if r.d.Connections != nil {
			if rerr := r.d.Connections.ReportCallError(context.WithoutCancel(ctx), conn, err); rerr != nil && r.d.Logger != nil {
				r.d.Logger.Warn("reporting a platform error", "connection", conn.ID, "err", rerr)
			}
		}
		if platforms.IsTokenInvalid(err) {
			return alertFetched{}, fmt.Errorf("the connection %s (%s) needs to be reconnected: %v", name, platforms.Label(conn.Platform), err)
		}
		return alertFetched{}, fmt.Errorf("fetching insights of %s: %w", name, err)
	}
	f := alertFetched{window: window, prev: prev}
	for _, row := range rows {
		switch {
		case window.Contains(row.Date):
			f.cur = append(f.cur, row)
		case prev.Contains(row.Date):
			f.before = append(f.before, row)
		}
	}
	return f, nil
}

// pause pauses one fired entity and records the outcome in the run log and
// the audit log; a failure is reported, not returned.
func (r *alertRunner) pause(ctx context.Context, job Job, f *alertFired) bool {
	f.Attempted = true
	conn := job.Connections[f.ConnIndex]
	what := fmt.Sprintf("%s %q (%s) on %s", f.Level, f.EntityName, f.EntityID, f.AccountName)
	var err error
	if f.Level == platforms.LevelAccount {
		err = errors.New("an account cannot be paused")
	} else if client, ok := r.client(conn.Platform); !ok {
		err = fmt.Errorf("platform %q is not available", conn.Platform)
	} else {
		err = client.SetStatus(ctx, job.Cred(f.ConnIndex), f.Level, f.EntityID, false)
		if err != nil && r.d.Connections != nil {
			_ = r.d.Connections.ReportCallError(context.WithoutCancel(ctx), conn, err)
		}
	}
	after := map[string]any{"ok": err == nil}
	if err != nil {
		f.PauseError = err.Error()
		after["error"] = f.PauseError
		job.Log.Warn(job.Now, "pausing "+what+" failed: "+f.PauseError)
	} else {
		f.Paused = true
		job.Log.Info(job.Now, "paused "+what)
	}
	if aerr := r.d.Store.RecordAudit(context.WithoutCancel(ctx), models.AuditEntry{
		TenantID: job.Automation.TenantID, ActorLabel: "alert: " + job.Automation.Name, Action: "alert.pause",
		TargetType: string(f.Level), TargetID: f.EntityID, After: after,
	}); aerr != nil {
		job.Log.Warn(job.Now, "recording the pause in the audit log failed: "+aerr.Error())
	}
	return f.Paused
}

func alertDecodeState(raw json.RawMessage) reports.State {
	var s reports.State
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &s) // a broken state starts over
	}
	return s
}

func alertStateChanged(a, b reports.State) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return !bytes.Equal(ja, jb)
}

func alertAccountName(c models.Connection) string {
	if c.AccountName != "" {
		return c.AccountName
	}
	return c.AccountRef
}

func alertJoinErrors(errs map[string]string) string {
	keys := make([]string, 0, len(errs))
	for k := range errs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + errs[k]
	}
	return strings.Join(parts, "; ")
}
