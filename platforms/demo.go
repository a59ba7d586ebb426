package platforms

import (
	"context"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // the demo accounts' zones must resolve on any host

	"github.com/shopspring/decimal"
)

const (
	demoTokenPrefix = "demo-token-"
	demoHistoryDays = 400 // an account's data starts this many days before today
	demoMaxRange    = 400 // longest Insights range, in days, both ends included
)

// DemoClient is the built-in demo platform: three ad accounts with
// deterministic, realistic data, so every feature can be tried without a
// Facebook or TikTok app. It links without OAuth (it is not a Connector).
// It is safe for concurrent use.
type DemoClient struct {
	now func() time.Time

	mu sync.Mutex
	// paused maps a paused entity id to the account-local day (days since
	// 1970-01-01) it was paused on; it and its children deliver nothing from
	// that day on. Activating deletes the entry, which restores the
	// generated data of those days too: the demo keeps no history.
	paused map[string]int64
}

var _ Client = (*DemoClient)(nil)

// NewDemo returns a demo client reading the time from now (nil: time.Now).
func NewDemo(now func() time.Time) *DemoClient {
	if now == nil {
		now = time.Now
	}
	return &DemoClient{now: now, paused: map[string]int64{}}
}

// DemoToken is the pseudo access token of a demo account row. The client
// accepts nothing else for that account, so the token checks of callers run
// for demo connections too.
func DemoToken(accountRef string) string { return demoTokenPrefix + accountRef }

// DemoEntity is one campaign, ad set or ad of a demo account (or the account
// itself at LevelAccount).
type DemoEntity struct {
	ID, Name, ParentID string
	Status             string // the entity's own status: "active" or "paused"
}

func (d *DemoClient) Name() string { return Demo }

// DemoAccounts are the accounts a tenant gets from "Connect demo account".
// Each carries its own AccessToken (its DemoToken).
func (d *DemoClient) DemoAccounts() []Account {
	world := demoWorld()
	out := make([]Account, len(world))
	for i, a := range world {
		out[i] = Account{Ref: a.ref, Name: a.spec.name, Kind: KindAdAccount, Currency: a.spec.currency,
			Timezone: a.spec.timezone, Status: "active", AccessToken: DemoToken(a.ref),
			Meta: map[string]any{"currency": a.spec.currency, "timezone_name": a.spec.timezone, "account_status": 1, "demo": true}}
	}
	return out
}

// Accounts lists every demo account for the token of any of them.
func (d *DemoClient) Accounts(ctx context.Context, token string) ([]Account, error) {
	ref, ok := strings.CutPrefix(token, demoTokenPrefix)
	if !ok || demoAccountByRef(ref) == nil {
		return nil, demoBadToken()
	}
	return d.DemoAccounts(), nil
}

func demoBadToken() error {
	return &Error{Platform: Demo, Kind: KindTokenInvalid, Code: "invalid_token", Message: "not a valid demo token for this account"}
}

func demoInvalid(msg string) error {
	return &Error{Platform: Demo, Kind: KindInvalidRequest, Message: msg}
}

// account checks cred and returns its demo account.
func (d *DemoClient) account(cred Credentials) (*demoAccount, error) {
	a := demoAccountByRef(cred.AccountRef)
	if a == nil {
		return nil, demoInvalid("unknown demo account")
	}
	if cred.AccessToken != DemoToken(a.ref) {
		return nil, demoBadToken()
	}
	return a, nil
}

// today is the account-local day of now() and the elapsed fraction of it.
func (d *DemoClient) today(a *demoAccount) (int64, float64) {
	now := d.now().In(a.loc)
	y, m, day := now.Date()
	midnight := time.Date(y, m, day, 0, 0, 0, 0, a.loc)
	next := time.Date(y, m, day+1, 0, 0, 0, 0, a.loc) // 23 or 25 hours away on DST days
	return demoCivilDay(now), float64(now.Sub(midnight)) / float64(next.Sub(midnight))
}

// Insights generates daily rows; see demo_data.go for how. Days before the
// account's start (today-400) or after today have no rows; today is scaled
// to the part of the day gone by. Paused entities (and the children of
// paused ones) get rows of zeros, not no rows, from their pause day on, so a
// re-sync overwrites what an earlier sync stored for those days.
func (d *DemoClient) Insights(ctx context.Context, cred Credentials, q InsightsQuery) ([]InsightRow, error) {
	if err := ctx.Err(); err != nil {
		return nil, &Error{Platform: Demo, Kind: KindTransient, Err: err}
	}
	a, err := d.account(cred)
	if err != nil {
		return nil, err
	}
	if !q.Level.Valid() {
		return nil, demoInvalid("unknown level " + string(q.Level))
	}
	since, until := demoCivilDay(q.Since), demoCivilDay(q.Until)
	if until < since {
		return nil, demoInvalid("until is before since")
	}
	if until-since+1 > demoMaxRange {
		return nil, demoInvalid("date range longer than 400 days")
	}
	today, elapsed := d.today(a)
	lo, hi := max(since, today-demoHistoryDays), min(until, today)
	if lo > hi {
		return nil, nil
	}
	paused := d.pausedSnapshot()

	perDay := map[Level]int{LevelAccount: 1, LevelCampaign: len(a.campaigns), LevelAdSet: len(a.adSets), LevelAd: len(a.ads)}[q.Level]
	rows := make([]InsightRow, 0, int(hi-lo+1)*perDay)
	ads := make([]demoMetrics, len(a.ads))
	sums := make([]demoMetrics, max(len(a.campaigns), len(a.adSets)))
	for day := lo; day <= hi; day++ {
		scale := 1.0
		if day == today {
			scale = elapsed
		}
		for i := range a.ads {
			ads[i] = demoMetrics{}
			if !a.stopped(&a.ads[i], day, paused) {
				ads[i] = a.adDay(&a.ads[i], day, scale)
			}
		}
		date := time.Unix(day*86400, 0).UTC()
		// Higher levels are sums of integer ad metrics, hence exact.
		switch q.Level {
		case LevelAd:
			for i := range a.ads {
				rows = append(rows, a.row(LevelAd, a.ads[i].id, a.ads[i].name, date, ads[i]))
			}
		case LevelAdSet:
			rows = a.sumRows(rows, LevelAdSet, a.adSets, date, ads, sums, func(ad *demoNode) int { return ad.adSet })
		case LevelCampaign:
			rows = a.sumRows(rows, LevelCampaign, a.campaigns, date, ads, sums, func(ad *demoNode) int { return ad.campaign })
		case LevelAccount:
			var total demoMetrics
			for _, m := range ads {
				total.add(m)
			}
			rows = append(rows, a.row(LevelAccount, a.ref, a.spec.name, date, total))
		}
	}
	return rows, nil
}

// sumRows appends one row per node of nodes, each the sum of the ads that
// parent(ad) maps to it; sums is scratch space.
func (a *demoAccount) sumRows(rows []InsightRow, level Level, nodes []demoNode, date time.Time, ads, sums []demoMetrics, parent func(*demoNode) int) []InsightRow {
	clear(sums)
	for i := range a.ads {
		sums[parent(&a.ads[i])].add(ads[i])
	}
	for i := range nodes {
		rows = append(rows, a.row(level, nodes[i].id, nodes[i].name, date, sums[i]))
	}
	return rows
}

func (a *demoAccount) row(level Level, id, name string, date time.Time, m demoMetrics) InsightRow {
	r := InsightRow{Level: level, EntityID: id, EntityName: name, Date: date, Currency: a.spec.currency,
		Spend: decimal.New(m.spendCents, -2), Impressions: m.impressions, Clicks: m.clicks,
		Conversions: decimal.NewFromInt(m.conversions), Revenue: decimal.New(m.revenueCents, -2)}
	r.Derive()
	return r
}

// stopped reports whether ad, its ad set or its campaign is paused on day.
func (a *demoAccount) stopped(ad *demoNode, day int64, paused map[string]int64) bool {
	for _, id := range [3]string{ad.id, ad.parent, a.campaigns[ad.campaign].id} {
		if from, ok := paused[id]; ok && day >= from {
			return true
		}
	}
	return false
}

func (d *DemoClient) pausedSnapshot() map[string]int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.paused) == 0 {
		return nil
	}
	out := make(map[string]int64, len(d.paused))
	for k, v := range d.paused {
		out[k] = v
	}
	return out
}

// Entities lists a demo account's entities at level, by id, with their
// status in this client; nil for an unknown account or level.
func (d *DemoClient) Entities(accountRef string, level Level) []DemoEntity {
	a := demoAccountByRef(accountRef)
	if a == nil {
		return nil
	}
	var nodes []demoNode
	switch level {
	case LevelAccount:
		return []DemoEntity{{ID: a.ref, Name: a.spec.name, Status: "active"}}
	case LevelCampaign:
		nodes = a.campaigns
	case LevelAdSet:
		nodes = a.adSets
	case LevelAd:
		nodes = a.ads
	default:
		return nil
	}
	paused := d.pausedSnapshot()
	out := make([]DemoEntity, len(nodes))
	for i, n := range nodes {
		out[i] = DemoEntity{ID: n.id, Name: n.name, ParentID: n.parent, Status: "active"}
		if _, ok := paused[n.id]; ok {
			out[i].Status = "paused"
		}
	}
	return out
}

// SetStatus pauses or activates a campaign, ad set or ad. A pause takes
// effect for the whole of the account's current day.
func (d *DemoClient) SetStatus(ctx context.Context, cred Credentials, level Level, entityID string, active bool) error {
	a, err := d.account(cred)
	if err != nil {
		return err
	}
	if level == LevelAccount {
		return Unsupported(Demo, "changing an ad account's status")
	}
	n := a.index[entityID]
	if n == nil || n.level != level {
		return demoInvalid("unknown demo " + string(level) + " " + entityID)
	}
	today, _ := d.today(a)
	d.mu.Lock()
	defer d.mu.Unlock()
	if active {
		delete(d.paused, entityID)
	} else if _, ok := d.paused[entityID]; !ok { // pausing twice keeps the first day
		d.paused[entityID] = today
	}
	return nil
}

func (d *DemoClient) CreatorStats(ctx context.Context, cred Credentials) (CreatorStats, error) {
	return CreatorStats{}, Unsupported(Demo, "creator stats")
}

// TokenInfo says a demo token is valid for good; any other token is
// reported invalid (not an error), like a revoked platform token.
func (d *DemoClient) TokenInfo(ctx context.Context, cred Credentials) (TokenInfo, error) {
	ref, ok := strings.CutPrefix(cred.AccessToken, demoTokenPrefix)
	if ok && demoAccountByRef(ref) != nil && (cred.AccountRef == "" || cred.AccountRef == ref) {
		return TokenInfo{Valid: true, Scopes: []string{"demo"}, UserID: "demo_user"}, nil
	}
	return TokenInfo{Valid: false, Reason: "This is not a valid demo token. Disconnect and connect the demo account again."}, nil
}

func (d *DemoClient) Refresh(ctx context.Context, refreshToken string) (Token, error) {
	return Token{}, Unsupported(Demo, "refreshing a token")
}

// Revoke has nothing to forget.
func (d *DemoClient) Revoke(ctx context.Context, cred Credentials) error { return nil }
