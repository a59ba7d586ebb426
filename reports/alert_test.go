package reports

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"adpilot/platforms"
)

// totals: spend 100, 10,000 impressions, 200 clicks, 4 conversions, revenue 300
// → ctr 2, cpc 0.5, cpm 10, cpa 25, roas 3.
var curW = Totals{Spend: dec("100"), Impressions: 10000, Clicks: 200, Conversions: dec("4"), Revenue: dec("300"), Currency: "USD"}

// prevW: spend 80, 5 conversions → cpa 16, so cpa changed by +56.25% → 56.3.
var prevW = Totals{Spend: dec("80"), Impressions: 8000, Clicks: 100, Conversions: dec("5"), Revenue: dec("200"), Currency: "USD"}

func cnd(metric, op string, v float64) Condition { return Condition{Metric: metric, Op: op, Value: v} }

func TestEvaluateOps(t *testing.T) {
	tests := []struct {
		c      Condition
		fired  bool
		actual string
	}{
		{cnd(CPA, OpGT, 20), true, "25"},
		{cnd(CPA, OpGT, 25), false, "25"},
		{cnd(CPA, OpGTE, 25), true, "25"},
		{cnd(CPA, OpGTE, 25.01), false, "25"},
		{cnd(CTR, OpLT, 2.5), true, "2"},
		{cnd(CTR, OpLT, 2), false, "2"},
		{cnd(CTR, OpLTE, 2), true, "2"},
		{cnd(CPC, OpLTE, 0.49), false, "0.5"},
		{cnd(ROAS, OpLT, 3.1), true, "3"},
		{cnd(Spend, OpGTE, 100), true, "100"},
		{cnd(CPA, OpChangeGT, 50), true, "56.3"},
		{cnd(CPA, OpChangeGT, 60), false, "56.3"},
		{cnd(Conversions, OpChangeLT, -10), true, "-20"}, // 5 → 4
		{cnd(Conversions, OpChangeLT, -25), false, "-20"},
		{cnd(Spend, OpChangeLT, 0), false, "25"},
	}
	for _, tt := range tests {
		c := AlertConfig{Level: platforms.LevelCampaign, Window: Today, Conditions: []Condition{tt.c}}
		r := Evaluate(c, curW, prevW)
		if r.Fired != tt.fired || r.Guarded || len(r.Matched) != 1 {
			t.Errorf("%v: fired %v guarded %v, want %v", tt.c, r.Fired, r.Guarded, tt.fired)
			continue
		}
		m := r.Matched[0]
		eq(t, tt.c.Metric+" "+tt.c.Op+" actual", m.Actual, tt.actual)
		if m.Fired != tt.fired || !m.HasPrevious || !m.Defined || m.Condition != tt.c {
			t.Errorf("%v: result %+v", tt.c, m)
		}
		eq(t, "current", m.Current, curW.Metric(tt.c.Metric).String())
		eq(t, "previous", m.Previous, prevW.Metric(tt.c.Metric).String())
	}
}

func TestEvaluateMatch(t *testing.T) {
	hit, miss := cnd(CPA, OpGT, 20), cnd(Spend, OpGT, 1000)
	tests := []struct {
		match string
		conds []Condition
		want  bool
	}{
		{MatchAll, []Condition{hit, hit}, true},
		{MatchAll, []Condition{hit, miss}, false},
		{"", []Condition{hit, miss}, false}, // empty means all
		{MatchAny, []Condition{miss, hit}, true},
		{MatchAny, []Condition{miss, miss}, false},
		{MatchAll, nil, false},
		{MatchAny, nil, false},
	}
	for _, tt := range tests {
		r := Evaluate(AlertConfig{Match: tt.match, Conditions: tt.conds}, curW, prevW)
		if r.Fired != tt.want || len(r.Matched) != len(tt.conds) {
			t.Errorf("%q %v: fired %v, want %v", tt.match, tt.conds, r.Fired, tt.want)
		}
	}
	r := Evaluate(AlertConfig{Match: MatchAny, Conditions: []Condition{miss, hit}}, curW, prevW)
	if r.Matched[0].Fired || !r.Matched[1].Fired {
		t.Error("Matched must keep config order and per-condition outcome")
	}
}

func TestEvaluateGuard(t *testing.T) {
	c := AlertConfig{Match: MatchAny, Conditions: []Condition{cnd(CPA, OpGT, 20)}}
	tests := []struct {
		min     map[string]float64
		guarded bool
	}{
		{nil, false},
		{map[string]float64{Spend: 100}, false}, // inclusive
		{map[string]float64{Spend: 100.01}, true},
		{map[string]float64{Spend: 10, Impressions: 10001}, true},
		{map[string]float64{Impressions: 1000, Clicks: 200}, false},
		{map[string]float64{CTR: 1}, false},
	}
	for _, tt := range tests {
		c.Min = tt.min
		r := Evaluate(c, curW, prevW)
		if r.Guarded != tt.guarded || r.Fired == tt.guarded || r.Matched[0].Fired == tt.guarded {
			t.Errorf("min %v: guarded %v fired %v", tt.min, r.Guarded, r.Fired)
		}
		eq(t, "actual kept while guarded", r.Matched[0].Actual, "25")
	}
	// A ratio guard on an undefined ratio is not met.
	c.Min = map[string]float64{CTR: 0}
	if r := Evaluate(c, Totals{Spend: dec("50"), Conversions: dec("1")}, prevW); !r.Guarded {
		t.Error("ctr guard met without impressions")
	}
}

func TestEvaluateChangeWithoutPrevious(t *testing.T) {
	for _, c := range []Condition{cnd(Spend, OpChangeGT, -100), cnd(Spend, OpChangeLT, 1000)} {
		r := Evaluate(AlertConfig{Conditions: []Condition{c}}, curW, Totals{})
		if r.Fired || r.Matched[0].HasPrevious || r.Matched[0].Fired {
			t.Errorf("%v fired without previous data: %+v", c, r.Matched[0])
		}
	}
	// Previous spend but no previous conversions: cpa change undefined.
	r := Evaluate(AlertConfig{Conditions: []Condition{cnd(CPA, OpChangeGT, 0)}}, curW, Totals{Spend: dec("10")})
	if r.Fired || r.Matched[0].HasPrevious {
		t.Errorf("cpa change without previous conversions: %+v", r.Matched[0])
	}
}

func TestEvaluateUndefinedRatio(t *testing.T) {
	noConv := Totals{Spend: dec("500"), Impressions: 1000, Clicks: 10}
	for _, c := range []Condition{cnd(CPA, OpLT, 5), cnd(CPA, OpLTE, 0), cnd(CPA, OpGT, 0), cnd(CPA, OpChangeLT, 0)} {
		r := Evaluate(AlertConfig{Conditions: []Condition{c}}, noConv, prevW)
		if r.Fired || r.Matched[0].Defined {
			t.Errorf("%v fired on an undefined cpa: %+v", c, r.Matched[0])
		}
	}
}

func TestAlertConfigJSON(t *testing.T) {
	in := `{"level":"campaign","window":"last_3d","match":"any","conditions":[{"metric":"cpa","op":">","value":20},{"metric":"spend","op":"change_pct>","value":50.5}],"min":{"spend":10},"cooldown_minutes":360,"action":"pause","notify_resolved":true}`
	var c AlertConfig
	if err := json.Unmarshal([]byte(in), &c); err != nil {
		t.Fatal(err)
	}
	if errs := c.Validate(); errs != nil {
		t.Fatalf("valid config rejected: %v", errs)
	}
	if c.Cooldown().Hours() != 6 || c.Conditions[1].Value != 50.5 || !c.Conditions[1].IsChange() || c.Min[Spend] != 10 {
		t.Errorf("decoded %+v", c)
	}
	// encoding/json escapes ">" as \u003e by default; both are the same JSON.
	var out strings.Builder
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c); err != nil || strings.TrimSpace(out.String()) != in {
		t.Errorf("round trip:\n got %s\nwant %s (%v)", out.String(), in, err)
	}
}

func TestValidate(t *testing.T) {
	valid := func() AlertConfig {
		return AlertConfig{Level: platforms.LevelAd, Window: Last7d, Match: MatchAll,
			Conditions: []Condition{cnd(CPA, OpGT, 20)}, CooldownMinutes: 60, Action: ActionNotify}
	}
	many := make([]Condition, 11)
	for i := range many {
		many[i] = cnd(Spend, OpGT, 1)
	}
	tests := []struct {
		name   string
		edit   func(*AlertConfig)
		fields []string
		text   string // part of the first field's message
	}{
		{"valid", func(*AlertConfig) {}, nil, ""},
		{"defaults", func(c *AlertConfig) { c.Match, c.Action = "", "" }, nil, ""},
		{"level", func(c *AlertConfig) { c.Level = "adgroup" }, []string{"level"}, "account, campaign"},
		{"window", func(c *AlertConfig) { c.Window = "this_month" }, []string{"window"}, "last_3d"},
		{"match", func(c *AlertConfig) { c.Match = "some" }, []string{"match"}, "all or any"},
		{"no conditions", func(c *AlertConfig) { c.Conditions = nil }, []string{"conditions"}, "at least one"},
		{"too many", func(c *AlertConfig) { c.Conditions = many }, []string{"conditions"}, "at most 10"},
		{"metric", func(c *AlertConfig) { c.Conditions[0].Metric = "likes" }, []string{"conditions.0.metric"}, "roas"},
		{"op", func(c *AlertConfig) { c.Conditions = append(c.Conditions, cnd(CPA, "=", 1)) }, []string{"conditions.1.op"}, "change_pct>"},
		{"negative value", func(c *AlertConfig) { c.Conditions[0].Value = -1 }, []string{"conditions.0.value"}, "0 or more"},
		{"negative change ok", func(c *AlertConfig) { c.Conditions[0] = cnd(CPA, OpChangeLT, -20) }, nil, ""},
		{"min metric", func(c *AlertConfig) { c.Min = map[string]float64{"views": 1} }, []string{"min.views"}, "unknown"},
		{"min negative", func(c *AlertConfig) { c.Min = map[string]float64{Spend: -1} }, []string{"min.spend"}, "0 or more"},
		{"cooldown high", func(c *AlertConfig) { c.CooldownMinutes = 10081 }, []string{"cooldown_minutes"}, "10080"},
		{"cooldown negative", func(c *AlertConfig) { c.CooldownMinutes = -1 }, []string{"cooldown_minutes"}, "between 0"},
		{"cooldown max ok", func(c *AlertConfig) { c.CooldownMinutes = 10080 }, nil, ""},
		{"action", func(c *AlertConfig) { c.Action = "delete" }, []string{"action"}, "notify or pause"},
		{"pause account", func(c *AlertConfig) { c.Level, c.Action = platforms.LevelAccount, ActionPause }, []string{"action"}, "cannot be paused"},
		{"pause adset ok", func(c *AlertConfig) { c.Level, c.Action = platforms.LevelAdSet, ActionPause }, nil, ""},
		{"several", func(c *AlertConfig) { c.Window, c.Conditions[0].Op = "", "!" }, []string{"conditions.0.op", "window"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.edit(&c)
			errs := c.Validate()
			if tt.fields == nil {
				if errs != nil {
					t.Fatalf("unexpected errors %v", errs)
				}
				return
			}
			if got := slices.Sorted(maps.Keys(errs)); !slices.Equal(got, tt.fields) {
				t.Fatalf("fields %v, want %v (%v)", got, tt.fields, errs)
			}
			if msg := errs[tt.fields[0]]; !strings.Contains(msg, tt.text) {
				t.Errorf("message %q lacks %q", msg, tt.text)
			}
		})
	}
}
