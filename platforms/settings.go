package platforms

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

// Settings configure every platform client. Base URLs come from
// configuration so tests and staging can point the whole product at fakes.
type Settings struct {
	BaseURL string // adpilot's own public URL; callbacks are BaseURL + /oauth/<platform>/callback

	FacebookAppID     string
	FacebookAppSecret string
	FacebookScopes    []string
	GraphURL          string // https://graph.facebook.com
	GraphVersion      string // v24.0
	DialogURL         string // https://www.facebook.com

	TikTokClientKey    string
	TikTokClientSecret string
	TikTokScopes       []string
	TikTokAuthURL      string // https://www.tiktok.com
	TikTokAPIURL       string // https://open.tiktokapis.com

	TikTokAdsAppID    string
	TikTokAdsSecret   string
	TikTokBusinessURL string // https://business-api.tiktok.com

	// HTTPClient makes every call; nil means a client with CallTimeout.
	HTTPClient *http.Client
	// CallTimeout bounds each HTTP call (default 30 s).
	CallTimeout time.Duration
	// Retry decides retries of transient and rate-limited calls.
	Retry Retry
	// Now is the clock used to turn expires_in into times (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// Connector is a Client that tenants link by OAuth.
type Connector interface {
	Client
	// Configured reports whether the app credentials are set.
	Configured() bool
	// MissingConfig names the environment variables still to set.
	MissingConfig() []string
	// AuthURL is where the browser goes to consent, carrying state.
	AuthURL(state string) (string, error)
	// Complete finishes the callback: it trades the callback's query
	// parameters (code or auth_code) for a token, exchanges it for a
	// long-lived one where the platform has that, and lists the accounts the
	// token reaches. A replayed or bad code is an *Error of
	// KindInvalidRequest; the caller has checked state and error=.
	Complete(ctx context.Context, params url.Values) (Token, []Account, error)
}

// CallbackPath is the OAuth redirect path of a platform's connect flow.
func CallbackPath(platform string) string {
	switch platform {
	case TikTokAds:
		return "/oauth/tiktok-ads/callback"
	default:
		return "/oauth/" + platform + "/callback"
	}
}
