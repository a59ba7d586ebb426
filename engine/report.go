package engine

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/shopspring/decimal"

	"adpilot/connections"
	"adpilot/models"
	"adpilot/platforms"
	"adpilot/reports"
)

// ReportConfig is the scheduled_report automation config (a public
// contract: README documents every field).
type ReportConfig struct {
	Level   string   `json:"level"`   // account, campaign, adset or ad
	Period  string   `json:"period"`  // one of reports.PeriodNames
	Metrics []string `json:"metrics"` // 1–10 of reports.Metrics (creators: ReportCreatorMetrics)
	Compare bool     `json:"compare"` // with the previous period, as a percentage change
	Top     int      `json:"top"`     // 0–50 top entities (0: none)
	TopBy   string   `json:"top_by"`  // the metric ranking them (required when top > 0)
	Chart   bool     `json:"chart"`   // attach a PNG of daily spend and results
}

// Report limits.
const (
	ReportMaxMetrics = 10
	ReportMaxTop     = 50
)

// Creator metrics (TikTok creator connections report these instead of ad
// metrics).
const (
	MetricFollowers = "followers"
	MetricViews     = "views"
	MetricLikes     = "likes"
	MetricComments  = "comments"
	MetricShares    = "shares"
)

// ReportCreatorMetrics are the metrics of creator connections, in display order.
var ReportCreatorMetrics = []string{MetricFollowers, MetricViews, MetricLikes, MetricComments, MetricShares}

func reportIsCreatorMetric(m string) bool { return slices.Contains(ReportCreatorMetrics, m) }

// Validate returns field errors keyed by JSON field name, nil when valid.
func (c ReportConfig) Validate() map[string]string {
	errs := map[string]string{}
	if !platforms.Level(c.Level).Valid() {
		errs["level"] = "must be one of account, campaign, adset, ad"
	}
	if !slices.Contains(reports.PeriodNames, c.Period) {
		errs["period"] = "must be one of " + strings.Join(reports.PeriodNames, ", ")
	}
	switch n := len(c.Metrics); {
	case n == 0:
		errs["metrics"] = "choose at least one metric"
	case n > ReportMaxMetrics:
		errs["metrics"] = fmt.Sprintf("at most %d metrics", ReportMaxMetrics)
	}
	seen := map[string]bool{}
	for _, m := range c.Metrics {
		if !reports.ValidMetric(m) && !reportIsCreatorMetric(m) {
			errs["metrics"] = fmt.Sprintf("unknown metric %q (valid: %s, %s)", m,
				strings.Join(reports.Metrics, ", "), strings.Join(ReportCreatorMetrics, ", "))
			break
		}
		if seen[m] {
			errs["metrics"] = fmt.Sprintf("metric %q is listed twice", m)
			break
		}
		seen[m] = true
	}
	if c.Top < 0 || c.Top > ReportMaxTop {
		errs["top"] = fmt.Sprintf("must be between 0 and %d", ReportMaxTop)
	}
	if c.Top > 0 && !reports.ValidMetric(c.TopBy) {
		errs["top_by"] = "choose the metric to rank by (valid: " + strings.Join(reports.Metrics, ", ") + ")"
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// rsJoinErrors formats field errors as one sorted line.
func rsJoinErrors(errs map[string]string) string {
	keys := make([]string, 0, len(errs))
	for k := range errs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + errs[k]
	}
	return strings.Join(parts, "; ")
}

func parseReportConfig(raw json.RawMessage) (ReportConfig, error) {
	var c ReportConfig
	if len(raw) == 0 {
		return c, errors.New("the report has no config")
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, fmt.Errorf("invalid report config: %w", err)
	}
	if errs := c.Validate(); errs != nil {
		return c, errors.New("invalid report config: " + rsJoinErrors(errs))
	}
	return c, nil
}

// NewReportRunner returns the scheduled_report runner.
func NewReportRunner(d Deps) Runner { return &reportRunner{d: d} }

type reportRunner struct{ d Deps }

// reportAccount is one connection's part of a report.
type reportAccount struct {
	conn     models.Connection
	name     string
	currency string
	period   reports.Period
	cur      reports.Totals
	prev     *reports.Totals        // nil without compare
	rows     []platforms.InsightRow // current period, at the report level (the chart)
	// breakdown are the entities listed in the webhook rows and ranked for
	// the top: the report level, or campaigns for an account-level report.
	breakdownLevel platforms.Level
	breakdown      []reports.EntityTotals
	top            []reports.EntityTotals
	creator        *reportCreator
}

// reportCreator is a TikTok creator's figures (lifetime, not per period:
// the Display API has no daily history).
type reportCreator struct {
	followers, views, likes, comments, shares int64
	top                                       []platforms.VideoStats
}

func (a reportAccount) isCreator() bool { return a.creator != nil }

// rsConnName is how a connection is named in messages and errors.
func rsConnName(c models.Connection) string {
	if c.AccountName != "" {
		return c.AccountName
	}
	return c.AccountRef
}

// rsRequireValid fails at once when any connection needs reconnecting.
func rsRequireValid(job Job) error {
	if len(job.Connections) != len(job.Credentials) {
		return errors.New("internal error: connections and credentials differ in number")
	}
	for _, c := range job.Connections {
		if !c.IsValid {
			return fmt.Errorf("%s needs to be reconnected", rsConnName(c))
		}
	}
	return nil
}

// rsCallError hands a platform error to the connections service (a dead
// token invalidates the connection) and words the run's failure.
func rsCallError(ctx context.Context, d Deps, job Job, c models.Connection, what string, err error) error {
	if d.Connections != nil {
		if rerr := d.Connections.ReportCallError(context.WithoutCancel(ctx), c, err); rerr != nil && d.Logger != nil {
			d.Logger.Warn("recording a platform error on the connection", "connection", c.ID, "err", rerr)
		}
	}
	msg := fmt.Sprintf("%s: %s", rsConnName(c), rsDescribe(err))
	job.Log.Error(job.Now, msg+" ("+what+")")
	return errors.New(msg)
}

// rsDescribe words a platform error for people: "token invalid: …".
func rsDescribe(err error) string {
	var pe *platforms.Error
	if errors.As(err, &pe) {
		s := strings.ReplaceAll(pe.Kind.String(), "_", " ")
		if pe.Message != "" {
			return s + ": " + pe.Message
		}
		if pe.Err != nil {
			return s + ": " + pe.Err.Error()
		}
		return s
	}
	return err.Error()
}

func (r *reportRunner) client(platform string) (platforms.Client, bool) {
	if r.d.Platforms == nil {
		return nil, false
	}
	c, ok := r.d.Platforms.Client(platform)
	return c, ok && c != nil
}

// Run fetches every connection's figures and builds one message.
func (r *reportRunner) Run(ctx context.Context, job Job) (Output, error) {
	cfg, err := parseReportConfig(job.Automation.AutomationConfig)
	if err != nil {
		return Output{}, err
	}
	if len(job.Connections) == 0 {
		return Output{}, errors.New("the report has no connections: choose at least one account")
	}
	if err := rsRequireValid(job); err != nil {
		return Output{}, err
	}
	accounts := make([]reportAccount, 0, len(job.Connections))
	for i := range job.Connections {
		a, err := r.account(ctx, job, cfg, i)
		if err != nil {
			return Output{}, err
		}
		accounts = append(accounts, a)
	}
	msg := reportMessage(job, cfg, accounts)
	if cfg.Chart {
		if img, ok := reportChart(job, accounts); ok {
			msg.Images = append(msg.Images, img)
		}
	}
	return Output{Message: msg, Result: reportResultOf(cfg, accounts)}, nil
}

func (r *reportRunner) account(ctx context.Context, job Job, cfg ReportConfig, i int) (reportAccount, error) {
	conn := job.Connections[i]
	a := reportAccount{conn: conn, name: rsConnName(conn)}
	p, err := reports.PeriodFor(cfg.Period, job.Now, job.Location(i))
	if err != nil {
		return a, err
	}
	a.period = p
	client, ok := r.client(conn.Platform)
	if !ok {
		return a, fmt.Errorf("%s: unknown platform %q", a.name, conn.Platform)
	}
	if conn.Kind == platforms.KindCreator {
		st, err := client.CreatorStats(ctx, job.Cred(i))
		if err != nil {
			return a, rsCallError(ctx, r.d, job, conn, "creator stats", err)
		}
		a.creator = reportCreatorOf(st, cfg.Top)
		job.Log.Info(job.Now, fmt.Sprintf("fetched creator stats for %s (%d videos)", a.name, len(st.Videos)))
		return a, nil
	}

	level := platforms.Level(cfg.Level)
	since := p.Since
	var prevPeriod reports.Period
	if cfg.Compare {
		prevPeriod = p.Previous()
		since = prevPeriod.Since
	}
	rows, err := client.Insights(ctx, job.Cred(i), connections.InsightsQuery(conn, level, since, p.Until))
	if err != nil {
		return a, rsCallError(ctx, r.d, job, conn, "insights", err)
	}
	job.Log.Info(job.Now, fmt.Sprintf("fetched %d %s rows for %s (%s)", len(rows), level, a.name, reportRange(since, p.Until)))
	var prevRows []platforms.InsightRow
	for _, row := range rows {
		switch {
		case p.Contains(row.Date):
			a.rows = append(a.rows, row)
		case cfg.Compare && prevPeriod.Contains(row.Date):
			prevRows = append(prevRows, row)
		}
	}
	a.cur = reports.Sum(a.rows)
	if cfg.Compare {
		t := reports.Sum(prevRows)
		a.prev = &t
	}
	a.currency = a.cur.Currency
	if a.currency == "" {
		a.currency, _ = conn.MetaMap()["currency"].(string)
	}

	a.breakdownLevel = level
	breakdownRows := a.rows
	if level == platforms.LevelAccount {
		a.breakdownLevel = platforms.LevelCampaign
		breakdownRows, err = client.Insights(ctx, job.Cred(i), connections.InsightsQuery(conn, platforms.LevelCampaign, p.Since, p.Until))
		if err != nil {
			return a, rsCallError(ctx, r.d, job, conn, "campaign insights", err)
		}
		job.Log.Info(job.Now, fmt.Sprintf("fetched %d campaign rows for %s", len(breakdownRows), a.name))
	}
	a.breakdown = reports.ByEntity(breakdownRows)
	a.top = reports.Top(a.breakdown, cfg.TopBy, cfg.Top)
	return a, nil
}

func reportCreatorOf(st platforms.CreatorStats, top int) *reportCreator {
	c := &reportCreator{followers: st.Followers}
	for _, v := range st.Videos {
		c.views += v.Views
		c.likes += v.Likes
		c.comments += v.Comments
		c.shares += v.Shares
	}
	if top > 0 {
		vids := slices.Clone(st.Videos)
		slices.SortStableFunc(vids, func(a, b platforms.VideoStats) int {
			if c := cmp.Compare(b.Views, a.Views); c != 0 {
				return c
			}
			return cmp.Compare(a.ID, b.ID)
		})
		c.top = vids[:min(top, len(vids))]
	}
	return c
}

// metrics are the metrics shown for a: the config's ad metrics for an ad
// account, its creator metrics for a creator (all of them when it names
// none of either kind).
func (a reportAccount) metrics(cfg ReportConfig) []string {
	var out []string
	for _, m := range cfg.Metrics {
		if a.isCreator() == reportIsCreatorMetric(m) {
			out = append(out, m)
		}
	}
	if len(out) > 0 {
		return out
	}
	if a.isCreator() {
		return ReportCreatorMetrics
	}
	return []string{reports.Spend, reports.Impressions, reports.Clicks, reports.Conversions}
}

// value is a metric's current value; ok is false for an undefined ratio.
func (a reportAccount) value(m string) (decimal.Decimal, bool) {
	if a.isCreator() {
		c := a.creator
		v := map[string]int64{MetricFollowers: c.followers, MetricViews: c.views, MetricLikes: c.likes,
			MetricComments: c.comments, MetricShares: c.shares}
		n, ok := v[m]
		return decimal.NewFromInt(n), ok
	}
	return a.cur.Metric(m), a.cur.Defined(m)
}

// prevValue is the previous period's value, when compared and defined.
func (a reportAccount) prevValue(m string) (decimal.Decimal, bool) {
	if a.prev == nil {
		return decimal.Zero, false
	}
	return a.prev.Metric(m), a.prev.Defined(m)
}

// change is the percentage change against the previous period, when there
// is one.
func (a reportAccount) change(m string) (decimal.Decimal, bool) {
	cur, ok := a.value(m)
	prev, pok := a.prevValue(m)
	if !ok || !pok {
		return decimal.Zero, false
	}
	return reports.Change(cur, prev)
}

// Result (run history).

type reportResultAccount struct {
	ConnectionID string         `json:"connection_id"`
	AccountName  string         `json:"account_name"`
	Currency     string         `json:"currency"`
	Totals       map[string]any `json:"totals"`
	Previous     map[string]any `json:"previous"`
}

type reportResult struct {
	Period   reports.Period        `json:"period"`
	Accounts []reportResultAccount `json:"accounts"`
}

func reportResultOf(cfg ReportConfig, accounts []reportAccount) reportResult {
	res := reportResult{Accounts: []reportResultAccount{}}
	if len(accounts) > 0 {
		res.Period = accounts[0].period
	}
	for _, a := range accounts {
		totals, prev := a.totalsJSON(cfg)
		res.Accounts = append(res.Accounts, reportResultAccount{ConnectionID: a.conn.ID, AccountName: a.name,
			Currency: a.currency, Totals: totals, Previous: prev})
	}
	return res
}

// totalsJSON are the shown metrics as JSON numbers (null for an undefined
// ratio); prev is nil (JSON null) without compare.
func (a reportAccount) totalsJSON(cfg ReportConfig) (totals, prev map[string]any) {
	totals = map[string]any{}
	for _, m := range a.metrics(cfg) {
		totals[m] = rsNumber(a.value(m))
	}
	if a.prev != nil {
		prev = map[string]any{}
		for _, m := range a.metrics(cfg) {
			prev[m] = rsNumber(a.prevValue(m))
		}
	}
	return totals, prev
}

// rsNumber is a JSON number rounded to 4 places, or nil (null) when !ok.
func rsNumber(d decimal.Decimal, ok bool) any {
	if !ok {
		return nil
	}
	return d.Round(4).InexactFloat64()
}
