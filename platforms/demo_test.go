package platforms

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// demoNow is a Wednesday afternoon: 11:30 in New York, 15:30 in London.
var demoNow = time.Date(2026, 3, 18, 15, 30, 0, 0, time.UTC)

const demoShop, demoLeads, demoApp = "demo_act_1001", "demo_act_1002", "demo_act_1003"

func newTestDemo(now time.Time) *DemoClient { return NewDemo(func() time.Time { return now }) }

func demoCred(ref string) Credentials {
	return Credentials{AccessToken: DemoToken(ref), AccountRef: ref, Kind: KindAdAccount}
}

func demoDay(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func demoRows(t testing.TB, c *DemoClient, ref string, level Level, since, until time.Time) []InsightRow {
	t.Helper()
	rows, err := c.Insights(context.Background(), demoCred(ref), InsightsQuery{Level: level, Since: since, Until: until})
	if err != nil {
		t.Fatalf("Insights(%s, %s): %v", ref, level, err)
	}
	return rows
}

func demoKey(r InsightRow) string {
	return fmt.Sprintf("%s %s %s %q %s %s %d %d %s %s %s %s %s %s %s", r.Level, r.Date.Format(time.DateOnly), r.EntityID, r.EntityName,
		r.Currency, r.Spend, r.Impressions, r.Clicks, r.CTR, r.CPC, r.CPM, r.Conversions, r.CostPerConversion, r.Revenue, r.ROAS)
}

func TestDemoDeterministic(t *testing.T) {
	a, b := newTestDemo(demoNow), newTestDemo(demoNow)
	for _, ref := range []string{demoShop, demoLeads, demoApp} {
		for _, level := range []Level{LevelAccount, LevelCampaign, LevelAdSet, LevelAd} {
			ra, rb := demoRows(t, a, ref, level, demoDay(2026, 2, 1), demoDay(2026, 3, 17)), demoRows(t, b, ref, level, demoDay(2026, 2, 1), demoDay(2026, 3, 17))
			if len(ra) == 0 || len(ra) != len(rb) {
				t.Fatalf("%s %s: %d vs %d rows", ref, level, len(ra), len(rb))
			}
			for i := range ra {
				if demoKey(ra[i]) != demoKey(rb[i]) {
					t.Fatalf("row %d differs:\n%s\n%s", i, demoKey(ra[i]), demoKey(rb[i]))
				}
			}
		}
	}
	// Golden figures: the data must not depend on the process, map order or
	// Go's global random source. Changing the model changes these on purpose.
	got := demoKey(demoRows(t, a, demoShop, LevelAccount, demoDay(2026, 3, 10), demoDay(2026, 3, 10))[0])
	if want := `account 2026-03-10 demo_act_1001 "Demo Shop (USD)" USD 665.23 66321 1225 1.8471 0.543 10.0305 50 13.3046 3061.08 4.6015`; got != want {
		t.Errorf("golden row changed:\n got %s\nwant %s", got, want)
	}
}

// Every level is the exact sum of the one below, today's partial day included.
func TestDemoLevelsSumExactly(t *testing.T) {
	c := newTestDemo(demoNow)
	for _, ref := range []string{demoShop, demoLeads, demoApp} {
		var sums map[string]InsightRow // date+parent id → sum of the level below
		for _, level := range []Level{LevelAd, LevelAdSet, LevelCampaign, LevelAccount} {
			rows := demoRows(t, c, ref, level, demoDay(2026, 2, 17), demoDay(2026, 3, 18))
			if want := 30 * len(c.Entities(ref, level)); len(rows) != want {
				t.Fatalf("%s %s: %d rows, want %d", ref, level, len(rows), want)
			}
			parentOf := map[string]string{}
			for _, e := range c.Entities(ref, level) {
				parentOf[e.ID] = e.ParentID
			}
			next := map[string]InsightRow{}
			for i, r := range rows {
				if i > 0 && (r.Date.Before(rows[i-1].Date) || r.Date.Equal(rows[i-1].Date) && r.EntityID <= rows[i-1].EntityID) {
					t.Fatalf("%s %s: rows out of order at %d", ref, level, i)
				}
				if r.Spend.Exponent() < -2 || r.Revenue.Exponent() < -2 {
					t.Fatalf("money not rounded to cents: %s", demoKey(r))
				}
				date := r.Date.Format(time.DateOnly)
				if s, ok := sums[date+r.EntityID]; sums != nil && (!ok || !s.Spend.Equal(r.Spend) || !s.Revenue.Equal(r.Revenue) ||
					!s.Conversions.Equal(r.Conversions) || s.Impressions != r.Impressions || s.Clicks != r.Clicks) {
					t.Fatalf("%s is not the sum of its children %+v", demoKey(r), s)
				}
				s := next[date+parentOf[r.EntityID]]
				s.Spend, s.Revenue, s.Conversions = s.Spend.Add(r.Spend), s.Revenue.Add(r.Revenue), s.Conversions.Add(r.Conversions)
				s.Impressions, s.Clicks = s.Impressions+r.Impressions, s.Clicks+r.Clicks
				next[date+parentOf[r.EntityID]] = s
			}
			sums = next
		}
	}
}

func TestDemoWeeklySeasonality(t *testing.T) {
	c := newTestDemo(demoNow)
	weekendRatio := func(ref string) float64 {
		var we, wd decimal.Decimal
		var nwe, nwd int64
		for _, r := range demoRows(t, c, ref, LevelAccount, demoDay(2025, 12, 22), demoDay(2026, 3, 15)) { // 12 weeks, Mon..Sun
			if wk := r.Date.Weekday(); wk == time.Saturday || wk == time.Sunday {
				we, nwe = we.Add(r.Spend), nwe+1
			} else {
				wd, nwd = wd.Add(r.Spend), nwd+1
			}
		}
		if nwe != 24 || nwd != 60 {
			t.Fatalf("%s: %d weekend and %d weekdays", ref, nwe, nwd)
		}
		r, _ := we.Div(decimal.NewFromInt(nwe)).Div(wd.Div(decimal.NewFromInt(nwd))).Float64()
		return r
	}
	shop, leads := weekendRatio(demoShop), weekendRatio(demoLeads)
	if shop < 1.1 {
		t.Errorf("shop weekend/weekday spend = %.3f, want > 1.1", shop)
	}
	if leads > 0.85 {
		t.Errorf("B2B leads weekend/weekday spend = %.3f, want < 0.85", leads)
	}
	t.Logf("weekend/weekday spend: shop %.3f, leads %.3f", shop, leads)
}

func TestDemoAnomalies(t *testing.T) {
	c := newTestDemo(demoNow)
	since, until := demoDay(2025, 12, 17), demoDay(2026, 3, 16) // 90 days
	for _, ref := range []string{demoShop, demoLeads, demoApp} {
		spend := map[string][]float64{}
		rows := demoRows(t, c, ref, LevelCampaign, since, until)
		for _, r := range rows {
			f, _ := r.Spend.Float64()
			spend[r.EntityID] = append(spend[r.EntityID], f)
		}
		median := map[string]float64{}
		for id, s := range spend {
			s = slices.Sorted(slices.Values(s))
			median[id] = s[len(s)/2]
		}
		count := map[string]int{}
		for _, r := range rows {
			kind := DemoAnomaly(ref, r.EntityID, r.Date)
			count[kind]++
			f, _ := r.Spend.Float64()
			conv, _ := r.Conversions.Float64()
			switch kind {
			case "spike":
				if f < 1.8*median[r.EntityID] || conv/float64(r.Clicks) > 0.015 {
					t.Errorf("%s %s %s spike: spend %.2f (median %.2f), %v conversions of %d clicks", ref, r.EntityID, r.Date.Format(time.DateOnly), f, median[r.EntityID], conv, r.Clicks)
				}
			case "drop":
				if f > 0.1*median[r.EntityID] {
					t.Errorf("%s %s %s drop: spend %.2f (median %.2f)", ref, r.EntityID, r.Date.Format(time.DateOnly), f, median[r.EntityID])
				}
			}
		}
		if count["spike"] == 0 || count["drop"] == 0 {
			t.Errorf("%s: %v anomalies in 90 days, want a spike and a drop", ref, count)
		}
		t.Logf("%s: %v", ref, count)
	}
	// Ad sets and ads share their campaign's anomalies.
	for d := since; !d.After(until); d = d.AddDate(0, 0, 1) {
		if a, b := DemoAnomaly(demoShop, "demo_c_1001_2", d), DemoAnomaly(demoShop, "demo_ad_1001_2_1_2", d); a != b {
			t.Fatalf("%s: campaign %q, its ad %q", d, a, b)
		}
	}
	if DemoAnomaly("nope", "demo_c_1001_2", since) != "" || DemoAnomaly(demoShop, "nope", since) != "" {
		t.Error("unknown account or entity has an anomaly")
	}
}

func TestDemoTodayAndFuture(t *testing.T) {
	// 02:00 UTC on the 18th is still the 17th in New York: no row for the 18th.
	c := newTestDemo(time.Date(2026, 3, 18, 2, 0, 0, 0, time.UTC))
	rows := demoRows(t, c, demoShop, LevelAccount, demoDay(2026, 3, 1), demoDay(2026, 4, 30))
	if last := rows[len(rows)-1].Date; !last.Equal(demoDay(2026, 3, 17)) {
		t.Fatalf("last row %s, want 2026-03-17 (today in New York)", last)
	}
	if rows := demoRows(t, c, demoApp, LevelAccount, demoDay(2026, 3, 1), demoDay(2026, 4, 30)); !rows[len(rows)-1].Date.Equal(demoDay(2026, 3, 18)) {
		t.Fatalf("London's today is the 18th, last row %s", rows[len(rows)-1].Date)
	}
	if rows := demoRows(t, c, demoShop, LevelAd, demoDay(2026, 3, 18), demoDay(2026, 3, 20)); len(rows) != 0 {
		t.Fatalf("%d future rows", len(rows))
	}
	// No data before the account's start, 400 days before today.
	rows = demoRows(t, c, demoShop, LevelAccount, demoDay(2025, 1, 1), demoDay(2025, 3, 1))
	if first := rows[0].Date; !first.Equal(demoDay(2026, 3, 17).AddDate(0, 0, -400)) {
		t.Fatalf("first row %s", first)
	}

	// Today is the elapsed part of the day: at 11:30 in New York, 11.5/24 of it.
	partial := demoRows(t, newTestDemo(demoNow), demoShop, LevelAccount, demoDay(2026, 3, 18), demoDay(2026, 3, 18))
	full := demoRows(t, newTestDemo(demoNow.Add(24*time.Hour)), demoShop, LevelAccount, demoDay(2026, 3, 18), demoDay(2026, 3, 18))
	if len(partial) != 1 || len(full) != 1 {
		t.Fatalf("%d and %d rows for today", len(partial), len(full))
	}
	ratio, _ := partial[0].Spend.Div(full[0].Spend).Float64()
	if want := 11.5 / 24; ratio < want-0.005 || ratio > want+0.005 {
		t.Errorf("today's spend is %.4f of the full day, want %.4f", ratio, want)
	}
}

func TestDemoRequestErrors(t *testing.T) {
	c, ctx := newTestDemo(demoNow), context.Background()
	q := func(level Level, since, until time.Time) InsightsQuery {
		return InsightsQuery{Level: level, Since: since, Until: until}
	}
	for name, tc := range map[string]struct {
		cred Credentials
		q    InsightsQuery
		kind Kind
	}{
		"until before since": {demoCred(demoShop), q(LevelAd, demoDay(2026, 3, 2), demoDay(2026, 3, 1)), KindInvalidRequest},
		"401 days":           {demoCred(demoShop), q(LevelAd, demoDay(2025, 1, 1), demoDay(2025, 1, 1).AddDate(0, 0, 400)), KindInvalidRequest},
		"bad level":          {demoCred(demoShop), q("creative", demoDay(2026, 3, 1), demoDay(2026, 3, 1)), KindInvalidRequest},
		"empty level":        {demoCred(demoShop), q("", demoDay(2026, 3, 1), demoDay(2026, 3, 1)), KindInvalidRequest},
		"unknown account":    {Credentials{AccountRef: "act_1", AccessToken: DemoToken("act_1")}, q(LevelAd, demoDay(2026, 3, 1), demoDay(2026, 3, 1)), KindInvalidRequest},
		"other's token":      {Credentials{AccountRef: demoShop, AccessToken: DemoToken(demoLeads)}, q(LevelAd, demoDay(2026, 3, 1), demoDay(2026, 3, 1)), KindTokenInvalid},
		"no token":           {Credentials{AccountRef: demoShop}, q(LevelAd, demoDay(2026, 3, 1), demoDay(2026, 3, 1)), KindTokenInvalid},
	} {
		if _, err := c.Insights(ctx, tc.cred, tc.q); KindOf(err) != tc.kind {
			t.Errorf("%s: err %v, want %s", name, err, tc.kind)
		}
	}
	if rows, err := c.Insights(ctx, demoCred(demoShop), q(LevelAccount, demoDay(2026, 3, 18).AddDate(0, 0, -399), demoDay(2026, 3, 18))); err != nil || len(rows) != 400 {
		t.Errorf("400 days: %d rows, %v", len(rows), err)
	}
}

func TestDemoRatiosAndRealism(t *testing.T) {
	c := newTestDemo(demoNow)
	div := func(a, b decimal.Decimal) decimal.Decimal { return a.DivRound(b, 4) }
	for _, r := range demoRows(t, c, demoLeads, LevelCampaign, demoDay(2026, 2, 15), demoDay(2026, 3, 16)) {
		if DemoAnomaly(demoLeads, r.EntityID, r.Date) != "" {
			continue // a drop may have no clicks at all
		}
		imp, clk := decimal.NewFromInt(r.Impressions), decimal.NewFromInt(r.Clicks)
		if r.Impressions == 0 || r.Clicks == 0 {
			t.Fatalf("no delivery: %s", demoKey(r))
		}
		if !r.CTR.Equal(div(clk.Mul(hundred), imp)) || !r.CPC.Equal(div(r.Spend, clk)) || !r.CPM.Equal(div(r.Spend.Mul(thousand), imp)) ||
			(!r.Conversions.IsZero() && !r.CostPerConversion.Equal(div(r.Spend, r.Conversions))) || !r.ROAS.Equal(div(r.Revenue, r.Spend)) {
			t.Fatalf("ratios not derived: %s", demoKey(r))
		}
		cpm, _ := r.CPM.Float64()
		ctr, _ := r.CTR.Float64()
		if cpm < 4 || cpm > 18 || ctr < 0.6 || ctr > 3.2 {
			t.Errorf("unrealistic CPM %.2f or CTR %.2f%%: %s", cpm, ctr, demoKey(r))
		}
	}
}

func TestDemoSetStatus(t *testing.T) {
	c, ctx := newTestDemo(demoNow), context.Background()
	const camp = "demo_c_1001_1"
	if err := c.SetStatus(ctx, demoCred(demoShop), LevelCampaign, camp, false); err != nil {
		t.Fatal(err)
	}
	for _, level := range []Level{LevelCampaign, LevelAdSet, LevelAd} {
		for _, r := range demoRows(t, c, demoShop, level, demoDay(2026, 3, 17), demoDay(2026, 3, 18)) {
			under := r.EntityID == camp || strings.HasPrefix(r.EntityID, "demo_as_1001_1_") || strings.HasPrefix(r.EntityID, "demo_ad_1001_1_")
			if zero := r.Spend.IsZero() && r.Impressions == 0; under && r.Date.Equal(demoDay(2026, 3, 18)) != zero || !under && zero {
				t.Errorf("after pausing %s: %s", camp, demoKey(r))
			}
		}
	}
	if e := c.Entities(demoShop, LevelCampaign); e[0].ID != camp || e[0].Status != "paused" || e[1].Status != "active" {
		t.Errorf("entities: %+v", e)
	}
	if err := c.SetStatus(ctx, demoCred(demoShop), LevelCampaign, camp, true); err != nil {
		t.Fatal(err)
	}
	if r := demoRows(t, c, demoShop, LevelCampaign, demoDay(2026, 3, 18), demoDay(2026, 3, 18)); r[0].Spend.IsZero() {
		t.Errorf("activated campaign still has no spend: %s", demoKey(r[0]))
	}
	// Pausing is per client: another client still delivers.
	if r := demoRows(t, newTestDemo(demoNow), demoShop, LevelCampaign, demoDay(2026, 3, 18), demoDay(2026, 3, 18)); r[0].Spend.IsZero() {
		t.Errorf("a fresh client's campaign has no spend: %s", demoKey(r[0]))
	}
	for name, tc := range map[string]struct {
		level Level
		id    string
		kind  Kind
	}{
		"unknown id":   {LevelAd, "demo_ad_1001_9_9_9", KindInvalidRequest},
		"wrong level":  {LevelAdSet, camp, KindInvalidRequest},
		"other acct":   {LevelCampaign, "demo_c_1002_1", KindInvalidRequest},
		"account":      {LevelAccount, demoShop, KindUnsupported},
		"silly level":  {"creative", camp, KindInvalidRequest},
		"valid ad set": {LevelAdSet, "demo_as_1001_2_1", 0},
	} {
		if err := c.SetStatus(ctx, demoCred(demoShop), tc.level, tc.id, false); KindOf(err) != tc.kind {
			t.Errorf("%s: %v, want kind %d", name, err, tc.kind)
		}
	}
}

func TestDemoTokensAndAccounts(t *testing.T) {
	c, ctx := newTestDemo(demoNow), context.Background()
	accts := c.DemoAccounts()
	if len(accts) != 3 || accts[0].Ref != demoShop || accts[0].Currency != "USD" || accts[1].Timezone != "Europe/Berlin" ||
		accts[2].Meta["demo"] != true || accts[2].Meta["account_status"] != 1 || accts[0].Kind != KindAdAccount || accts[0].AccessToken != DemoToken(demoShop) {
		t.Fatalf("demo accounts: %+v", accts)
	}
	if got, err := c.Accounts(ctx, DemoToken(demoLeads)); err != nil || len(got) != 3 {
		t.Errorf("Accounts: %v, %v", got, err)
	}
	if _, err := c.Accounts(ctx, "EAAB-real-facebook-token"); !IsTokenInvalid(err) {
		t.Errorf("Accounts with a foreign token: %v", err)
	}
	if ti, err := c.TokenInfo(ctx, demoCred(demoApp)); err != nil || !ti.Valid || !ti.ExpiresAt.IsZero() || !slices.Equal(ti.Scopes, []string{"demo"}) {
		t.Errorf("TokenInfo: %+v, %v", ti, err)
	}
	if ti, err := c.TokenInfo(ctx, Credentials{AccountRef: demoApp, AccessToken: DemoToken(demoShop)}); err != nil || ti.Valid || ti.Reason == "" {
		t.Errorf("TokenInfo of another account's token: %+v, %v", ti, err)
	}
	if _, err := c.CreatorStats(ctx, demoCred(demoShop)); KindOf(err) != KindUnsupported {
		t.Errorf("CreatorStats: %v", err)
	}
	if _, err := c.Refresh(ctx, "x"); KindOf(err) != KindUnsupported {
		t.Errorf("Refresh: %v", err)
	}
	if c.Name() != Demo || c.Revoke(ctx, demoCred(demoShop)) != nil {
		t.Error("Name or Revoke")
	}
	for _, a := range accts {
		camps := c.Entities(a.Ref, LevelCampaign)
		sets, ads := c.Entities(a.Ref, LevelAdSet), c.Entities(a.Ref, LevelAd)
		if len(camps) < 3 || len(camps) > 4 || len(sets) != 2*len(camps) || len(ads) < 2*len(sets) || len(ads) > 3*len(sets) {
			t.Errorf("%s: %d campaigns, %d ad sets, %d ads", a.Ref, len(camps), len(sets), len(ads))
		}
		t.Logf("%s: %v / %v / %v", a.Ref, camps[0], sets[0], ads[0])
	}
}

// The client is shared by requests and jobs.
func TestDemoConcurrent(t *testing.T) {
	c := newTestDemo(demoNow)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			_ = c.SetStatus(context.Background(), demoCred(demoShop), LevelAd, "demo_ad_1001_1_1_1", i%2 == 0)
			demoRows(t, c, demoShop, LevelAdSet, demoDay(2026, 3, 10), demoDay(2026, 3, 18))
			c.Entities(demoShop, LevelAd)
		})
	}
	wg.Wait()
}

func BenchmarkDemoInsights30dAd(b *testing.B) {
	c := newTestDemo(demoNow)
	for b.Loop() {
		demoRows(b, c, demoShop, LevelAd, demoDay(2026, 2, 17), demoDay(2026, 3, 18))
	}
}
