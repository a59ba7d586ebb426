package platforms

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/shopspring/decimal"
)

// fbLevelFields are the id and name fields of each level.
var fbLevelFields = map[Level][2]string{
	LevelAccount:  {"account_id", "account_name"},
	LevelCampaign: {"campaign_id", "campaign_name"},
	LevelAdSet:    {"adset_id", "adset_name"},
	LevelAd:       {"ad_id", "ad_name"},
}

// fbNumber is a metric: Graph sends strings ("5339.5"), tolerate numbers.
type fbNumber string

func (n *fbNumber) UnmarshalJSON(b []byte) error {
	*n = fbNumber(bytes.Trim(b, `"`))
	if *n == "null" {
		*n = ""
	}
	return nil
}

type fbAction struct {
	ActionType string   `json:"action_type"`
	Value      fbNumber `json:"value"`
}

type fbInsight struct {
	AccountID       string     `json:"account_id"`
	AccountName     string     `json:"account_name"`
	CampaignID      string     `json:"campaign_id"`
	CampaignName    string     `json:"campaign_name"`
	AdSetID         string     `json:"adset_id"`
	AdSetName       string     `json:"adset_name"`
	AdID            string     `json:"ad_id"`
	AdName          string     `json:"ad_name"`
	DateStart       string     `json:"date_start"`
	AccountCurrency string     `json:"account_currency"`
	Spend           fbNumber   `json:"spend"`
	Impressions     fbNumber   `json:"impressions"`
	Clicks          fbNumber   `json:"clicks"`
	Actions         []fbAction `json:"actions"`
	ActionValues    []fbAction `json:"action_values"`
}

// Insights returns daily rows of one ad account at one level. A query too
// large for a synchronous call runs as an async report.
func (f *FacebookClient) Insights(ctx context.Context, cred Credentials, q InsightsQuery) ([]InsightRow, error) {
	if cred.Kind != KindAdAccount {
		return nil, Unsupported(Facebook, "insights for a "+cred.Kind)
	}
	ids, ok := fbLevelFields[q.Level]
	if !ok || cred.AccountRef == "" || q.Since.IsZero() || q.Until.Before(q.Since) {
		return nil, &Error{Platform: Facebook, Kind: KindInvalidRequest, Message: "insights need an account, a level and since <= until"}
	}
	rng, _ := json.Marshal(map[string]string{"since": q.Since.Format(time.DateOnly), "until": q.Until.Format(time.DateOnly)})
	params := url.Values{
		"level":          {string(q.Level)},
		"time_range":     {string(rng)},
		"time_increment": {"1"},
		"fields":         {"spend,impressions,clicks,actions,action_values,account_currency," + ids[0] + "," + ids[1]},
		"limit":          {"500"},
	}
	edge := url.PathEscape(cred.AccountRef) + "/insights"
	req := fbReq{method: http.MethodGet, path: edge, params: params, token: cred.AccessToken, scope: cred.AccountRef}
	raw, err := fbPages[fbInsight](ctx, f, req)
	if KindOf(err) == KindTooLarge {
		raw, err = f.asyncInsights(ctx, req)
	}
	if err != nil {
		return nil, err
	}
	conv := q.ConversionActions
	if len(conv) == 0 {
		conv = DefaultConversionActions
	}
	rows := make([]InsightRow, 0, len(raw))
	for _, r := range raw {
		row, err := r.row(q.Level, conv)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// asyncInsights starts a report run with the same parameters, polls it to
// completion and pages through its result.
func (f *FacebookClient) asyncInsights(ctx context.Context, req fbReq) ([]fbInsight, error) {
	var run struct {
		ID string `json:"report_run_id"`
	}
	post := req
	post.method = http.MethodPost
	// One try: a retry after a lost answer would start a second report run.
	if err := f.gate.check(post.scope, f.now()); err != nil {
		return nil, err
	}
	if err := f.once(ctx, post, &run); err != nil {
		return nil, err
	}
	if run.ID == "" {
		return nil, &Error{Platform: Facebook, Kind: KindTransient, Message: "report run returned no id"}
	}
	pctx, cancel := context.WithTimeout(ctx, f.PollTimeout)
	defer cancel()
	for {
		var st struct {
			Status string `json:"async_status"`
		}
		err := f.do(pctx, fbReq{method: http.MethodGet, path: url.PathEscape(run.ID), token: req.token, scope: req.scope}, &st)
		if err == nil {
			switch st.Status {
			case "Job Completed":
				return fbPages[fbInsight](ctx, f, fbReq{method: http.MethodGet, path: url.PathEscape(run.ID) + "/insights",
					token: req.token, scope: req.scope, params: url.Values{"limit": {"500"}}})
			case "Job Failed", "Job Skipped":
				return nil, &Error{Platform: Facebook, Kind: KindTransient, Message: "report run ended: " + st.Status}
			}
			err = fbSleep(pctx, f.PollInterval)
		}
		if err != nil {
			if ctx.Err() == nil && errors.Is(pctx.Err(), context.DeadlineExceeded) {
				return nil, &Error{Platform: Facebook, Kind: KindTransient, Message: fmt.Sprintf("report run did not finish within %s", f.PollTimeout), Err: err}
			}
			return nil, err
		}
	}
}

// fbSleep waits d or until ctx ends.
func fbSleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// row normalises one Graph insight.
func (r fbInsight) row(level Level, conv []string) (InsightRow, error) {
	day, err := time.Parse(time.DateOnly, r.DateStart)
	if err != nil {
		return InsightRow{}, fbBadMetric("date_start", r.DateStart)
	}
	row := InsightRow{Level: level, Date: day, Currency: r.AccountCurrency}
	switch level {
	case LevelAccount:
		row.EntityID, row.EntityName = "act_"+r.AccountID, r.AccountName
	case LevelCampaign:
		row.EntityID, row.EntityName = r.CampaignID, r.CampaignName
	case LevelAdSet:
		row.EntityID, row.EntityName = r.AdSetID, r.AdSetName
	case LevelAd:
		row.EntityID, row.EntityName = r.AdID, r.AdName
	}
	if row.Spend, err = r.Spend.decimal("spend"); err != nil {
		return row, err
	}
	if row.Impressions, err = r.Impressions.int("impressions"); err != nil {
		return row, err
	}
	if row.Clicks, err = r.Clicks.int("clicks"); err != nil {
		return row, err
	}
	if row.Conversions, err = fbSumActions(r.Actions, conv, "actions"); err != nil {
		return row, err
	}
	if row.Revenue, err = fbSumActions(r.ActionValues, conv, "action_values"); err != nil {
		return row, err
	}
	row.Derive()
	return row, nil
}

func fbSumActions(actions []fbAction, types []string, field string) (decimal.Decimal, error) {
	sum := decimal.Zero
	for _, a := range actions {
		if !slices.Contains(types, a.ActionType) {
			continue
		}
		v, err := a.Value.decimal(field + "." + a.ActionType)
		if err != nil {
			return sum, err
		}
		sum = sum.Add(v)
	}
	return sum, nil
}

func (n fbNumber) decimal(field string) (decimal.Decimal, error) {
	if n == "" {
		return decimal.Zero, nil
	}
	d, err := decimal.NewFromString(string(n))
	if err != nil {
		return d, fbBadMetric(field, string(n))
	}
	return d, nil
}

func (n fbNumber) int(field string) (int64, error) {
	if n == "" {
		return 0, nil
	}
	v, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		return 0, fbBadMetric(field, string(n))
	}
	return v, nil
}

// fbBadMetric: the platform sent something that is not a number. Retrying
// would get the same answer, so it is not transient.
func fbBadMetric(field, value string) error {
	if len(value) > 40 {
		value = value[:40] + "…"
	}
	return &Error{Platform: Facebook, Kind: KindInvalidRequest, Message: fmt.Sprintf("insights field %s: malformed value %q", field, value)}
}
