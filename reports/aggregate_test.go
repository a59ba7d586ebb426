package reports

import (
	"testing"

	"github.com/shopspring/decimal"

	"adpilot/platforms"
)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// row builds one day of one entity; money as strings so the sums are exact.
func row(id, date, spend string, imps, clicks int64, conv, rev string) platforms.InsightRow {
	return platforms.InsightRow{
		Level: platforms.LevelCampaign, EntityID: id, EntityName: "Campaign " + id,
		Date: day(date), Currency: "USD", Spend: dec(spend), Impressions: imps, Clicks: clicks,
		Conversions: dec(conv), Revenue: dec(rev),
	}
}

func eq(t *testing.T, what string, got decimal.Decimal, want string) {
	t.Helper()
	if !got.Equal(dec(want)) {
		t.Errorf("%s = %s, want %s", what, got, want)
	}
}

func TestSumDerivesRatiosFromSums(t *testing.T) {
	rows := []platforms.InsightRow{
		row("a", "2024-05-01", "10.00", 1000, 1, "1", "30.00"),
		row("a", "2024-05-02", "90.00", 3000, 99, "3", "150.00"),
	}
	tot := Sum(rows)
	want := map[string]string{
		Spend: "100", Impressions: "4000", Clicks: "100", Conversions: "4", Revenue: "180",
		CTR: "2.5", // 100 / 4000 * 100, not the mean of 0.1% and 3.3%
		CPC: "1", CPM: "25", CPA: "25", ROAS: "1.8",
	}
	for m, w := range want {
		eq(t, m, tot.Metric(m), w)
		if !tot.Defined(m) {
			t.Errorf("%s undefined", m)
		}
	}
	if tot.Currency != "USD" {
		t.Errorf("currency %q", tot.Currency)
	}
	eq(t, "unknown", tot.Metric("likes"), "0")
	// Rounded to 4 places like Derive: 10 / 3 conversions.
	eq(t, "cpa one day", Sum(rows[:1]).Metric(CPA), "10")
	three := Totals{Spend: dec("10"), Conversions: dec("3")}
	eq(t, "cpa 10/3", three.Metric(CPA), "3.3333")
}

func TestZeroDenominators(t *testing.T) {
	var z Totals
	for _, m := range []string{CTR, CPC, CPM, CPA, ROAS} {
		eq(t, m, z.Metric(m), "0")
		if z.Defined(m) {
			t.Errorf("%s defined on zero totals", m)
		}
	}
	if !z.Defined(Spend) || z.Defined("likes") {
		t.Error("base metrics are always defined, unknown never")
	}
}

func TestValueMatchesDerive(t *testing.T) {
	r := row("a", "2024-05-01", "12.34", 4567, 89, "7", "50.00")
	d := r
	d.Derive()
	pairs := map[string]decimal.Decimal{CTR: d.CTR, CPC: d.CPC, CPM: d.CPM, CPA: d.CostPerConversion, ROAS: d.ROAS}
	for m, want := range pairs {
		if got := Value(r, m); !got.Equal(want) {
			t.Errorf("%s: Value %s, Derive %s", m, got, want)
		}
	}
	eq(t, "spend", Value(r, Spend), "12.34")
	eq(t, "impressions", Value(r, Impressions), "4567")
}

func TestMetricNames(t *testing.T) {
	if len(Metrics) != 10 {
		t.Fatalf("%d metrics", len(Metrics))
	}
	for _, m := range Metrics {
		if !ValidMetric(m) || Label(m) == m {
			t.Errorf("%s: valid %v label %q", m, ValidMetric(m), Label(m))
		}
	}
	if Label(CPA) != "CPA" || Label(ROAS) != "ROAS" || Label(Spend) != "Spend" || Label("x") != "x" || ValidMetric("x") {
		t.Error("labels")
	}
}

func TestCurrency(t *testing.T) {
	usd := row("a", "2024-05-01", "1", 0, 0, "0", "0")
	eur := usd
	eur.Currency = "EUR"
	none := usd
	none.Currency = ""
	tests := []struct {
		name string
		rows []platforms.InsightRow
		want string
	}{
		{"empty", nil, ""},
		{"common", []platforms.InsightRow{usd, usd}, "USD"},
		{"blank ignored", []platforms.InsightRow{none, usd}, "USD"},
		{"mixed", []platforms.InsightRow{usd, eur, usd}, MixedCurrency},
	}
	for _, tt := range tests {
		if got := Sum(tt.rows).Currency; got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestByEntityAndTop(t *testing.T) {
	rows := []platforms.InsightRow{
		row("b", "2024-05-01", "50", 1000, 10, "2", "0"),
		row("a", "2024-05-01", "30", 1000, 10, "1", "0"),
		row("a", "2024-05-02", "20", 1000, 10, "1", "0"),
		row("c", "2024-05-01", "80", 1000, 10, "0", "0"),
		row("d", "2024-05-02", "5", 100, 1, "1", "0"),
	}
	renamed := row("b", "2024-05-02", "0", 0, 0, "0", "0")
	renamed.EntityName = "New name"
	rows = append(rows, renamed)

	ents := ByEntity(rows)
	ids := func(es []EntityTotals) (s string) {
		for _, e := range es {
			s += e.EntityID
		}
		return s
	}
	// c 80, then a and b tie on 50: id order.
	if got := ids(ents); got != "cabd" {
		t.Fatalf("ByEntity order %s", got)
	}
	eq(t, "a spend", ents[1].Spend, "50")
	if ents[2].EntityName != "New name" {
		t.Errorf("name %q, want the latest", ents[2].EntityName)
	}

	tests := []struct {
		by   string
		n    int
		want string
	}{
		{Spend, 2, "ca"},
		{Spend, 10, "cabd"},
		{Spend, 0, ""},
		{CPA, 4, "abdc"},       // a 25, b 25 (tie: id), d 5, c undefined (0) last
		{Conversions, 1, "a"},  // a 2, b 2: tie → id
		{CPM, 4, "cbda"},       // cost metric, still highest first: c 80, b 50, d 50, a 25
		{"unknown", 4, "abcd"}, // all zero: id order
	}
	for _, tt := range tests {
		if got := ids(Top(ents, tt.by, tt.n)); got != tt.want {
			t.Errorf("Top(%s, %d) = %q, want %q", tt.by, tt.n, got, tt.want)
		}
	}
	if ids(ents) != "cabd" {
		t.Error("Top modified its input")
	}
}

func TestByDayAndFilled(t *testing.T) {
	rows := []platforms.InsightRow{
		row("a", "2024-05-03", "3", 0, 0, "0", "0"),
		row("a", "2024-05-01", "1", 0, 0, "0", "0"),
		row("b", "2024-05-01", "2", 0, 0, "0", "0"),
		row("a", "2024-04-30", "9", 0, 0, "0", "0"), // outside the period below
	}
	byDay := ByDay(rows)
	if len(byDay) != 3 || !byDay[0].Date.Equal(day("2024-04-30")) || !byDay[2].Date.Equal(day("2024-05-03")) {
		t.Fatalf("ByDay = %+v", byDay)
	}
	eq(t, "May 1", byDay[1].Spend, "3")

	filled := ByDayFilled(rows, Period{Last7d, day("2024-05-01"), day("2024-05-04")})
	want := []string{"3", "0", "3", "0"}
	if len(filled) != len(want) {
		t.Fatalf("%d days, want %d", len(filled), len(want))
	}
	for i, w := range want {
		if d := day("2024-05-01").AddDate(0, 0, i); !filled[i].Date.Equal(d) {
			t.Errorf("day %d is %s", i, filled[i].Date)
		}
		eq(t, filled[i].Date.Format(dateOnly), filled[i].Spend, w)
		if filled[i].Currency != "USD" {
			t.Errorf("day %d currency %q", i, filled[i].Currency)
		}
	}
}

func TestChange(t *testing.T) {
	tests := []struct {
		cur, prev, want string
		ok              bool
	}{
		{"125", "100", "25", true},
		{"75", "100", "-25", true},
		{"100", "100", "0", true},
		{"1", "3", "-66.7", true},
		{"2", "3", "-33.3", true},
		{"10.05", "10", "0.5", true},
		{"5", "0", "0", false},
		{"0", "0", "0", false},
		{"0", "20", "-100", true},
		{"-5", "-10", "50", true},
	}
	for _, tt := range tests {
		got, ok := Change(dec(tt.cur), dec(tt.prev))
		if ok != tt.ok || !got.Equal(dec(tt.want)) {
			t.Errorf("Change(%s, %s) = %s, %v; want %s, %v", tt.cur, tt.prev, got, ok, tt.want, tt.ok)
		}
	}
}
