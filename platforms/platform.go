// Package platforms talks to the ad and creator platforms adpilot connects
// to: Facebook (Graph API), TikTok creators (Login Kit v2 and the Display
// API), TikTok advertisers (TikTok for Business Marketing API) and a built-in
// demo platform. Every platform implements Client; callers never see wire
// formats, only the normalised types below and typed *Error values.
package platforms

import (
	"context"
	"net/http"
	"time"

	"github.com/shopspring/decimal"
)

// Platform names, as stored in ad_token.platform.
const (
	Facebook  = "facebook"
	TikTok    = "tiktok"
	TikTokAds = "tiktok_ads"
	Demo      = "demo"
)

// Level is the entity level of insights and status changes.
type Level string

const (
	LevelAccount  Level = "account"
	LevelCampaign Level = "campaign"
	LevelAdSet    Level = "adset" // TikTok calls it an ad group
	LevelAd       Level = "ad"
)

// Valid reports whether l is one of the four levels.
func (l Level) Valid() bool {
	switch l {
	case LevelAccount, LevelCampaign, LevelAdSet, LevelAd:
		return true
	}
	return false
}

// Account kinds: what one connection row stands for.
const (
	KindAdAccount  = "ad_account" // Facebook ad account (act_…)
	KindPage       = "page"       // Facebook Page, with its own Page token
	KindCreator    = "creator"    // TikTok creator (open_id)
	KindAdvertiser = "advertiser" // TikTok for Business advertiser id
)

// Credentials is what a call needs to act for one connection.
type Credentials struct {
	AccessToken string
	AccountRef  string // act_123, a Page id, an open_id or an advertiser id
	Kind        string // one of the Kind constants
}

// Token is the outcome of an OAuth code exchange or a refresh. Zero times
// mean "not given" (Facebook Page tokens never expire).
type Token struct {
	AccessToken      string
	RefreshToken     string
	ExpiresAt        time.Time
	RefreshExpiresAt time.Time
	Scopes           []string
	UserID           string   // Facebook user id, TikTok open_id
	AccountRefs      []string // TikTok Ads: the advertiser ids the token reaches
}

// Account is one thing a token can reach and a tenant can connect.
type Account struct {
	Ref      string // stored as ad_token.account_ref
	Name     string
	Kind     string
	Currency string // ISO 4217, "" when the platform has none (creators)
	Timezone string // IANA zone of the account's reporting day
	Status   string // the platform's status, normalised to lower case words ("active", "disabled", …)
	// AccessToken is set when the account has a token of its own (a
	// Facebook Page token); otherwise the connection uses the user's token.
	AccessToken string
	// Meta holds platform details kept in ad_token.meta (account_status
	// code, Page tasks, avatar, …). Never a token.
	Meta map[string]any
}

// InsightsQuery asks for daily rows of one account at one level. Since and
// Until are calendar dates (their time of day is ignored) in the account's
// own timezone, both inclusive.
type InsightsQuery struct {
	Level Level
	Since time.Time
	Until time.Time
	// ConversionActions are the Facebook action types counted as
	// conversions (for example "purchase", "lead",
	// "offsite_conversion.fb_pixel_purchase"). Empty means DefaultConversionActions.
	ConversionActions []string
}

// DefaultConversionActions are counted when a connection names none.
// (Facebook reports a pixel purchase under both "purchase" and
// "offsite_conversion.fb_pixel_purchase": counting both would double it.)
var DefaultConversionActions = []string{"purchase", "lead", "complete_registration"}

// InsightRow is one entity on one day. Money is in Currency.
type InsightRow struct {
	Level      Level
	EntityID   string
	EntityName string
	Date       time.Time // midnight UTC of the account-local calendar date
	Currency   string

	Spend             decimal.Decimal
	Impressions       int64
	Clicks            int64
	CTR               decimal.Decimal // percent: clicks / impressions * 100
	CPC               decimal.Decimal // spend / clicks
	CPM               decimal.Decimal // spend / impressions * 1000
	Conversions       decimal.Decimal
	CostPerConversion decimal.Decimal
	Revenue           decimal.Decimal
	ROAS              decimal.Decimal // revenue / spend
}

// CreatorStats is a TikTok creator's audience and recent videos.
type CreatorStats struct {
	DisplayName string
	Followers   int64
	Following   int64
	Likes       int64
	VideoCount  int64
	Videos      []VideoStats
}

// VideoStats is one creator video.
type VideoStats struct {
	ID        string
	Title     string
	CreatedAt time.Time
	ShareURL  string
	Views     int64
	Likes     int64
	Comments  int64
	Shares    int64
}

// TokenInfo is what the platform says about a token right now.
type TokenInfo struct {
	Valid     bool
	ExpiresAt time.Time // zero: never expires or unknown
	Scopes    []string
	UserID    string
	Reason    string // why it is invalid, in words a user can act on
}

// Client is one platform. Methods that a platform cannot do return an
// *Error of KindUnsupported.
type Client interface {
	// Name is the platform's constant (Facebook, TikTok, …).
	Name() string
	// Accounts lists everything the token can reach.
	Accounts(ctx context.Context, token string) ([]Account, error)
	// Insights returns normalised daily rows for one account.
	Insights(ctx context.Context, cred Credentials, q InsightsQuery) ([]InsightRow, error)
	// CreatorStats returns a creator's followers and per-video stats.
	CreatorStats(ctx context.Context, cred Credentials) (CreatorStats, error)
	// SetStatus pauses (active=false) or activates one campaign, ad set or ad.
	SetStatus(ctx context.Context, cred Credentials, level Level, entityID string, active bool) error
	// TokenInfo checks a token with the platform.
	TokenInfo(ctx context.Context, cred Credentials) (TokenInfo, error)
	// Refresh trades a refresh token for a new token pair. The returned
	// RefreshToken is empty when the platform did not rotate it.
	Refresh(ctx context.Context, refreshToken string) (Token, error)
	// Revoke tells the platform to forget the token, where it can.
	Revoke(ctx context.Context, cred Credentials) error
}

// HTTPDoer is the HTTP client every platform client uses (an *http.Client).
type HTTPDoer interface {
	Do(*http.Request) (*http.Response, error)
}
