// Package engine runs automations: it turns a claimed run into platform
// calls, an output message and a result, through one Runner per type
// (scheduled_report, alert, data_sync). The jobs package feeds it claimed
// runs; notify delivers what it produces.
package engine

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"adpilot/connections"
	"adpilot/models"
	"adpilot/notify"
	"adpilot/platforms"
	"adpilot/schedule"
)

// Automation types.
const (
	TypeReport = "scheduled_report"
	TypeAlert  = "alert"
	TypeSync   = "data_sync"
)

// Job is everything a runner needs for one run.
type Job struct {
	Automation  models.Automation
	Run         models.Run
	Tenant      models.Tenant
	Connections []models.Connection
	Credentials []models.Credentials // same order as Connections
	// Destination is where the output goes (its type shapes a sync's
	// messages); nil: the automation has none.
	Destination *models.Destination
	Now         time.Time
	// DryRun (Preview): compute and return the output, but deliver
	// nothing, act on nothing and store no state.
	DryRun bool
	Log    *Log
}

// Output is what a run produced.
type Output struct {
	// Message is delivered to the automation's destination; nil: nothing to send.
	Message *notify.Message
	// Extra are further messages (an alert's per-entity notices).
	Extra []notify.Message
	// Result is stored as the run's result (JSON) and shown in run history.
	Result any
	// Effects are the state the run decided (alert state, sync cursors).
	// Runners only compute them: the engine commits them with the run's
	// deliveries and its end, in one transaction fenced by the run's lease,
	// so a stalled worker whose run was taken up again writes nothing and a
	// retried run never notifies twice. Empty for a dry run.
	Effects models.RunEffects
}

// Runner executes one automation type.
type Runner interface {
	Run(ctx context.Context, job Job) (Output, error)
}

// Deps are what runners use.
type Deps struct {
	Store       *models.Store
	Platforms   *platforms.Registry
	Connections *connections.Service // ReportCallError invalidates dead tokens
	Logger      *slog.Logger
	BaseURL     string
	// AlertButtons builds an alert's Telegram buttons (the bot signs their
	// callback data); nil falls back to the package-level AlertButtons hook.
	AlertButtons func(automationID, entityKey string, canPause bool) [][]notify.Button
}

// Log collects a run's step log.
type Log struct{ entries []models.RunLog }

// Info, Warn and Error add a step.
func (l *Log) Info(now time.Time, msg string)  { l.add(now, "info", msg) }
func (l *Log) Warn(now time.Time, msg string)  { l.add(now, "warn", msg) }
func (l *Log) Error(now time.Time, msg string) { l.add(now, "error", msg) }

func (l *Log) add(now time.Time, level, msg string) {
	if l != nil {
		l.entries = append(l.entries, models.RunLog{At: now, Level: level, Message: msg})
	}
}

// Entries returns the steps so far.
func (l *Log) Entries() []models.RunLog {
	if l == nil {
		return nil
	}
	return l.entries
}

// Cred is connection i's credentials as the platforms package wants them.
func (j Job) Cred(i int) platforms.Credentials {
	c := j.Connections[i]
	return platforms.Credentials{AccessToken: j.Credentials[i].AccessToken, AccountRef: c.AccountRef, Kind: c.Kind}
}

// Location is the zone a connection's days are counted in: its account
// timezone, else the tenant's, else UTC.
func (j Job) Location(i int) *time.Location {
	if name := j.connectionZone(i); name != "" {
		if loc, err := loadZone(name); err == nil {
			return loc
		}
	}
	if name := j.Tenant.ParsedSettings().Timezone; name != "" {
		if loc, err := loadZone(name); err == nil {
			return loc
		}
	}
	return time.UTC
}

func (j Job) connectionZone(i int) string {
	if i < 0 || i >= len(j.Connections) {
		return ""
	}
	tz, _ := j.Connections[i].MetaMap()["timezone_name"].(string)
	return tz
}

// zones caches loaded time zones and resolved schedule zones: loading one
// reads and parses the zone database each time, on every run.
var zones sync.Map // "load\x00name" or "resolve\x00tz\x00account\x00tenant" -> zoneResult

type zoneResult struct {
	loc *time.Location
	err error
}

// loadZone is time.LoadLocation, cached.
func loadZone(name string) (*time.Location, error) {
	key := "load\x00" + name
	if z, ok := zones.Load(key); ok {
		r := z.(zoneResult)
		return r.loc, r.err
	}
	loc, err := time.LoadLocation(name)
	zones.Store(key, zoneResult{loc, err})
	return loc, err
}

// resolveZone is schedule.Resolve, cached.
func resolveZone(tz, accountTZ, tenantTZ string) (*time.Location, error) {
	key := "resolve\x00" + tz + "\x00" + accountTZ + "\x00" + tenantTZ
	if z, ok := zones.Load(key); ok {
		r := z.(zoneResult)
		return r.loc, r.err
	}
	loc, err := schedule.Resolve(tz, accountTZ, tenantTZ)
	zones.Store(key, zoneResult{loc, err})
	return loc, err
}
