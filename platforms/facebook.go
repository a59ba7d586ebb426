package platforms

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// FacebookClient talks to the Graph API: OAuth connect, ad accounts and
// Pages, insights and status changes.
type FacebookClient struct {
	s     Settings
	http  HTTPDoer
	graph *url.URL // parsed GraphURL
	retry Retry
	gate  fbUsageGate

	// PageLimit is the `limit` asked of list edges (default 100).
	PageLimit int
	// PollInterval is the wait between async report polls (default 2 s),
	// PollTimeout the longest a report may run (default 10 min).
	PollInterval time.Duration
	PollTimeout  time.Duration
}

var _ Connector = (*FacebookClient)(nil)

const (
	fbRealGraphURL  = "https://graph.facebook.com"
	fbRealDialogURL = "https://www.facebook.com"
)

// NewFacebook returns the Facebook client. Empty settings get production
// defaults.
func NewFacebook(s Settings) *FacebookClient {
	if s.GraphURL == "" {
		s.GraphURL = fbRealGraphURL
	}
	if s.DialogURL == "" {
		s.DialogURL = fbRealDialogURL
	}
	if s.GraphVersion == "" {
		s.GraphVersion = "v24.0"
	}
	if s.CallTimeout <= 0 {
		s.CallTimeout = 30 * time.Second
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	retry := s.Retry
	if retry.Attempts == 0 { // zero means the default; a test's Sleep is kept
		retry = DefaultRetry
		retry.Sleep = s.Retry.Sleep
	}
	graph, err := url.Parse(s.GraphURL)
	if err != nil || graph.Host == "" {
		graph, _ = url.Parse(fbRealGraphURL) // config validation rejects bad URLs before this
	}
	f := &FacebookClient{s: s, graph: graph, retry: retry, PageLimit: 100,
		PollInterval: 2 * time.Second, PollTimeout: 10 * time.Minute}
	f.http = s.HTTPClient
	if s.HTTPClient == nil {
		f.http = &http.Client{Timeout: s.CallTimeout}
	}
	return f
}

// Name is Facebook.
func (f *FacebookClient) Name() string { return Facebook }

func (f *FacebookClient) now() time.Time { return f.s.Now() }

// fbAccountStatus names account_status codes.
var fbAccountStatus = map[int]string{
	1: "active", 2: "disabled", 3: "unsettled", 7: "pending_risk_review",
	8: "pending_settlement", 9: "in_grace_period", 100: "pending_closure", 101: "closed",
}

// Accounts lists the ad accounts and Pages the user token reaches. An edge
// the token has no permission for (say, no pages_show_list) is skipped.
func (f *FacebookClient) Accounts(ctx context.Context, token string) ([]Account, error) {
	type adAccount struct {
		ID            string `json:"id"`
		AccountID     string `json:"account_id"`
		Name          string `json:"name"`
		AccountStatus int    `json:"account_status"`
		Currency      string `json:"currency"`
		TimezoneName  string `json:"timezone_name"`
	}
	type page struct {
		ID          string   `json:"id"`
		Name        string   `json:"name"`
		Category    string   `json:"category"`
		AccessToken string   `json:"access_token"`
		Tasks       []string `json:"tasks"`
	}
	limit := strconv.Itoa(max(f.PageLimit, 1))
	ads, err := fbPages[adAccount](ctx, f, fbReq{method: http.MethodGet, path: "me/adaccounts", token: token,
		params: url.Values{"fields": {"id,account_id,name,account_status,currency,timezone_name"}, "limit": {limit}}})
	if err != nil && KindOf(err) != KindPermission {
		return nil, err
	}
	pgs, err := fbPages[page](ctx, f, fbReq{method: http.MethodGet, path: "me/accounts", token: token,
		params: url.Values{"fields": {"id,name,category,tasks,access_token"}, "limit": {limit}}})
	if err != nil && KindOf(err) != KindPermission {
		return nil, err
	}
	out := make([]Account, 0, len(ads)+len(pgs))
	for _, a := range ads {
		status, ok := fbAccountStatus[a.AccountStatus]
		if !ok {
			status = fmt.Sprintf("status_%d", a.AccountStatus)
		}
		ref := a.ID
		if ref == "" {
			ref = "act_" + a.AccountID
		}
		out = append(out, Account{Ref: ref, Name: a.Name, Kind: KindAdAccount, Currency: a.Currency,
			Timezone: a.TimezoneName, Status: status,
			Meta: map[string]any{"account_status": a.AccountStatus, "currency": a.Currency, "timezone_name": a.TimezoneName}})
	}
	for _, p := range pgs {
		tasks := p.Tasks
		if tasks == nil {
			tasks = []string{}
		}
		// The Page token goes in AccessToken only, never in Meta.
		out = append(out, Account{Ref: p.ID, Name: p.Name, Kind: KindPage, Status: "active", AccessToken: p.AccessToken,
			Meta: map[string]any{"tasks": tasks, "category": p.Category}})
	}
	return out, nil
}

// SetStatus pauses or activates a campaign, ad set or ad.
func (f *FacebookClient) SetStatus(ctx context.Context, cred Credentials, level Level, entityID string, active bool) error {
	if level == LevelAccount {
		return Unsupported(Facebook, "changing an ad account's status")
	}
	if !level.Valid() || entityID == "" {
		return &Error{Platform: Facebook, Kind: KindInvalidRequest, Message: "a campaign, ad set or ad id is required"}
	}
	status := "PAUSED"
	if active {
		status = "ACTIVE"
	}
	var res struct {
		Success bool `json:"success"`
	}
	// Setting a status is idempotent, so the usual retries are safe.
	err := f.do(ctx, fbReq{method: http.MethodPost, path: url.PathEscape(entityID), token: cred.AccessToken,
		scope: cred.AccountRef, params: url.Values{"status": {status}}}, &res)
	if err != nil {
		return err
	}
	if !res.Success {
		return &Error{Platform: Facebook, Kind: KindInvalidRequest, Message: "the status change was not accepted"}
	}
	return nil
}

// TokenInfo asks debug_token (with the app token) about a user or Page token.
func (f *FacebookClient) TokenInfo(ctx context.Context, cred Credentials) (TokenInfo, error) {
	var res struct {
		Data struct {
			IsValid   bool     `json:"is_valid"`
			ExpiresAt int64    `json:"expires_at"`
			Scopes    []string `json:"scopes"`
			UserID    string   `json:"user_id"`
			Error     *struct {
				Message string `json:"message"`
			} `json:"error"`
		} `json:"data"`
	}
	if !f.Configured() {
		return TokenInfo{}, &Error{Platform: Facebook, Kind: KindPermission, Message: "FB_APP_ID and FB_APP_SECRET are not set: tokens cannot be checked"}
	}
	err := f.do(ctx, fbReq{method: http.MethodGet, path: "debug_token", token: f.appToken(),
		params: url.Values{"input_token": {cred.AccessToken}}}, &res)
	var pe *Error
	if errors.As(err, &pe) && pe.Kind == KindTokenInvalid {
		// A top-level token error is about our app token (a wrong or rotated
		// FB_APP_SECRET), not the user's: a dead user token answers
		// is_valid=false. Never let it invalidate every connection.
		return TokenInfo{}, &Error{Platform: Facebook, Kind: KindPermission, Code: pe.Code, Subcode: pe.Subcode,
			Message: "Facebook refused the app credentials (check FB_APP_ID and FB_APP_SECRET): " + pe.Message, TraceID: pe.TraceID}
	}
	if err != nil {
		return TokenInfo{}, err
	}
	d := res.Data
	info := TokenInfo{Valid: d.IsValid, Scopes: d.Scopes, UserID: d.UserID}
	if d.ExpiresAt > 0 { // 0 means the token never expires
		info.ExpiresAt = time.Unix(d.ExpiresAt, 0).UTC()
	}
	if !d.IsValid {
		info.Reason = "token is no longer valid"
		if d.Error != nil && d.Error.Message != "" {
			info.Reason = fbRedactToken(d.Error.Message, cred.AccessToken)
		}
	}
	return info, nil
}

func (f *FacebookClient) appToken() string { return f.s.FacebookAppID + "|" + f.s.FacebookAppSecret }

// Refresh: Facebook has no refresh tokens; long-lived tokens are re-checked
// with TokenInfo and renewed by reconnecting.
func (f *FacebookClient) Refresh(ctx context.Context, refreshToken string) (Token, error) {
	return Token{}, Unsupported(Facebook, "refreshing a token")
}

// Revoke removes the app's permissions for the token's user. A token that
// is already dead counts as revoked.
func (f *FacebookClient) Revoke(ctx context.Context, cred Credentials) error {
	err := f.do(ctx, fbReq{method: http.MethodDelete, path: "me/permissions", token: cred.AccessToken}, nil)
	if IsTokenInvalid(err) {
		return nil
	}
	return err
}

// CreatorStats is a TikTok thing.
func (f *FacebookClient) CreatorStats(ctx context.Context, cred Credentials) (CreatorStats, error) {
	return CreatorStats{}, Unsupported(Facebook, "creator stats")
}

// UsagePercent is the highest budget percentage the last successful call
// reported in its usage headers.
func (f *FacebookClient) UsagePercent() float64 {
	f.gate.mu.Lock()
	defer f.gate.mu.Unlock()
	return f.gate.last
}

// fbUsageGate slows down before Facebook throttles: when a response says a
// budget is at 95 % or more and names when it resets, further calls for the
// same scope fail fast with KindRateLimited until then.
type fbUsageGate struct {
	mu    sync.Mutex
	last  float64
	until map[string]time.Time
}

const fbUsageLimit = 95

func (g *fbUsageGate) observe(scope string, h http.Header, now time.Time) {
	pct, regain := fbParseUsage(h)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.last = pct
	if pct >= fbUsageLimit && regain > 0 {
		if g.until == nil {
			g.until = map[string]time.Time{}
		}
		g.until[scope] = now.Add(regain)
	}
}

func (g *fbUsageGate) check(scope string, now time.Time) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, s := range []string{scope, ""} { // "" holds app-wide pauses
		t, ok := g.until[s]
		if !ok {
			continue
		}
		if !now.Before(t) {
			delete(g.until, s)
			continue
		}
		return &Error{Platform: Facebook, Kind: KindRateLimited, RetryAfter: t.Sub(now),
			Message: fmt.Sprintf("usage at %.0f%%: paused until the platform's window resets", g.last)}
	}
	return nil
}
