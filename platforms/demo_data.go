package platforms

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// The demo platform stores nothing: every account, entity and metric is a
// pure function of the tables below and hashes of (account ref, entity id,
// date), so two processes (web and jobs) always agree on the data.

// demoAccountSpec is one demo account's fixed character.
type demoAccountSpec struct {
	num, name, currency, timezone string
	aov                           float64    // value of one conversion (order, lead, paying install)
	weekday                       [7]float64 // spend multiplier by time.Weekday, Sunday first
	themes                        []string   // creative themes used in ad names
	campaigns                     []demoCampaignSpec
}

type demoCampaignSpec struct {
	name   string
	budget float64 // base daily spend in account currency
	adSets [2]string
}

var demoAccountSpecs = []demoAccountSpec{
	{num: "1001", name: "Demo Shop (USD)", currency: "USD", timezone: "America/New_York", aov: 64,
		// Shoppers buy at the weekend, so the shop spends more then.
		weekday: [7]float64{1.19, 0.97, 0.96, 0.97, 0.99, 1.04, 1.23},
		themes:  []string{"Summer Sale", "Free Shipping", "Bestsellers", "New Arrivals", "Gift Guide"},
		campaigns: []demoCampaignSpec{
			{"Prospecting – Broad", 320, [2]string{"US 18–65 – Broad", "US 25–54 – Advantage+"}},
			{"Retargeting – 30d", 140, [2]string{"Site visitors 30d", "Add to cart 14d"}},
			{"Lookalike 1%", 210, [2]string{"LAL 1% – Purchasers", "LAL 1% – High AOV"}},
			{"Brand Search", 60, [2]string{"Brand keywords", "Competitor keywords"}},
		}},
	{num: "1002", name: "Demo Leads EU", currency: "EUR", timezone: "Europe/Berlin", aov: 55,
		// B2B: decision makers are reached on weekdays.
		weekday: [7]float64{0.64, 1.08, 1.10, 1.08, 1.05, 0.93, 0.66},
		themes:  []string{"Whitepaper", "Case Study", "Free Demo", "Webinar", "ROI Calculator"},
		campaigns: []demoCampaignSpec{
			{"Lead Gen – Whitepaper", 180, [2]string{"DE Decision makers", "AT/CH Decision makers"}},
			{"Webinar Signups", 120, [2]string{"IT managers", "Job title – CTO"}},
			{"Retargeting – 30d", 70, [2]string{"Site visitors 30d", "Video viewers 50%"}},
		}},
	{num: "1003", name: "Demo App Installs", currency: "GBP", timezone: "Europe/London", aov: 42,
		weekday: [7]float64{1.12, 0.98, 0.96, 0.97, 0.99, 1.03, 1.14},
		themes:  []string{"Level Up", "Daily Rewards", "Gameplay", "Tutorial", "Season Pass"},
		campaigns: []demoCampaignSpec{
			{"App Installs – iOS", 260, [2]string{"UK iOS 18–34", "UK iOS 35+"}},
			{"App Installs – Android", 190, [2]string{"UK Android broad", "UK Android LAL 2%"}},
			{"Lookalike 1%", 110, [2]string{"LAL 1% – Payers", "LAL 1% – D7 retained"}},
			{"Re-engagement – Lapsed", 50, [2]string{"Lapsed 30d", "Lapsed 90d"}},
		}},
}

var demoFormats = []string{"Carousel", "Video 15s", "Single Image", "Collection", "Story", "UGC Video"}

// demoAccount is a spec expanded into its entity tree.
type demoAccount struct {
	spec                   demoAccountSpec
	ref                    string
	loc                    *time.Location
	campaigns, adSets, ads []demoNode // each sorted by id
	index                  map[string]*demoNode
}

// demoNode is one campaign, ad set or ad.
type demoNode struct {
	level            Level
	id, name, parent string
	campaign, adSet  int     // indexes of the owning campaign and ad set (ads)
	budget, phase    float64 // campaigns: base daily spend, phase of the slow trend
	// Ads: share of the campaign budget and their own auction rates.
	share, cpm, ctr, cvr float64
}

// Salts keep the streams of one (ref, id, day) independent.
const (
	demoSaltParams uint64 = iota + 1
	demoSaltDay
	demoSaltAnomaly
)

// demoWorld is built once; it is read-only afterwards.
var demoWorld = sync.OnceValue(func() []*demoAccount {
	accts := make([]*demoAccount, len(demoAccountSpecs))
	for i, spec := range demoAccountSpecs {
		accts[i] = buildDemoAccount(spec)
	}
	return accts
})

func demoAccountByRef(ref string) *demoAccount {
	for _, a := range demoWorld() {
		if a.ref == ref {
			return a
		}
	}
	return nil
}

func buildDemoAccount(spec demoAccountSpec) *demoAccount {
	loc, err := time.LoadLocation(spec.timezone)
	if err != nil { // cannot happen with time/tzdata linked in
		loc = time.UTC
	}
	a := &demoAccount{spec: spec, ref: "demo_act_" + spec.num, loc: loc, index: map[string]*demoNode{}}
	for ci, cs := range spec.campaigns {
		cid := fmt.Sprintf("demo_c_%s_%d", spec.num, ci+1)
		p := demoPCG(a.ref, cid, 0, demoSaltParams)
		cpm, ctr, cvr := 5+10*demoU(&p), 0.008+0.014*demoU(&p), 0.02+0.03*demoU(&p)
		a.campaigns = append(a.campaigns, demoNode{level: LevelCampaign, id: cid, name: cs.name, parent: a.ref,
			campaign: ci, adSet: -1, budget: cs.budget, phase: 2 * math.Pi * demoU(&p)})
		split := 0.35 + 0.3*demoU(&p)
		for si, sname := range cs.adSets {
			sid := fmt.Sprintf("demo_as_%s_%d_%d", spec.num, ci+1, si+1)
			setShare := split
			if si == 1 {
				setShare = 1 - split
			}
			a.adSets = append(a.adSets, demoNode{level: LevelAdSet, id: sid, name: sname, parent: cid, campaign: ci, adSet: len(a.adSets)})
			n := 2 + (ci+si)%2 // a mix of 2 and 3 ads per ad set
			weights, total := make([]float64, n), 0.0
			for k := range weights {
				weights[k] = 0.5 + demoU(&p)
				total += weights[k]
			}
			for k := range n {
				adID := fmt.Sprintf("demo_ad_%s_%d_%d_%d", spec.num, ci+1, si+1, k+1)
				ap := demoPCG(a.ref, adID, 0, demoSaltParams)
				name := fmt.Sprintf("%s – %s v%d", demoFormats[(si*3+k+ci)%len(demoFormats)],
					spec.themes[(ci+2*si+k)%len(spec.themes)], 1+(ci+k)%3)
				a.ads = append(a.ads, demoNode{level: LevelAd, id: adID, name: name, parent: sid,
					campaign: ci, adSet: len(a.adSets) - 1, share: setShare * weights[k] / total,
					cpm: cpm * (0.85 + 0.3*demoU(&ap)), ctr: ctr * (0.8 + 0.4*demoU(&ap)), cvr: cvr * (0.8 + 0.4*demoU(&ap))})
			}
		}
	}
	// Index only now: appends above may have moved the elements.
	for _, nodes := range [][]demoNode{a.campaigns, a.adSets, a.ads} {
		for i := range nodes {
			a.index[nodes[i].id] = &nodes[i]
		}
	}
	return a
}

// demoMetrics are one entity-day's additive metrics in integer units
// (cents for money), so that sums across levels are exact.
type demoMetrics struct {
	spendCents, impressions, clicks, conversions, revenueCents int64
}

func (m *demoMetrics) add(o demoMetrics) {
	m.spendCents += o.spendCents
	m.impressions += o.impressions
	m.clicks += o.clicks
	m.conversions += o.conversions
	m.revenueCents += o.revenueCents
}

// adDay generates one ad's metrics on day (days since 1970-01-01). scale is
// the elapsed fraction of a partial day (today), 1 otherwise.
func (a *demoAccount) adDay(ad *demoNode, day int64, scale float64) demoMetrics {
	c := &a.campaigns[ad.campaign]
	p := demoPCG(a.ref, ad.id, day, demoSaltDay)
	// Draw every number up front so the stream never depends on branches.
	nSpend, nCPM, nCTR, nCVR, nAOV := demoU(&p), demoU(&p), demoU(&p), demoU(&p), demoU(&p)
	rClicks, rConv := demoU(&p), demoU(&p)

	trend := 1 + 0.08*math.Sin(2*math.Pi*float64(day)/365.25+c.phase)
	spend := c.budget * ad.share * trend * (0.92 + 0.16*nSpend)
	cpm, ctr, cvr := ad.cpm*(0.92+0.16*nCPM), ad.ctr*(0.9+0.2*nCTR), ad.cvr*(0.85+0.3*nCVR)
	switch kind, factor := a.anomaly(c.id, day); kind {
	case "spike": // a runaway bid: spend ignores the weekly rhythm, buys junk traffic
		spend *= factor
		cpm, ctr, cvr = cpm*1.4, ctr*0.6, cvr*0.12
	case "drop": // delivery nearly stops (disapproval, payment issue)
		spend *= factor
	default:
		spend *= a.spec.weekday[demoWeekday(day)]
	}
	spend *= scale
	var m demoMetrics
	m.spendCents = int64(math.Round(spend * 100))
	m.impressions = int64(math.Round(float64(m.spendCents) / 100 / cpm * 1000))
	m.clicks = demoRound(float64(m.impressions)*ctr, rClicks)
	m.conversions = demoRound(float64(m.clicks)*cvr, rConv)
	m.revenueCents = int64(math.Round(float64(m.conversions) * a.spec.aov * (0.8 + 0.4*nAOV) * 100))
	return m
}

// anomaly says whether campaignID has a spike or a drop on day (about one
// day in 20 between them) and its spend factor.
func (a *demoAccount) anomaly(campaignID string, day int64) (string, float64) {
	p := demoPCG(a.ref, campaignID, day, demoSaltAnomaly)
	u, f := demoU(&p), demoU(&p)
	switch {
	case u < 0.025:
		return "spike", 2.2 + 0.8*f
	case u < 0.05:
		return "drop", 0.01 + 0.05*f
	}
	return "", 1
}

// DemoAnomaly reports the anomaly the demo data has on day for entityID (a
// campaign, or an ad set or ad, which share their campaign's): "spike",
// "drop" or "". It ignores the account's start, today and paused entities.
func DemoAnomaly(accountRef, entityID string, day time.Time) string {
	a := demoAccountByRef(accountRef)
	if a == nil {
		return ""
	}
	n := a.index[entityID]
	if n == nil {
		return ""
	}
	kind, _ := a.anomaly(a.campaigns[n.campaign].id, demoCivilDay(day))
	return kind
}

// demoPCG seeds a PCG from FNV-64a of (ref, id, day, salt), mixed by
// splitmix64 so that neighbouring days give unrelated streams.
func demoPCG(ref, id string, day int64, salt uint64) rand.PCG {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	for _, s := range [2]string{ref, id} {
		for i := 0; i < len(s); i++ {
			h = (h ^ uint64(s[i])) * prime
		}
		h = (h ^ 0xff) * prime // separator: ("ab","c") ≠ ("a","bc")
	}
	for _, v := range [2]uint64{uint64(day), salt} {
		for s := 0; s < 64; s += 8 {
			h = (h ^ (v>>s)&0xff) * prime
		}
	}
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return *rand.NewPCG(h, h^0x9e3779b97f4a7c15) // a value: no allocation per entity-day
}

// demoU is a uniform float in [0, 1).
func demoU(p *rand.PCG) float64 { return float64(p.Uint64()>>11) / (1 << 53) }

// demoRound rounds x up with probability of its fraction (u uniform), so
// small counts keep their expected value instead of always rounding to 0.
func demoRound(x, u float64) int64 {
	f := math.Floor(x)
	if u < x-f {
		f++
	}
	return int64(f)
}

// demoCivilDay is t's calendar date (in t's own location) as days since 1970-01-01.
func demoCivilDay(t time.Time) int64 {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

func demoWeekday(day int64) int { return int(((day+4)%7 + 7) % 7) } // 1970-01-01 was a Thursday
