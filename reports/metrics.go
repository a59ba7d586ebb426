package reports

import (
	"github.com/shopspring/decimal"

	"adpilot/platforms"
)

// Public metric names, as used in automation configs and webhook payloads.
const (
	Spend       = "spend"
	Impressions = "impressions"
	Clicks      = "clicks"
	CTR         = "ctr" // percent: clicks / impressions * 100
	CPC         = "cpc" // spend / clicks
	CPM         = "cpm" // spend / impressions * 1000
	Conversions = "conversions"
	CPA         = "cpa" // cost per conversion: spend / conversions
	Revenue     = "revenue"
	ROAS        = "roas" // revenue / spend
)

// Metrics are the valid metric names, in display order.
var Metrics = []string{Spend, Impressions, Clicks, CTR, CPC, CPM, Conversions, CPA, Revenue, ROAS}

var labels = map[string]string{
	Spend: "Spend", Impressions: "Impressions", Clicks: "Clicks", CTR: "CTR", CPC: "CPC",
	CPM: "CPM", Conversions: "Conversions", CPA: "CPA", Revenue: "Revenue", ROAS: "ROAS",
}

// MixedCurrency is Totals.Currency when rows in more than one currency were
// summed; the money sums are then meaningless and should not be shown.
const MixedCurrency = "mixed"

// ratioPlaces matches platforms.InsightRow.Derive, so a one-row total and
// the row itself agree to the last digit.
const ratioPlaces = 4

var (
	hundred  = decimal.NewFromInt(100)
	thousand = decimal.NewFromInt(1000)
)

// ValidMetric reports whether name is one of Metrics.
func ValidMetric(name string) bool { _, ok := labels[name]; return ok }

// Label is the display name of a metric ("CPA", "Spend"); unknown names are
// returned unchanged.
func Label(metric string) string {
	if l, ok := labels[metric]; ok {
		return l
	}
	return metric
}

// Totals are summed base metrics. Ratios are derived from the sums on
// demand (never averaged across rows, which would weight a 1-click day like
// a 1,000-click day).
type Totals struct {
	Spend       decimal.Decimal
	Revenue     decimal.Decimal
	Conversions decimal.Decimal
	Impressions int64
	Clicks      int64
	// Currency is the rows' common currency, MixedCurrency when they
	// disagree, "" when no row named one. Rows without one are ignored.
	Currency string
}

// Add sums one row into t.
func (t *Totals) Add(r platforms.InsightRow) {
	t.Spend = t.Spend.Add(r.Spend)
	t.Revenue = t.Revenue.Add(r.Revenue)
	t.Conversions = t.Conversions.Add(r.Conversions)
	t.Impressions += r.Impressions
	t.Clicks += r.Clicks
	t.Currency = mergeCurrency(t.Currency, r.Currency)
}

func mergeCurrency(have, next string) string {
	switch {
	case next == "" || next == have:
		return have
	case have == "":
		return next
	}
	return MixedCurrency
}

// Metric is one metric of the totals; ratios are computed from the sums and
// are zero when their denominator is zero (see Defined). Unknown names give
// zero.
func (t Totals) Metric(name string) decimal.Decimal {
	div := func(a, b decimal.Decimal) decimal.Decimal {
		if b.IsZero() {
			return decimal.Zero
		}
		return a.DivRound(b, ratioPlaces)
	}
	imps, clicks := decimal.NewFromInt(t.Impressions), decimal.NewFromInt(t.Clicks)
	switch name {
	case Spend:
		return t.Spend
	case Impressions:
		return imps
	case Clicks:
		return clicks
	case CTR:
		return div(clicks.Mul(hundred), imps)
	case CPC:
		return div(t.Spend, clicks)
	case CPM:
		return div(t.Spend.Mul(thousand), imps)
	case Conversions:
		return t.Conversions
	case CPA:
		return div(t.Spend, t.Conversions)
	case Revenue:
		return t.Revenue
	case ROAS:
		return div(t.Revenue, t.Spend)
	}
	return decimal.Zero
}

// Defined is false for a ratio whose denominator is zero (cpa without
// conversions, ctr without impressions, …): Metric then says 0, which must
// not be read as "very cheap" by an alert. Base metrics are always defined.
func (t Totals) Defined(name string) bool {
	switch name {
	case CTR, CPM:
		return t.Impressions != 0
	case CPC:
		return t.Clicks != 0
	case CPA:
		return !t.Conversions.IsZero()
	case ROAS:
		return !t.Spend.IsZero()
	}
	return ValidMetric(name)
}

// Value is one metric of one row. Ratios are recomputed from the row's base
// metrics with the same formula as Derive, so rows need not be derived.
func Value(row platforms.InsightRow, metric string) decimal.Decimal {
	var t Totals
	t.Add(row)
	return t.Metric(metric)
}
