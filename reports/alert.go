package reports

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"adpilot/platforms"
)

// Alert condition operators. The change_pct ones compare the percentage
// change against the previous window of the same length, literally:
// "change_pct<" with -20 fires when the metric dropped by more than 20%.
const (
	OpGT         = ">"
	OpGTE        = ">="
	OpLT         = "<"
	OpLTE        = "<="
	OpChangeGT   = "change_pct>"
	OpChangeLT   = "change_pct<"
	MatchAll     = "all"
	MatchAny     = "any"
	ActionNotify = "notify"
	ActionPause  = "pause"
	// MaxConditions and MaxCooldownMinutes (one week) bound a config.
	MaxConditions      = 10
	MaxCooldownMinutes = 10080
)

// Ops are the valid condition operators.
var Ops = []string{OpGT, OpGTE, OpLT, OpLTE, OpChangeGT, OpChangeLT}

// Condition is one test of an alert. Value is a float64 so that it stays a
// JSON number ("value":20) without touching decimal's global JSON settings;
// it is converted to an exact decimal of its shortest form when compared.
type Condition struct {
	Metric string  `json:"metric"`
	Op     string  `json:"op"`
	Value  float64 `json:"value"`
}

// IsChange reports whether the condition compares against the previous window.
func (c Condition) IsChange() bool { return c.Op == OpChangeGT || c.Op == OpChangeLT }

// AlertConfig is the alert automation's config JSON (a public contract).
// An empty Match means "all" and an empty Action means "notify".
type AlertConfig struct {
	Level           platforms.Level    `json:"level"`
	Window          string             `json:"window"`
	Match           string             `json:"match"`
	Conditions      []Condition        `json:"conditions"`
	Min             map[string]float64 `json:"min"`
	CooldownMinutes int                `json:"cooldown_minutes"`
	Action          string             `json:"action"`
	NotifyResolved  bool               `json:"notify_resolved"`
}

// Cooldown is CooldownMinutes as a duration.
func (c AlertConfig) Cooldown() time.Duration { return time.Duration(c.CooldownMinutes) * time.Minute }

// Validate returns messages keyed by field ("window", "conditions.0.metric",
// "min.spend", …), or nil when the config is valid.
func (c AlertConfig) Validate() map[string]string {
	errs := map[string]string{}
	if !c.Level.Valid() {
		errs["level"] = "must be one of account, campaign, adset, ad"
	}
	if !slices.Contains(WindowNames, c.Window) {
		errs["window"] = "must be one of " + strings.Join(WindowNames, ", ")
	}
	if c.Match != "" && c.Match != MatchAll && c.Match != MatchAny {
		errs["match"] = "must be all or any"
	}
	switch n := len(c.Conditions); {
	case n == 0:
		errs["conditions"] = "add at least one condition"
	case n > MaxConditions:
		errs["conditions"] = fmt.Sprintf("at most %d conditions", MaxConditions)
	}
	for i, cond := range c.Conditions {
		key := fmt.Sprintf("conditions.%d.", i)
		if !ValidMetric(cond.Metric) {
			errs[key+"metric"] = "unknown metric (valid: " + strings.Join(Metrics, ", ") + ")"
		}
		if !slices.Contains(Ops, cond.Op) {
			errs[key+"op"] = "must be one of " + strings.Join(Ops, " ")
		} else if !cond.IsChange() && cond.Value < 0 {
			errs[key+"value"] = "must be 0 or more"
		}
	}
	for m, v := range c.Min {
		if !ValidMetric(m) {
			errs["min."+m] = "unknown metric"
		} else if v < 0 {
			errs["min."+m] = "must be 0 or more"
		}
	}
	if c.CooldownMinutes < 0 || c.CooldownMinutes > MaxCooldownMinutes {
		errs["cooldown_minutes"] = fmt.Sprintf("must be between 0 and %d (one week)", MaxCooldownMinutes)
	}
	switch c.Action {
	case "", ActionNotify:
	case ActionPause:
		if c.Level == platforms.LevelAccount {
			errs["action"] = "an account cannot be paused: choose campaign, ad set or ad level"
		}
	default:
		errs["action"] = "must be notify or pause"
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// ConditionResult is one condition evaluated. Actual is the value compared:
// the metric for plain ops, the percentage change for change ops. Current
// and Previous are the metric in both windows, for messages.
type ConditionResult struct {
	Condition
	Actual   decimal.Decimal
	Current  decimal.Decimal
	Previous decimal.Decimal
	Fired    bool
	// HasPrevious says a percentage change against the previous window
	// exists (set for every op); a change condition without it never fires.
	HasPrevious bool
	// Defined is false when the metric is a ratio without a denominator
	// (cpa with no conversions); such a condition never fires, so that
	// "cpa < 5" is not met by a campaign that converted nothing.
	Defined bool
}

// Result is an alert evaluated for one entity.
type Result struct {
	Fired   bool
	Guarded bool // the min-data guard was not met, so nothing fired
	// Matched holds every condition's result in config order (not only the
	// ones that fired).
	Matched []ConditionResult
}

// Evaluate tests the alert against the current window's totals and the
// previous window's (same length, just before). The min guard is checked
// on cur only; while it is not met no condition fires.
func Evaluate(c AlertConfig, cur, prev Totals) Result {
	r := Result{Guarded: !guardMet(c.Min, cur)}
	anyFired, allFired := false, len(c.Conditions) > 0
	for _, cond := range c.Conditions {
		cr := evalCondition(cond, cur, prev)
		if r.Guarded {
			cr.Fired = false
		}
		anyFired = anyFired || cr.Fired
		allFired = allFired && cr.Fired
		r.Matched = append(r.Matched, cr)
	}
	if c.Match == MatchAny {
		r.Fired = anyFired
	} else {
		r.Fired = allFired
	}
	return r
}

func guardMet(guard map[string]float64, cur Totals) bool {
	for m, v := range guard {
		if !cur.Defined(m) || cur.Metric(m).LessThan(decimal.NewFromFloat(v)) {
			return false
		}
	}
	return true
}

func evalCondition(cond Condition, cur, prev Totals) ConditionResult {
	cr := ConditionResult{
		Condition: cond,
		Current:   cur.Metric(cond.Metric),
		Previous:  prev.Metric(cond.Metric),
		Defined:   cur.Defined(cond.Metric),
	}
	pct, ok := Change(cr.Current, cr.Previous)
	cr.HasPrevious = ok && prev.Defined(cond.Metric)
	cr.Actual = cr.Current
	if cond.IsChange() {
		cr.Actual = pct
		if !cr.HasPrevious {
			return cr
		}
	}
	if !cr.Defined {
		return cr
	}
	want := decimal.NewFromFloat(cond.Value)
	switch cond.Op {
	case OpGT, OpChangeGT:
		cr.Fired = cr.Actual.GreaterThan(want)
	case OpGTE:
		cr.Fired = cr.Actual.GreaterThanOrEqual(want)
	case OpLT, OpChangeLT:
		cr.Fired = cr.Actual.LessThan(want)
	case OpLTE:
		cr.Fired = cr.Actual.LessThanOrEqual(want)
	}
	return cr
}
