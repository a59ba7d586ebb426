package testutil

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// FakeTikTok is one httptest server playing both TikTok APIs: Login Kit v2
// and the Display API (/v2/…) for creators, and the TikTok for Business
// portal and Marketing API v1.3 (/portal/auth, /open_api/v1.3/…) for
// advertisers. Error shapes are the real ones: Display API errors carry
// error.code (access_token_invalid is HTTP 401), Marketing API errors are
// HTTP 200 envelopes with a non-zero code (40105 for a dead token).
type FakeTikTok struct {
	URL, ClientKey, ClientSecret, AdsAppID, AdsSecret string

	mu          sync.Mutex
	profile     FakeTikTokProfile
	videos      []FakeTikTokVideo
	advertisers []FakeTikTokAdvertiser
	reportRows  []FakeTikTokReportRow // nil: generated rows
	pageCap     int                   // caps report page_size when > 0
	expiresIn   int
	refreshIn   int
	deny        bool
	redirectURI string // when set, authorize requires exactly this redirect_uri
	codes       map[string]*fttCode
	access      map[string]*fttGrant // creator access tokens
	refresh     map[string]*fttGrant // creator refresh tokens
	adsCodes    map[string]bool      // ads auth codes: true until used
	adsTokens   map[string]bool
	failures    []fttFailure
	calls       map[string]int
	requests    []FakeTikTokRequest
	changes     []FakeTikTokStatusChange
	refreshes   int
	seq         int
}

// FakeTikTokProfile is the creator user info.
type FakeTikTokProfile struct {
	OpenID, UnionID, DisplayName, AvatarURL         string
	Followers, Following, Likes, VideoCountOverride int64
}

// FakeTikTokVideo is one creator video; CreateTime is Unix seconds.
type FakeTikTokVideo struct {
	ID, Title, ShareURL            string
	CreateTime                     int64
	Views, Likes, Comments, Shares int64
}

// FakeTikTokAdvertiser is one advertiser the ads token reaches.
type FakeTikTokAdvertiser struct{ ID, Name, Currency, Timezone, Status string }

// FakeTikTokReportRow is a report row served as is (strings, like TikTok).
// DataLevel is AUCTION_ADVERTISER, AUCTION_CAMPAIGN, AUCTION_ADGROUP or
// AUCTION_AD; Dimensions["stat_time_day"] is "2025-03-14 00:00:00".
type FakeTikTokReportRow struct {
	AdvertiserID, DataLevel string
	Dimensions, Metrics     map[string]string
}

// FakeTikTokRequest is one request the fake received.
type FakeTikTokRequest struct {
	Method, Path string
	Query        url.Values
	Header       http.Header
	Body         string
}

// FakeTikTokStatusChange is one status update call. Level is "campaign",
// "adgroup" or "ad"; Status is the operation_status sent.
type FakeTikTokStatusChange struct {
	Level, AdvertiserID, Status string
	IDs                         []string
}

type fttCode struct {
	redirect string
	scopes   []string
	used     bool
}
type fttGrant struct{ scopes []string }
type fttFailure struct {
	suffix, body string
	status       int
	header       http.Header
}

// NewFakeTikTok starts the fake with one creator, three videos and two
// advertisers ("7001" Shop US, "7002" Shop UK).
func NewFakeTikTok(t testing.TB) *FakeTikTok {
	f := &FakeTikTok{
		ClientKey: "tt-client-key", ClientSecret: "tt-client-secret-5d1f0c", AdsAppID: "tt-ads-app", AdsSecret: "tt-ads-secret-9b2e47",
		profile:     FakeTikTokProfile{OpenID: "open-creator-1", UnionID: "union-1", DisplayName: "Test Creator", Followers: 1200, Following: 80, Likes: 34000},
		advertisers: []FakeTikTokAdvertiser{{"7001", "Shop US", "USD", "America/Los_Angeles", "STATUS_ENABLE"}, {"7002", "Shop UK", "GBP", "Europe/London", "STATUS_ENABLE"}},
		expiresIn:   86400, refreshIn: 31536000,
		codes: map[string]*fttCode{}, access: map[string]*fttGrant{}, refresh: map[string]*fttGrant{},
		adsCodes: map[string]bool{}, adsTokens: map[string]bool{}, calls: map[string]int{},
	}
	for i := range 3 {
		f.videos = append(f.videos, FakeTikTokVideo{ID: fmt.Sprint(9000 + i), Title: fmt.Sprintf("Video %d", i+1),
			CreateTime: 1735689600 - int64(i)*86400, Views: int64(1000 * (i + 1)), Likes: int64(100 * (i + 1)), Comments: int64(i + 1), Shares: int64(i)})
	}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	f.profile.AvatarURL = srv.URL + "/avatar.jpg"
	return f
}

// Env is the configuration pointing adpilot at the fake.
func (f *FakeTikTok) Env() map[string]string {
	return map[string]string{"TIKTOK_CLIENT_KEY": f.ClientKey, "TIKTOK_CLIENT_SECRET": f.ClientSecret,
		"TIKTOK_AUTH_URL": f.URL, "TIKTOK_API_URL": f.URL, "TIKTOK_BUSINESS_URL": f.URL,
		"TIKTOK_ADS_APP_ID": f.AdsAppID, "TIKTOK_ADS_APP_SECRET": f.AdsSecret}
}

func (f *FakeTikTok) locked(fn func()) { f.mu.Lock(); defer f.mu.Unlock(); fn() }

func (f *FakeTikTok) SetProfile(p FakeTikTokProfile)          { f.locked(func() { f.profile = p }) }
func (f *FakeTikTok) SetVideos(v []FakeTikTokVideo)           { f.locked(func() { f.videos = v }) }
func (f *FakeTikTok) SetAdvertisers(a []FakeTikTokAdvertiser) { f.locked(func() { f.advertisers = a }) }
func (f *FakeTikTok) SetReportRows(r []FakeTikTokReportRow)   { f.locked(func() { f.reportRows = r }) }
func (f *FakeTikTok) SetReportPageSize(n int)                 { f.locked(func() { f.pageCap = n }) }
func (f *FakeTikTok) SetDenyConsent(deny bool)                { f.locked(func() { f.deny = deny }) }
func (f *FakeTikTok) SetRedirectURI(u string)                 { f.locked(func() { f.redirectURI = u }) }

// SetLifetimes sets expires_in and refresh_expires_in (seconds).
func (f *FakeTikTok) SetLifetimes(expiresIn, refreshExpiresIn int) {
	f.locked(func() { f.expiresIn, f.refreshIn = expiresIn, refreshExpiresIn })
}

// FailNext makes the next call whose path ends in pathSuffix answer status
// and body; call it n times to fail n calls.
func (f *FakeTikTok) FailNext(pathSuffix string, status int, body string) {
	f.FailNextHeader(pathSuffix, status, body, nil)
}

// FailNextHeader is FailNext with response headers (e.g. Retry-After).
func (f *FakeTikTok) FailNextHeader(pathSuffix string, status int, body string, h http.Header) {
	f.locked(func() { f.failures = append(f.failures, fttFailure{pathSuffix, body, status, h}) })
}

// InvalidateAllTokens kills every creator and ads access token.
func (f *FakeTikTok) InvalidateAllTokens() {
	f.locked(func() { clear(f.access); clear(f.adsTokens) })
}

// RevokeRefreshTokens kills every creator refresh token.
func (f *FakeTikTok) RevokeRefreshTokens() { f.locked(func() { clear(f.refresh) }) }

// IssueToken mints a creator token pair with scopes, skipping the consent.
func (f *FakeTikTok) IssueToken(scopes ...string) (access, refresh string) {
	f.locked(func() { access, refresh = f.grant(&fttGrant{scopes}) })
	return access, refresh
}

// IssueAdsToken mints an advertiser token, skipping the consent.
func (f *FakeTikTok) IssueAdsToken() (tok string) {
	f.locked(func() { tok = f.id("ads-tok-"); f.adsTokens[tok] = true })
	return tok
}

// Calls counts requests whose path ends in pathSuffix.
func (f *FakeTikTok) Calls(pathSuffix string) (n int) {
	f.locked(func() {
		for p, c := range f.calls {
			if strings.HasSuffix(p, pathSuffix) {
				n += c
			}
		}
	})
	return n
}

func (f *FakeTikTok) Requests() (r []FakeTikTokRequest) {
	f.locked(func() { r = slices.Clone(f.requests) })
	return r
}

func (f *FakeTikTok) StatusChanges() (c []FakeTikTokStatusChange) {
	f.locked(func() { c = slices.Clone(f.changes) })
	return c
}

// RefreshCount counts successful refresh_token grants.
func (f *FakeTikTok) RefreshCount() (n int) { f.locked(func() { n = f.refreshes }); return n }

// Consent plays the browser: it opens authURL without following the
// redirect and returns the callback's query (code/auth_code and state).
func (f *FakeTikTok) Consent(t testing.TB, authURL string) url.Values {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(authURL)
	if err != nil {
		t.Fatalf("fake tiktok consent: %v", err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil {
		t.Fatalf("fake tiktok consent: status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query()
}

// Sign is a TikTok-Signature header value for a webhook body sent at t.
func (f *FakeTikTok) Sign(body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, []byte(f.ClientSecret))
	m.Write([]byte(ts + "." + string(body)))
	return "t=" + ts + ",s=" + hex.EncodeToString(m.Sum(nil))
}

func (f *FakeTikTok) id(prefix string) string { f.seq++; return fmt.Sprintf("%s%06d", prefix, f.seq) }

func (f *FakeTikTok) grant(g *fttGrant) (string, string) {
	a, r := f.id("act."), f.id("rft.")
	f.access[a], f.refresh[r] = g, g
	return a, r
}

func (f *FakeTikTok) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	p := r.URL.Path
	f.calls[p]++
	f.requests = append(f.requests, FakeTikTokRequest{r.Method, p, r.URL.Query(), r.Header.Clone(), string(body)})
	for i, fl := range f.failures {
		if strings.HasSuffix(p, fl.suffix) {
			f.failures = slices.Delete(f.failures, i, i+1)
			for k, v := range fl.header {
				w.Header()[k] = v
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(fl.status)
			io.WriteString(w, fl.body)
			return
		}
	}
	switch {
	case p == "/v2/auth/authorize/" || p == "/portal/auth":
		f.authorize(w, r, p == "/portal/auth")
	case p == "/v2/oauth/token/":
		f.token(w, body)
	case p == "/v2/oauth/revoke/":
		f.revoke(w, body)
	case p == "/v2/user/info/":
		f.userInfo(w, r)
	case p == "/v2/video/list/":
		f.videoList(w, r, body)
	case strings.HasPrefix(p, "/open_api/v1.3/"):
		f.business(w, r, strings.TrimPrefix(p, "/open_api/v1.3"), body)
	default:
		http.NotFound(w, r)
	}
}

func fttJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// authorize is the consent page of either API: it consents at once (or
// denies, with SetDenyConsent) and redirects to redirect_uri.
func (f *FakeTikTok) authorize(w http.ResponseWriter, r *http.Request, ads bool) {
	q := r.URL.Query()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	okClient := q.Get("client_key") == f.ClientKey
	if ads {
		okClient = q.Get("app_id") == f.AdsAppID
	}
	if !okClient || err != nil || !redirect.IsAbs() || (f.redirectURI != "" && q.Get("redirect_uri") != f.redirectURI) {
		http.Error(w, "bad client or redirect_uri", http.StatusBadRequest)
		return
	}
	back := redirect.Query()
	back.Set("state", q.Get("state"))
	switch {
	case f.deny:
		back.Set("error", "access_denied")
		back.Set("error_description", "The user denied the request")
	case ads:
		code := f.id("adscode-")
		f.adsCodes[code] = true
		back.Set("auth_code", code)
	default:
		code := f.id("code-")
		f.codes[code] = &fttCode{redirect: q.Get("redirect_uri"), scopes: strings.Split(q.Get("scope"), ",")}
		back.Set("code", code)
	}
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

func (f *FakeTikTok) oauthError(w http.ResponseWriter, status int, code, desc string) {
	fttJSON(w, status, map[string]string{"error": code, "error_description": desc, "log_id": f.id("log")})
}

func (f *FakeTikTok) token(w http.ResponseWriter, body []byte) {
	form, _ := url.ParseQuery(string(body))
	if form.Get("client_key") != f.ClientKey || form.Get("client_secret") != f.ClientSecret {
		f.oauthError(w, http.StatusUnauthorized, "invalid_client", "Client key or secret is incorrect.")
		return
	}
	var g *fttGrant
	switch form.Get("grant_type") {
	case "authorization_code":
		c := f.codes[form.Get("code")]
		if c == nil || c.used || c.redirect != form.Get("redirect_uri") {
			f.oauthError(w, http.StatusBadRequest, "invalid_grant", "Authorization code is expired.")
			return
		}
		c.used, g = true, &fttGrant{c.scopes}
	case "refresh_token":
		if g = f.refresh[form.Get("refresh_token")]; g == nil {
			f.oauthError(w, http.StatusBadRequest, "invalid_grant", "Refresh token is invalid or expired.")
			return
		}
		delete(f.refresh, form.Get("refresh_token")) // rotation: the old one dies
		f.refreshes++
	default:
		f.oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "Grant type is not supported.")
		return
	}
	a, r := f.grant(g)
	fttJSON(w, http.StatusOK, map[string]any{"open_id": f.profile.OpenID, "scope": strings.Join(g.scopes, ","), "access_token": a,
		"expires_in": f.expiresIn, "refresh_token": r, "refresh_expires_in": f.refreshIn, "token_type": "Bearer"})
}

// revoke forgets the access token and every token of its grant.
func (f *FakeTikTok) revoke(w http.ResponseWriter, body []byte) {
	form, _ := url.ParseQuery(string(body))
	if form.Get("client_key") != f.ClientKey || form.Get("client_secret") != f.ClientSecret {
		f.oauthError(w, http.StatusUnauthorized, "invalid_client", "Client key or secret is incorrect.")
		return
	}
	if g := f.access[form.Get("token")]; g != nil {
		same := func(_ string, v *fttGrant) bool { return v == g }
		maps.DeleteFunc(f.access, same)
		maps.DeleteFunc(f.refresh, same)
	}
	fttJSON(w, http.StatusOK, map[string]any{})
}

// display answers in the Display API envelope; code "ok" is success.
func (f *FakeTikTok) display(w http.ResponseWriter, status int, data any, code, msg string) {
	if data == nil {
		data = map[string]any{}
	}
	fttJSON(w, status, map[string]any{"data": data, "error": map[string]string{"code": code, "message": msg, "log_id": f.id("log")}})
}

// bearer returns the creator grant, or answers access_token_invalid.
func (f *FakeTikTok) bearer(w http.ResponseWriter, r *http.Request) *fttGrant {
	g := f.access[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	if g == nil {
		f.display(w, http.StatusUnauthorized, nil, "access_token_invalid", "The access token is invalid or not found in the request.")
	}
	return g
}

func (f *FakeTikTok) scoped(w http.ResponseWriter, g *fttGrant, scope string) bool {
	if !slices.Contains(g.scopes, scope) {
		f.display(w, http.StatusUnauthorized, nil, "scope_not_authorized", "The user did not authorize the scope required for completing this request.")
		return false
	}
	return true
}

func (f *FakeTikTok) userInfo(w http.ResponseWriter, r *http.Request) {
	g := f.bearer(w, r)
	if g == nil {
		return
	}
	p := f.profile
	count := p.VideoCountOverride
	if count == 0 {
		count = int64(len(f.videos))
	}
	all := map[string]any{"open_id": p.OpenID, "union_id": p.UnionID, "avatar_url": p.AvatarURL, "display_name": p.DisplayName,
		"follower_count": p.Followers, "following_count": p.Following, "likes_count": p.Likes, "video_count": count}
	user := map[string]any{}
	for _, field := range strings.Split(r.URL.Query().Get("fields"), ",") {
		v, ok := all[field]
		if !ok {
			f.display(w, http.StatusBadRequest, nil, "invalid_params", "Unknown field: "+field)
			return
		}
		scope := "user.info.basic"
		if strings.HasSuffix(field, "_count") {
			scope = "user.info.stats"
		}
		if !f.scoped(w, g, scope) {
			return
		}
		user[field] = v
	}
	f.display(w, http.StatusOK, map[string]any{"user": user}, "ok", "")
}

// videoList pages newest first; cursor is a create_time in ms (exclusive).
func (f *FakeTikTok) videoList(w http.ResponseWriter, r *http.Request, body []byte) {
	g := f.bearer(w, r)
	if g == nil || !f.scoped(w, g, "video.list") {
		return
	}
	var req struct {
		MaxCount int64 `json:"max_count"`
		Cursor   int64 `json:"cursor"`
	}
	if r.Method != http.MethodPost || json.Unmarshal(body, &req) != nil || req.MaxCount > 20 {
		f.display(w, http.StatusBadRequest, nil, "invalid_params", "Bad request body or max_count.")
		return
	}
	if req.MaxCount <= 0 {
		req.MaxCount = 10
	}
	vs := slices.Clone(f.videos)
	slices.SortFunc(vs, func(a, b FakeTikTokVideo) int { return int(b.CreateTime - a.CreateTime) })
	var page []map[string]any
	var cursor int64
	more := false
	for _, v := range vs {
		if req.Cursor > 0 && v.CreateTime*1000 >= req.Cursor {
			continue
		}
		if int64(len(page)) == req.MaxCount {
			more = true
			break
		}
		page = append(page, map[string]any{"id": v.ID, "title": v.Title, "create_time": v.CreateTime, "share_url": v.ShareURL,
			"view_count": v.Views, "like_count": v.Likes, "comment_count": v.Comments, "share_count": v.Shares})
		cursor = v.CreateTime * 1000
	}
	f.display(w, http.StatusOK, map[string]any{"videos": page, "cursor": cursor, "has_more": more}, "ok", "")
}

// envelope answers in the Marketing API shape, always HTTP 200.
func (f *FakeTikTok) envelope(w http.ResponseWriter, code int, msg string, data any) {
	if data == nil {
		data = map[string]any{}
	}
	fttJSON(w, http.StatusOK, map[string]any{"code": code, "message": msg, "request_id": f.id("req"), "data": data})
}

func (f *FakeTikTok) business(w http.ResponseWriter, r *http.Request, p string, body []byte) {
	var in map[string]any
	if r.Method == http.MethodPost && json.Unmarshal(body, &in) != nil {
		f.envelope(w, 40002, "Invalid JSON body", nil)
		return
	}
	str := func(k string) string { s, _ := in[k].(string); return s }
	if p == "/oauth2/access_token/" || p == "/oauth2/revoke_token/" {
		if str("app_id") != f.AdsAppID || str("secret") != f.AdsSecret {
			f.envelope(w, 40001, "app_id or secret is incorrect", nil)
			return
		}
		if p == "/oauth2/revoke_token/" {
			delete(f.adsTokens, str("access_token"))
			f.envelope(w, 0, "OK", nil)
			return
		}
		if !f.adsCodes[str("auth_code")] { // unknown or used (code unverified)
			f.envelope(w, 40002, "Auth code is invalid or has been used.", nil)
			return
		}
		f.adsCodes[str("auth_code")] = false
		tok := f.id("ads-tok-")
		f.adsTokens[tok] = true
		ids := []string{}
		for _, a := range f.advertisers {
			ids = append(ids, a.ID)
		}
		f.envelope(w, 0, "OK", map[string]any{"access_token": tok, "advertiser_ids": ids, "scope": []int{1, 4, 5}})
		return
	}
	if !f.adsTokens[r.Header.Get("Access-Token")] {
		f.envelope(w, 40105, "The access token is invalid or has been revoked.", nil)
		return
	}
	q := r.URL.Query()
	switch {
	case p == "/oauth2/advertiser/get/":
		if q.Get("app_id") != f.AdsAppID || q.Get("secret") != f.AdsSecret {
			f.envelope(w, 40001, "app_id or secret is incorrect", nil)
			return
		}
		list := []map[string]string{}
		for _, a := range f.advertisers {
			list = append(list, map[string]string{"advertiser_id": a.ID, "advertiser_name": a.Name})
		}
		f.envelope(w, 0, "OK", map[string]any{"list": list})
	case p == "/advertiser/info/":
		var ids []string
		if json.Unmarshal([]byte(q.Get("advertiser_ids")), &ids) != nil {
			f.envelope(w, 40002, "advertiser_ids: invalid JSON array", nil)
			return
		}
		list := []map[string]string{}
		for _, a := range f.advertisers {
			if slices.Contains(ids, a.ID) {
				list = append(list, map[string]string{"advertiser_id": a.ID, "name": a.Name, "currency": a.Currency, "timezone": a.Timezone, "status": a.Status})
			}
		}
		f.envelope(w, 0, "OK", map[string]any{"list": list})
	case p == "/report/integrated/get/":
		f.report(w, q)
	case strings.HasSuffix(p, "/status/update/"):
		level := strings.TrimSuffix(strings.TrimPrefix(p, "/"), "/status/update/")
		ids := fttList(in[level+"_ids"])
		op := str("operation_status")
		if (level != "campaign" && level != "adgroup" && level != "ad") || len(ids) == 0 || (op != "ENABLE" && op != "DISABLE") {
			f.envelope(w, 40002, "Invalid status update", nil)
			return
		}
		f.changes = append(f.changes, FakeTikTokStatusChange{Level: level, AdvertiserID: str("advertiser_id"), Status: op, IDs: ids})
		f.envelope(w, 0, "OK", map[string]any{level + "_ids": ids})
	default:
		http.NotFound(w, r)
	}
}

func fttList(v any) []string {
	var out []string
	xs, _ := v.([]any)
	for _, x := range xs {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

var fttLevels = map[string][2]string{ // data_level: id dimension, name metric
	"AUCTION_ADVERTISER": {"advertiser_id", ""}, "AUCTION_CAMPAIGN": {"campaign_id", "campaign_name"},
	"AUCTION_ADGROUP": {"adgroup_id", "adgroup_name"}, "AUCTION_AD": {"ad_id", "ad_name"},
}

// report serves the set rows, or two generated entities a day per level:
// entity n (1, 2) of a level has id <advertiser><level 0-3><n>, spend
// "<10n+day%7>.50", impressions 1000n, clicks 20n, conversion 2n and
// total_purchase_value three times the spend.
func (f *FakeTikTok) report(w http.ResponseWriter, q url.Values) {
	lv, okLevel := fttLevels[q.Get("data_level")]
	var dims, metrics []string
	start, err1 := time.Parse(time.DateOnly, q.Get("start_date"))
	end, err2 := time.Parse(time.DateOnly, q.Get("end_date"))
	page, _ := strconv.Atoi(q.Get("page"))
	size, _ := strconv.Atoi(q.Get("page_size"))
	adv := q.Get("advertiser_id")
	known := slices.ContainsFunc(f.advertisers, func(a FakeTikTokAdvertiser) bool { return a.ID == adv })
	if !okLevel || err1 != nil || err2 != nil || end.Before(start) || page < 1 || size < 1 || size > 1000 || q.Get("report_type") != "BASIC" ||
		json.Unmarshal([]byte(q.Get("dimensions")), &dims) != nil || json.Unmarshal([]byte(q.Get("metrics")), &metrics) != nil ||
		!slices.Equal(dims, []string{lv[0], "stat_time_day"}) {
		f.envelope(w, 40002, "Invalid report parameters", nil)
		return
	}
	if !known {
		f.envelope(w, 40001, "No permission to access advertiser "+adv, nil)
		return
	}
	if f.pageCap > 0 {
		size = min(size, f.pageCap)
	}
	rows := f.reportRows
	if rows == nil {
		rows = fttGenerate(adv, q.Get("data_level"), lv, start, end)
	}
	var list []map[string]any
	for _, row := range rows {
		day, err := time.Parse(time.DateOnly, row.Dimensions["stat_time_day"][:min(10, len(row.Dimensions["stat_time_day"]))])
		if row.AdvertiserID != adv || row.DataLevel != q.Get("data_level") || err != nil || day.Before(start) || day.After(end) {
			continue
		}
		m := map[string]string{}
		for _, k := range metrics {
			if v, ok := row.Metrics[k]; ok {
				m[k] = v
			}
		}
		list = append(list, map[string]any{"dimensions": row.Dimensions, "metrics": m})
	}
	total := len(list)
	from, to := min((page-1)*size, total), min(page*size, total)
	f.envelope(w, 0, "OK", map[string]any{"list": list[from:to], "page_info": map[string]int{
		"page": page, "page_size": size, "total_number": total, "total_page": int(math.Ceil(float64(total) / float64(size)))}})
}

func fttGenerate(adv, level string, lv [2]string, start, end time.Time) []FakeTikTokReportRow {
	digit := map[string]int{"AUCTION_ADVERTISER": 0, "AUCTION_CAMPAIGN": 1, "AUCTION_ADGROUP": 2, "AUCTION_AD": 3}[level]
	var rows []FakeTikTokReportRow
	for d := start; !d.After(end); d = d.AddDate(0, 0, 1) {
		for n := 1; n <= 2; n++ {
			id := fmt.Sprintf("%s%d%d", adv, digit, n)
			if digit == 0 {
				if n == 2 {
					break
				}
				id = adv
			}
			base := 10*n + d.YearDay()%7
			m := map[string]string{"spend": fmt.Sprintf("%d.50", base), "impressions": strconv.Itoa(1000 * n), "clicks": strconv.Itoa(20 * n),
				"conversion": strconv.Itoa(2 * n), "total_purchase_value": fmt.Sprintf("%d.50", 3*base+1), "currency": "USD"}
			if lv[1] != "" {
				m[lv[1]] = fmt.Sprintf("%s %d", strings.TrimSuffix(lv[1], "_name"), n)
			}
			rows = append(rows, FakeTikTokReportRow{AdvertiserID: adv, DataLevel: level,
				Dimensions: map[string]string{lv[0]: id, "stat_time_day": d.Format(time.DateOnly) + " 00:00:00"}, Metrics: m})
		}
	}
	return rows
}
