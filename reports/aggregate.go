package reports

import (
	"cmp"
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"adpilot/platforms"
)

// Sum totals all rows.
func Sum(rows []platforms.InsightRow) Totals {
	var t Totals
	for _, r := range rows {
		t.Add(r)
	}
	return t
}

// EntityTotals are one entity's rows summed over all days.
type EntityTotals struct {
	EntityID   string
	EntityName string
	Totals
}

// ByEntity sums rows per entity, sorted by spend descending then id. The
// name is taken from the entity's latest row, since entities get renamed.
func ByEntity(rows []platforms.InsightRow) []EntityTotals {
	idx := map[string]int{}
	var out []EntityTotals
	latest := map[string]time.Time{}
	for _, r := range rows {
		i, ok := idx[r.EntityID]
		if !ok {
			i = len(out)
			idx[r.EntityID] = i
			out = append(out, EntityTotals{EntityID: r.EntityID})
		}
		out[i].Add(r)
		if r.EntityName != "" && !r.Date.Before(latest[r.EntityID]) {
			out[i].EntityName, latest[r.EntityID] = r.EntityName, r.Date
		}
	}
	slices.SortFunc(out, func(a, b EntityTotals) int {
		if c := b.Spend.Cmp(a.Spend); c != 0 {
			return c
		}
		return cmp.Compare(a.EntityID, b.EntityID)
	})
	return out
}

// Top returns the n entities with the highest value of metric, highest
// first, ties broken by id; n <= 0 returns none. Cost metrics (cpa, cpc,
// cpm) sort highest first too: the top of a report is where the money goes
// worst. An entity whose ratio is undefined (cpa without conversions) has
// value 0 and sorts last. The input is not modified.
func Top(entities []EntityTotals, by string, n int) []EntityTotals {
	if n <= 0 {
		return nil
	}
	out := slices.Clone(entities)
	slices.SortStableFunc(out, func(a, b EntityTotals) int {
		if c := b.Metric(by).Cmp(a.Metric(by)); c != 0 {
			return c
		}
		return cmp.Compare(a.EntityID, b.EntityID)
	})
	return out[:min(n, len(out))]
}

// DayTotals are all rows of one date summed.
type DayTotals struct {
	Date time.Time // UTC midnight of the account-local date
	Totals
}

// ByDay sums rows per date, in date order, with only the dates that have
// rows.
func ByDay(rows []platforms.InsightRow) []DayTotals {
	idx := map[time.Time]int{}
	var out []DayTotals
	for _, r := range rows {
		d := dateOf(r.Date)
		i, ok := idx[d]
		if !ok {
			i = len(out)
			idx[d] = i
			out = append(out, DayTotals{Date: d})
		}
		out[i].Add(r)
	}
	slices.SortFunc(out, func(a, b DayTotals) int { return a.Date.Compare(b.Date) })
	return out
}

// ByDayFilled is ByDay over every date of p, with zero totals on dates
// without rows (so a chart shows the gap instead of joining across it).
// Rows outside p are dropped. Zero days carry the rows' common currency.
func ByDayFilled(rows []platforms.InsightRow, p Period) []DayTotals {
	have := map[time.Time]DayTotals{}
	for _, d := range ByDay(rows) {
		have[d.Date] = d
	}
	currency := Sum(rows).Currency
	n := p.Days()
	out := make([]DayTotals, 0, n)
	for i := range n {
		d := days(dateOf(p.Since), i)
		t, ok := have[d]
		if !ok {
			t = DayTotals{Date: d, Totals: Totals{Currency: currency}}
		}
		out = append(out, t)
	}
	return out
}

// Change is the percentage change from prev to cur, rounded to 1 decimal
// (+25.0 means up a quarter). ok is false when prev is zero, where no
// percentage exists. A negative prev is measured against its magnitude so
// the sign still says up or down.
func Change(cur, prev decimal.Decimal) (pct decimal.Decimal, ok bool) {
	if prev.IsZero() {
		return decimal.Zero, false
	}
	return cur.Sub(prev).Mul(hundred).Div(prev.Abs()).Round(1), true
}
