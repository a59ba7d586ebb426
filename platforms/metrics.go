package platforms

import "github.com/shopspring/decimal"

var (
	hundred  = decimal.NewFromInt(100)
	thousand = decimal.NewFromInt(1000)
)

// Derive fills the ratio metrics (CTR, CPC, CPM, cost per conversion, ROAS)
// from the base ones, so every platform computes them the same way. A ratio
// with a zero denominator is zero. Ratios keep 4 decimal places.
func (r *InsightRow) Derive() {
	div := func(a, b decimal.Decimal) decimal.Decimal {
		if b.IsZero() {
			return decimal.Zero
		}
		return a.DivRound(b, 4)
	}
	impressions := decimal.NewFromInt(r.Impressions)
	clicks := decimal.NewFromInt(r.Clicks)
	r.CTR = div(clicks.Mul(hundred), impressions)
	r.CPC = div(r.Spend, clicks)
	r.CPM = div(r.Spend.Mul(thousand), impressions)
	r.CostPerConversion = div(r.Spend, r.Conversions)
	r.ROAS = div(r.Revenue, r.Spend)
}
