package platforms_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/markbates/goth"

	"adpilot/platforms"
	"adpilot/testutil"
)

var ttNowFixed = time.Date(2025, 3, 15, 12, 0, 0, 0, time.UTC)

// ttWaits records the backoff waits instead of sleeping.
type ttWaits struct {
	mu sync.Mutex
	d  []time.Duration
}

func (w *ttWaits) sleep(_ context.Context, d time.Duration) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.d = append(w.d, d)
	return nil
}

func (w *ttWaits) all() []time.Duration { w.mu.Lock(); defer w.mu.Unlock(); return slices.Clone(w.d) }

// ttSetup starts the fake and settings pointing at it; attempts is the
// retry budget (1: no retries).
func ttSetup(t *testing.T, attempts int) (*testutil.FakeTikTok, platforms.Settings, *ttWaits) {
	t.Helper()
	f := testutil.NewFakeTikTok(t)
	w := &ttWaits{}
	s := platforms.Settings{
		BaseURL:         "https://adpilot.test",
		TikTokClientKey: f.ClientKey, TikTokClientSecret: f.ClientSecret,
		TikTokScopes:  []string{"user.info.basic", "user.info.stats", "video.list"},
		TikTokAuthURL: f.URL, TikTokAPIURL: f.URL, TikTokBusinessURL: f.URL,
		TikTokAdsAppID: f.AdsAppID, TikTokAdsSecret: f.AdsSecret,
		CallTimeout: 2 * time.Second,
		Retry:       platforms.Retry{Attempts: attempts, Base: 100 * time.Millisecond, Max: 10 * time.Second, Sleep: w.sleep},
		Now:         func() time.Time { return ttNowFixed },
	}
	return f, s, w
}

// ttPlatformError asserts err is a *platforms.Error of kind and holds no
// secret of the fake nor any of the given tokens.
func ttPlatformError(t *testing.T, f *testutil.FakeTikTok, err error, kind platforms.Kind, tokens ...string) *platforms.Error {
	t.Helper()
	var pe *platforms.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *platforms.Error", err, err)
	}
	if pe.Kind != kind {
		t.Fatalf("kind = %v, want %v (%v)", pe.Kind, kind, err)
	}
	for _, s := range append(tokens, f.ClientSecret, f.AdsSecret) {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Fatalf("error %q leaks a secret or token", err)
		}
	}
	return pe
}

func TestTikTokConfig(t *testing.T) {
	c := platforms.NewTikTok(platforms.Settings{TikTokClientKey: "k"})
	if c.Configured() || !slices.Equal(c.MissingConfig(), []string{"TIKTOK_CLIENT_SECRET"}) {
		t.Fatalf("Configured %v, missing %v", c.Configured(), c.MissingConfig())
	}
	if _, err := c.AuthURL("s"); err == nil {
		t.Fatal("AuthURL works without configuration")
	}
	if got := platforms.NewTikTok(platforms.Settings{}).MissingConfig(); len(got) != 2 {
		t.Fatalf("missing %v", got)
	}
}

func TestTikTokCompleteAndReplay(t *testing.T) {
	f, s, _ := ttSetup(t, 3)
	c := platforms.NewTikTok(s)
	ctx := context.Background()
	authURL, err := c.AuthURL("state-1")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(authURL)
	q := u.Query()
	if u.Path != "/v2/auth/authorize/" || q.Get("client_key") != f.ClientKey || q.Get("scope") != "user.info.basic,user.info.stats,video.list" ||
		q.Get("response_type") != "code" || q.Get("redirect_uri") != "https://adpilot.test/oauth/tiktok/callback" {
		t.Fatalf("auth URL %s", authURL)
	}
	cb := f.Consent(t, authURL)
	if cb.Get("state") != "state-1" || cb.Get("code") == "" {
		t.Fatalf("callback %v", cb)
	}
	tok, accts, err := c.Complete(ctx, cb)
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.UserID != "open-creator-1" ||
		!tok.ExpiresAt.Equal(ttNowFixed.Add(86400*time.Second)) || !tok.RefreshExpiresAt.Equal(ttNowFixed.Add(31536000*time.Second)) ||
		!slices.Equal(tok.Scopes, s.TikTokScopes) {
		t.Fatalf("token %+v", tok)
	}
	if len(accts) != 1 {
		t.Fatalf("accounts %+v", accts)
	}
	a := accts[0]
	if a.Ref != "open-creator-1" || a.Name != "Test Creator" || a.Kind != platforms.KindCreator || a.Status != "active" ||
		a.Meta["union_id"] != "union-1" || a.Meta["avatar_url"] != f.URL+"/avatar.jpg" || a.Meta["open_id"] != a.Ref || a.Meta["display_name"] != a.Name {
		t.Fatalf("account %+v", a)
	}
	if sc, _ := a.Meta["scopes"].([]string); !slices.Equal(sc, s.TikTokScopes) {
		t.Fatalf("meta scopes %v", a.Meta["scopes"])
	}
	for _, r := range f.Requests() {
		if r.Path == "/v2/user/info/" && r.Header.Get("Authorization") != "Bearer "+tok.AccessToken {
			t.Fatalf("user info Authorization %q", r.Header.Get("Authorization"))
		}
	}

	// The code is single-use: a replay is a bad request, not retried.
	_, _, err = c.Complete(ctx, cb)
	pe := ttPlatformError(t, f, err, platforms.KindInvalidRequest, cb.Get("code"))
	if pe.Code != "invalid_grant" || pe.Message != "Authorization code is expired." || !strings.HasPrefix(pe.TraceID, "log") || pe.HTTPStatus != 400 {
		t.Fatalf("replay error %+v", pe)
	}
	if n := f.Calls("/v2/oauth/token/"); n != 2 {
		t.Fatalf("token calls = %d, want 2", n)
	}
	_, _, err = c.Complete(ctx, url.Values{"state": {"x"}})
	ttPlatformError(t, f, err, platforms.KindInvalidRequest)
}

func TestTikTokGothProvider(t *testing.T) {
	f, s, _ := ttSetup(t, 1)
	var p goth.Provider = platforms.NewTikTok(s).Provider()
	sess, err := p.BeginAuth("st")
	if err != nil {
		t.Fatal(err)
	}
	authURL, _ := sess.GetAuthURL()
	cb := f.Consent(t, authURL)
	sess, err = p.UnmarshalSession(sess.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sess.Authorize(p, cb); err != nil {
		t.Fatal(err)
	}
	u, err := p.FetchUser(sess)
	if err != nil || u.UserID != "open-creator-1" || u.Name != "Test Creator" || u.AccessToken == "" || u.RefreshToken == "" || !p.RefreshTokenAvailable() {
		t.Fatalf("user %+v, %v", u, err)
	}
	nt, err := p.RefreshToken(u.RefreshToken)
	if err != nil || nt.RefreshToken == u.RefreshToken || nt.AccessToken == "" {
		t.Fatalf("refresh %+v, %v", nt, err)
	}

	// A creator who unticked user.info.stats still connects.
	basic, _ := f.IssueToken("user.info.basic")
	accts, err := platforms.NewTikTok(s).Accounts(context.Background(), basic)
	if err != nil || len(accts) != 1 || accts[0].Ref != "open-creator-1" {
		t.Fatalf("basic-only accounts %+v, %v", accts, err)
	}

	// Denied consent comes back to the callback with error= and state.
	f.SetDenyConsent(true)
	if cb := f.Consent(t, authURL); cb.Get("error") != "access_denied" || cb.Get("state") != "st" || cb.Get("code") != "" {
		t.Fatalf("denied callback %v", cb)
	}
}

func TestTikTokRefreshRotation(t *testing.T) {
	f, s, w := ttSetup(t, 3)
	c := platforms.NewTikTok(s)
	ctx := context.Background()
	_, rt := f.IssueToken("user.info.basic", "user.info.stats")
	tok, err := c.Refresh(ctx, rt)
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken == "" || tok.RefreshToken == rt || tok.AccessToken == "" || !tok.ExpiresAt.Equal(ttNowFixed.Add(24*time.Hour)) {
		t.Fatalf("refreshed %+v", tok)
	}
	if _, err := c.Accounts(ctx, tok.AccessToken); err != nil {
		t.Fatalf("new access token refused: %v", err)
	}
	_, err = c.Refresh(ctx, rt) // rotated away
	pe := ttPlatformError(t, f, err, platforms.KindTokenInvalid, rt)
	if pe.Code != "invalid_grant" || len(w.all()) != 0 || f.RefreshCount() != 1 {
		t.Fatalf("old refresh token: %+v, waits %v, refreshes %d", pe, w.all(), f.RefreshCount())
	}
	f.RevokeRefreshTokens()
	_, err = c.Refresh(ctx, tok.RefreshToken)
	ttPlatformError(t, f, err, platforms.KindTokenInvalid, tok.RefreshToken)
}

func TestTikTokTokenInfoAndRevoke(t *testing.T) {
	f, s, _ := ttSetup(t, 1)
	c := platforms.NewTikTok(s)
	ctx := context.Background()
	at, _ := f.IssueToken("user.info.basic")
	cred := platforms.Credentials{AccessToken: at, AccountRef: "open-creator-1", Kind: platforms.KindCreator}
	if ti, err := c.TokenInfo(ctx, cred); err != nil || !ti.Valid || ti.UserID != "open-creator-1" {
		t.Fatalf("valid token: %+v, %v", ti, err)
	}
	f.FailNext("/user/info/", 400, `{"data":{},"error":{"code":"invalid_params","message":"bad","log_id":"l1"}}`)
	_, err := c.TokenInfo(ctx, cred)
	ttPlatformError(t, f, err, platforms.KindInvalidRequest, at)

	if err := c.Revoke(ctx, cred); err != nil {
		t.Fatal(err)
	}
	r := f.Requests()
	if last := r[len(r)-1]; last.Path != "/v2/oauth/revoke/" || !strings.Contains(last.Body, "client_key="+f.ClientKey) || !strings.Contains(last.Body, "token="+at) {
		t.Fatalf("revoke request %+v", last)
	}
	ti, err := c.TokenInfo(ctx, cred)
	if err != nil || ti.Valid || ti.Reason == "" {
		t.Fatalf("revoked token: %+v, %v", ti, err)
	}
	if err := c.Revoke(ctx, cred); err != nil { // already gone: still fine
		t.Fatal(err)
	}
	at2, _ := f.IssueToken("user.info.basic")
	f.InvalidateAllTokens()
	if ti, err := c.TokenInfo(ctx, platforms.Credentials{AccessToken: at2}); err != nil || ti.Valid {
		t.Fatalf("invalidated token: %+v, %v", ti, err)
	}
	if _, err := c.Insights(ctx, cred, platforms.InsightsQuery{}); platforms.KindOf(err) != platforms.KindUnsupported {
		t.Fatalf("Insights: %v", err)
	}
	if err := c.SetStatus(ctx, cred, platforms.LevelAd, "1", true); platforms.KindOf(err) != platforms.KindUnsupported {
		t.Fatalf("SetStatus: %v", err)
	}
}

func TestTikTokCreatorStatsPaging(t *testing.T) {
	f, s, _ := ttSetup(t, 1)
	c := platforms.NewTikTok(s)
	ctx := context.Background()
	videos := func(n int) []testutil.FakeTikTokVideo {
		var vs []testutil.FakeTikTokVideo
		for i := range n {
			vs = append(vs, testutil.FakeTikTokVideo{ID: fmt.Sprint("v", i), Title: fmt.Sprint("T", i), CreateTime: 1740000000 - int64(i)*3600,
				ShareURL: fmt.Sprint("https://tiktok.test/v", i), Views: int64(i * 10), Likes: int64(i), Comments: 2, Shares: 3})
		}
		return vs
	}
	f.SetVideos(videos(45))
	at, _ := f.IssueToken("user.info.basic", "user.info.stats", "video.list")
	cred := platforms.Credentials{AccessToken: at, AccountRef: "open-creator-1"}
	st, err := c.CreatorStats(ctx, cred)
	if err != nil {
		t.Fatal(err)
	}
	if st.DisplayName != "Test Creator" || st.Followers != 1200 || st.Following != 80 || st.Likes != 34000 || st.VideoCount != 45 || len(st.Videos) != 45 {
		t.Fatalf("stats %+v (%d videos)", st, len(st.Videos))
	}
	v := st.Videos[44]
	if v.ID != "v44" || v.Title != "T44" || !v.CreatedAt.Equal(time.Unix(1740000000-44*3600, 0)) || v.Views != 440 || v.Likes != 44 || v.Comments != 2 || v.Shares != 3 || v.ShareURL == "" {
		t.Fatalf("last video %+v", v)
	}
	if n := f.Calls("/v2/video/list/"); n != 3 {
		t.Fatalf("video pages = %d, want 3", n)
	}
	var pages []string
	for _, r := range f.Requests() {
		if r.Path == "/v2/video/list/" {
			pages = append(pages, r.Body)
			if !strings.Contains(r.Query.Get("fields"), "view_count") {
				t.Fatalf("video fields %q", r.Query.Get("fields"))
			}
		}
	}
	if pages[0] != `{"max_count":20}` || pages[1] != fmt.Sprintf(`{"cursor":%d,"max_count":20}`, (1740000000-19*3600)*1000) {
		t.Fatalf("video list bodies %q", pages)
	}

	f.SetVideos(videos(250)) // capped at 10 pages
	st, err = c.CreatorStats(ctx, cred)
	if err != nil || len(st.Videos) != 200 || f.Calls("/v2/video/list/") != 13 {
		t.Fatalf("capped: %d videos, %d calls, %v", len(st.Videos), f.Calls("/v2/video/list/"), err)
	}

	noVideos, _ := f.IssueToken("user.info.basic", "user.info.stats")
	_, err = c.CreatorStats(ctx, platforms.Credentials{AccessToken: noVideos})
	ttPlatformError(t, f, err, platforms.KindPermission, noVideos)
}

func TestTikTokErrorMapping(t *testing.T) {
	body := func(code string) string {
		return `{"data":{},"error":{"code":"` + code + `","message":"msg ` + code + `","log_id":"log-` + code + `"}}`
	}
	cases := []struct {
		name, body string
		status     int
		header     http.Header
		kind       platforms.Kind
		code       string
		retryAfter time.Duration
	}{
		{"token invalid", body("access_token_invalid"), 401, nil, platforms.KindTokenInvalid, "access_token_invalid", 0},
		{"scope", body("scope_not_authorized"), 401, nil, platforms.KindPermission, "scope_not_authorized", 0},
		{"params", body("invalid_params"), 400, nil, platforms.KindInvalidRequest, "invalid_params", 0},
		{"rate code", body("rate_limit_exceeded"), 429, nil, platforms.KindRateLimited, "rate_limit_exceeded", 0},
		{"rate code on 200", body("rate_limit_exceeded"), 200, nil, platforms.KindRateLimited, "rate_limit_exceeded", 0},
		{"internal", body("internal_error"), 500, nil, platforms.KindTransient, "internal_error", 0},
		{"429 retry-after", "too many", 429, http.Header{"Retry-After": {"7"}}, platforms.KindRateLimited, "", 7 * time.Second},
		{"502 html", "<html>bad gateway</html>", 502, nil, platforms.KindTransient, "", 0},
		{"unknown code on 200", body("something_new"), 200, nil, platforms.KindInvalidRequest, "something_new", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, s, w := ttSetup(t, 1)
			c := platforms.NewTikTok(s)
			at, _ := f.IssueToken("user.info.basic", "user.info.stats")
			f.FailNextHeader("/v2/user/info/", tc.status, tc.body, tc.header)
			_, err := c.CreatorStats(context.Background(), platforms.Credentials{AccessToken: at})
			pe := ttPlatformError(t, f, err, tc.kind, at)
			if pe.Code != tc.code || pe.RetryAfter != tc.retryAfter || pe.HTTPStatus != tc.status || pe.Platform != platforms.TikTok {
				t.Fatalf("error %+v", pe)
			}
			if tc.code != "" && (pe.TraceID != "log-"+tc.code || pe.Message != "msg "+tc.code) {
				t.Fatalf("trace/message %+v", pe)
			}
			if len(w.all()) != 0 {
				t.Fatalf("waited %v with one attempt", w.all())
			}
		})
	}
}

func TestTikTokRetryDecisions(t *testing.T) {
	f, s, w := ttSetup(t, 3)
	c := platforms.NewTikTok(s)
	ctx := context.Background()
	at, _ := f.IssueToken("user.info.basic", "user.info.stats")

	f.FailNext("/v2/user/info/", 500, `{"data":{},"error":{"code":"internal_error","message":"x","log_id":"l"}}`)
	f.FailNextHeader("/v2/user/info/", 429, `{}`, http.Header{"Retry-After": {"3"}})
	if _, err := c.Accounts(ctx, at); err != nil {
		t.Fatalf("after a 500 and a 429: %v", err)
	}
	got := w.all()
	if len(got) != 2 || got[0] < 50*time.Millisecond || got[0] > 100*time.Millisecond || got[1] != 3*time.Second || f.Calls("/v2/user/info/") != 3 {
		t.Fatalf("waits %v, calls %d", got, f.Calls("/v2/user/info/"))
	}

	// Retry-After beyond Max: give up at once, the caller reschedules.
	f.FailNextHeader("/v2/user/info/", 429, `{}`, http.Header{"Retry-After": {"60"}})
	_, err := c.Accounts(ctx, at)
	if pe := ttPlatformError(t, f, err, platforms.KindRateLimited, at); pe.RetryAfter != time.Minute || len(w.all()) != 2 {
		t.Fatalf("long retry-after: %+v, waits %v", pe, w.all())
	}

	// A dead token is not retried.
	f.InvalidateAllTokens()
	before := f.Calls("/v2/user/info/")
	_, err = c.Accounts(ctx, at)
	ttPlatformError(t, f, err, platforms.KindTokenInvalid, at)
	if f.Calls("/v2/user/info/") != before+1 || len(w.all()) != 2 {
		t.Fatalf("token invalid retried: calls %d, waits %v", f.Calls("/v2/user/info/")-before, w.all())
	}

	// Transport errors are transient, retried, then returned.
	s.TikTokAPIURL = "http://127.0.0.1:1"
	_, err = platforms.NewTikTok(s).Accounts(ctx, "at-secret-value")
	ttPlatformError(t, f, err, platforms.KindTransient, "at-secret-value")
	if len(w.all()) != 4 {
		t.Fatalf("transport error waits %v", w.all())
	}
	// A refresh is tried once: TikTok rotates the refresh token, so a retry
	// after a lost answer would be refused and kill the connection.
	_, err = platforms.NewTikTok(s).Refresh(ctx, "rt-secret-value")
	ttPlatformError(t, f, err, platforms.KindTransient, "rt-secret-value")
	if len(w.all()) != 4 {
		t.Fatalf("a refresh was retried: waits %v", w.all())
	}
}
