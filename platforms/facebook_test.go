package platforms_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"adpilot/platforms"
	"adpilot/testutil"
)

// fbHarness is a FacebookClient wired to a fresh fake, with a settable clock
// and recorded (never slept) retry waits.
type fbHarness struct {
	fake   *testutil.FakeFacebook
	c      *platforms.FacebookClient
	s      platforms.Settings
	mu     sync.Mutex
	now    time.Time
	waits  []time.Duration
	ctx    context.Context
	tokens []string // every token the test handled, for the leak check
}

func newFB(t *testing.T, mod ...func(*platforms.Settings)) *fbHarness {
	t.Helper()
	h := &fbHarness{fake: testutil.NewFakeFacebook(t), now: time.Date(2025, 3, 20, 12, 0, 0, 0, time.UTC), ctx: context.Background()}
	env := h.fake.Env()
	h.s = platforms.Settings{
		BaseURL: "https://adpilot.test", FacebookAppID: env["FB_APP_ID"], FacebookAppSecret: env["FB_APP_SECRET"],
		FacebookScopes: []string{"ads_read", "ads_management", "pages_show_list"},
		GraphURL:       env["FB_GRAPH_URL"], DialogURL: env["FB_DIALOG_URL"], GraphVersion: env["FB_GRAPH_VERSION"],
		CallTimeout: 5 * time.Second,
		Retry: platforms.Retry{Attempts: 4, Base: 10 * time.Millisecond, Max: 30 * time.Second,
			Sleep: func(ctx context.Context, d time.Duration) error {
				h.mu.Lock()
				defer h.mu.Unlock()
				h.waits = append(h.waits, d)
				return ctx.Err()
			}},
		Now: func() time.Time { h.mu.Lock(); defer h.mu.Unlock(); return h.now },
	}
	for _, m := range mod {
		m(&h.s)
	}
	h.c = platforms.NewFacebook(h.s)
	h.c.PollInterval = time.Millisecond
	return h
}

func (h *fbHarness) advance(d time.Duration) { h.mu.Lock(); h.now = h.now.Add(d); h.mu.Unlock() }

func (h *fbHarness) recordedWaits() []time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.waits)
}

// userCred is a fresh valid user token for ad account act_111.
func (h *fbHarness) userCred() platforms.Credentials {
	tok := h.fake.IssueToken()
	h.tokens = append(h.tokens, tok)
	return platforms.Credentials{AccessToken: tok, AccountRef: "act_111", Kind: platforms.KindAdAccount}
}

// wantKind fails unless err is a Facebook *Error of kind k, and checks that
// no token or secret leaks into its text.
func (h *fbHarness) wantKind(t *testing.T, err error, k platforms.Kind) *platforms.Error {
	t.Helper()
	pe, ok := err.(*platforms.Error)
	if !ok || pe.Kind != k || pe.Platform != platforms.Facebook {
		t.Fatalf("error = %#v (%v), want a facebook *Error of kind %s", err, err, k)
	}
	h.noSecrets(t, err.Error())
	return pe
}

func (h *fbHarness) noSecrets(t *testing.T, s string) {
	t.Helper()
	for _, secret := range append(slices.Clone(h.tokens), h.fake.AppSecret) {
		if secret != "" && strings.Contains(s, secret) {
			t.Fatalf("%q contains a token or the app secret", s)
		}
	}
}

func TestFacebookConfig(t *testing.T) {
	c := platforms.NewFacebook(platforms.Settings{FacebookAppID: "1"})
	if c.Configured() || !slices.Equal(c.MissingConfig(), []string{"FB_APP_SECRET"}) {
		t.Fatalf("Configured=%v Missing=%v", c.Configured(), c.MissingConfig())
	}
	if got := platforms.NewFacebook(platforms.Settings{}).MissingConfig(); !slices.Equal(got, []string{"FB_APP_ID", "FB_APP_SECRET"}) {
		t.Fatalf("MissingConfig = %v", got)
	}
	if _, err := c.AuthURL("s"); err == nil {
		t.Fatal("AuthURL without a secret should fail")
	}
	h := newFB(t)
	if !h.c.Configured() || h.c.MissingConfig() != nil || h.c.Name() != platforms.Facebook {
		t.Fatal("fake-backed client should be configured")
	}
}

func TestFacebookAuthURL(t *testing.T) {
	h := newFB(t)
	raw, err := h.c.AuthURL("st4te-xyz")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(raw)
	q := u.Query()
	if got := u.Scheme + "://" + u.Host + u.Path; got != h.fake.URL+"/v24.0/dialog/oauth" {
		t.Errorf("dialog = %s", got)
	}
	if q.Get("state") != "st4te-xyz" || q.Get("client_id") != h.s.FacebookAppID ||
		q.Get("redirect_uri") != "https://adpilot.test/oauth/facebook/callback" || q.Get("response_type") != "code" {
		t.Errorf("query = %v", q)
	}
	for _, s := range []string{"email", "ads_read", "ads_management", "pages_show_list"} {
		if !strings.Contains(q.Get("scope"), s) {
			t.Errorf("scope %q lacks %s", q.Get("scope"), s)
		}
	}
	// Production defaults point at facebook.com.
	prod, _ := platforms.NewFacebook(platforms.Settings{FacebookAppID: "1", FacebookAppSecret: "x"}).AuthURL("s")
	if !strings.HasPrefix(prod, "https://www.facebook.com/v24.0/dialog/oauth?") {
		t.Errorf("default dialog = %s", prod)
	}
}

func TestFacebookCompleteOAuth(t *testing.T) {
	h := newFB(t)
	h.fake.ExtraAdAccounts(30) // 32 ad accounts: two pages of 25
	authURL, _ := h.c.AuthURL("st")
	cb := h.fake.Consent(t, authURL)
	if cb.Get("state") != "st" || cb.Get("code") == "" {
		t.Fatalf("callback = %v", cb)
	}
	tok, accounts, err := h.c.Complete(h.ctx, cb)
	if err != nil {
		t.Fatal(err)
	}
	h.tokens = append(h.tokens, tok.AccessToken)
	if tok.AccessToken == "" || tok.UserID != "10001" || tok.RefreshToken != "" {
		t.Errorf("token = %+v", tok)
	}
	if want := h.now.Add(5184000 * time.Second); !tok.ExpiresAt.Equal(want) {
		t.Errorf("ExpiresAt = %v, want %v (now + expires_in of the long-lived exchange)", tok.ExpiresAt, want)
	}
	if !slices.Contains(tok.Scopes, "ads_read") || !slices.Contains(tok.Scopes, "email") {
		t.Errorf("scopes = %v", tok.Scopes)
	}
	// The short-lived token was exchanged for a long-lived one.
	var exchanged bool
	for _, r := range h.fake.Requests() {
		if r.Path == "/oauth/access_token" && r.Form.Get("grant_type") == "fb_exchange_token" {
			exchanged = r.Version == "v24.0" && r.Form.Get("fb_exchange_token") != tok.AccessToken
		}
	}
	if !exchanged {
		t.Error("no versioned fb_exchange_token call")
	}
	if info, _ := h.c.TokenInfo(h.ctx, platforms.Credentials{AccessToken: tok.AccessToken}); !info.Valid {
		t.Error("returned token is not valid at the platform")
	}
	if n := h.fake.Calls("/me/adaccounts"); n != 2 {
		t.Errorf("/me/adaccounts calls = %d, want 2 pages", n)
	}
	var ads, pages []platforms.Account
	for _, a := range accounts {
		if a.Kind == platforms.KindPage {
			pages = append(pages, a)
		} else {
			ads = append(ads, a)
		}
	}
	if len(ads) != 32 || len(pages) != 1 {
		t.Fatalf("got %d ad accounts and %d pages", len(ads), len(pages))
	}
	a := ads[1]
	if a.Ref != "act_222" || a.Name != "Brand EU" || a.Kind != platforms.KindAdAccount || a.Currency != "EUR" ||
		a.Timezone != "Europe/Berlin" || a.Status != "active" || a.Meta["account_status"] != 1 || a.AccessToken != "" {
		t.Errorf("ad account = %+v", a)
	}
	p, fp := pages[0], h.fake.Pages()[0]
	h.tokens = append(h.tokens, fp.Token)
	if p.Ref != fp.ID || p.AccessToken != fp.Token || p.Status != "active" || p.Meta["category"] != "Bakery" ||
		!slices.Equal(p.Meta["tasks"].([]string), fp.Tasks) {
		t.Errorf("page = %+v", p)
	}
	h.noSecrets(t, fmt.Sprint(p.Meta, a.Meta))

	// The same code again: Facebook says it has been used.
	_, _, err = h.c.Complete(h.ctx, cb)
	if pe := h.wantKind(t, err, platforms.KindInvalidRequest); !strings.Contains(pe.Message, "has been used") || pe.Code != "100" {
		t.Errorf("replay error = %+v", pe)
	}
}

func TestFacebookCompleteRejects(t *testing.T) {
	h := newFB(t)
	h.fake.SetDenyConsent(true)
	authURL, _ := h.c.AuthURL("st")
	cb := h.fake.Consent(t, authURL)
	if cb.Get("error") != "access_denied" || cb.Get("error_reason") != "user_denied" || cb.Get("state") != "st" {
		t.Fatalf("denied callback = %v", cb)
	}
	_, _, err := h.c.Complete(h.ctx, cb)
	h.wantKind(t, err, platforms.KindInvalidRequest)

	// A code issued for another redirect_uri is refused.
	h.fake.SetDenyConsent(false)
	cb = h.fake.Consent(t, authURL)
	other := platforms.NewFacebook(func() platforms.Settings { s := h.s; s.BaseURL = "https://evil.test"; return s }())
	_, _, err = other.Complete(h.ctx, cb)
	h.wantKind(t, err, platforms.KindInvalidRequest)
	_, _, err = h.c.Complete(h.ctx, url.Values{"code": {"never-issued"}})
	h.wantKind(t, err, platforms.KindInvalidRequest)

	// x/oauth2 tries twice (Basic auth, then form credentials): fail both.
	// A Graph error at the token endpoint is about the code, not a token;
	// a server failure stays transient.
	h.fake.Fail(testutil.FakeFailure{Path: "/oauth/access_token", Times: 2, Status: 400, Body: testutil.FakeGraphError(190, 0, "")})
	_, _, err = h.c.Complete(h.ctx, h.fake.Consent(t, authURL))
	h.wantKind(t, err, platforms.KindInvalidRequest)
	h.fake.Fail(testutil.FakeFailure{Path: "/oauth/access_token", Times: 2, Status: 503, Body: "unavailable"})
	_, _, err = h.c.Complete(h.ctx, h.fake.Consent(t, authURL))
	h.wantKind(t, err, platforms.KindTransient)
}

func TestFacebookAccountsSkipsForbiddenEdge(t *testing.T) {
	h := newFB(t)
	cred := h.userCred()
	h.fake.FailNextCode("/me/accounts", 403, 200, 0, nil) // no pages_show_list
	accounts, err := h.c.Accounts(h.ctx, cred.AccessToken)
	if err != nil || len(accounts) != 2 || accounts[0].Ref != "act_111" {
		t.Fatalf("accounts = %+v, %v", accounts, err)
	}
	h.fake.FailNextCode("/me/adaccounts", 400, 190, 460, nil)
	_, err = h.c.Accounts(h.ctx, cred.AccessToken)
	h.wantKind(t, err, platforms.KindTokenInvalid)
}

func TestFacebookTokenInfo(t *testing.T) {
	h := newFB(t)
	cred := h.userCred()
	info, err := h.c.TokenInfo(h.ctx, cred)
	if err != nil || !info.Valid || info.UserID != "10001" || !slices.Contains(info.Scopes, "ads_read") || info.Reason != "" {
		t.Fatalf("info = %+v, %v", info, err)
	}
	if d := time.Until(info.ExpiresAt) - 60*24*time.Hour; d < -time.Minute || d > time.Minute {
		t.Errorf("ExpiresAt = %v, want about 60 days from now", info.ExpiresAt)
	}
	for _, r := range h.fake.Requests() {
		if r.Path == "/debug_token" && (r.Form.Get("access_token") != h.s.FacebookAppID+"|"+h.s.FacebookAppSecret || r.Form.Get("input_token") != cred.AccessToken) {
			t.Errorf("debug_token form = %v", r.Form)
		}
	}
	page, _ := h.c.TokenInfo(h.ctx, platforms.Credentials{AccessToken: h.fake.Pages()[0].Token})
	if !page.Valid || !page.ExpiresAt.IsZero() {
		t.Errorf("page token info = %+v, want valid and never expiring", page)
	}
	h.fake.InvalidateAllTokens()
	info, err = h.c.TokenInfo(h.ctx, cred)
	if err != nil || info.Valid || !strings.Contains(info.Reason, "invalidated") {
		t.Errorf("invalidated info = %+v, %v", info, err)
	}
	info, err = h.c.TokenInfo(h.ctx, platforms.Credentials{AccessToken: "garbage"})
	if err != nil || info.Valid || info.Reason == "" {
		t.Errorf("garbage info = %+v, %v", info, err)
	}
}

// A wrong app secret makes debug_token refuse our app token: that is no
// verdict on the user's token, and must not read as one.
func TestFacebookTokenInfoWithWrongAppSecret(t *testing.T) {
	h := newFB(t)
	cred := h.userCred()
	wrong := h.s
	wrong.FacebookAppSecret = "rotated-secret-value"
	_, err := platforms.NewFacebook(wrong).TokenInfo(h.ctx, cred)
	h.wantKind(t, err, platforms.KindPermission)
	if strings.Contains(err.Error(), "rotated-secret-value") || strings.Contains(err.Error(), cred.AccessToken) {
		t.Fatalf("error leaks a secret: %v", err)
	}
	unset := h.s
	unset.FacebookAppID, unset.FacebookAppSecret = "", ""
	_, err = platforms.NewFacebook(unset).TokenInfo(h.ctx, cred)
	h.wantKind(t, err, platforms.KindPermission)
}

func TestFacebookSetStatusRevokeUnsupported(t *testing.T) {
	h := newFB(t)
	cred := h.userCred()
	if err := h.c.SetStatus(h.ctx, cred, platforms.LevelCampaign, "11101", false); err != nil {
		t.Fatal(err)
	}
	if err := h.c.SetStatus(h.ctx, cred, platforms.LevelAd, "111010102", true); err != nil {
		t.Fatal(err)
	}
	want := []testutil.FakeStatusChange{{EntityID: "11101", Status: "PAUSED"}, {EntityID: "111010102", Status: "ACTIVE"}}
	if got := h.fake.StatusChanges(); !slices.Equal(got, want) {
		t.Errorf("status changes = %v", got)
	}
	h.wantKind(t, h.c.SetStatus(h.ctx, cred, platforms.LevelAccount, "act_111", false), platforms.KindUnsupported)
	h.wantKind(t, h.c.SetStatus(h.ctx, cred, platforms.LevelAd, "999", false), platforms.KindInvalidRequest)

	_, err := h.c.Refresh(h.ctx, "x")
	h.wantKind(t, err, platforms.KindUnsupported)
	_, err = h.c.CreatorStats(h.ctx, cred)
	h.wantKind(t, err, platforms.KindUnsupported)

	if err := h.c.Revoke(h.ctx, cred); err != nil {
		t.Fatal(err)
	}
	if h.fake.Calls("/me/permissions") != 1 {
		t.Error("no DELETE /me/permissions")
	}
	if info, _ := h.c.TokenInfo(h.ctx, cred); info.Valid {
		t.Error("token still valid after Revoke")
	}
	if err := h.c.Revoke(h.ctx, cred); err != nil { // already dead: done
		t.Errorf("second Revoke = %v", err)
	}
}

func TestFacebookParseSignedRequest(t *testing.T) {
	h := newFB(t)
	good := h.fake.SignedRequest("10001")
	sr, err := h.c.ParseSignedRequest(good)
	if err != nil || sr.UserID != "10001" || sr.Algorithm != "HMAC-SHA256" || time.Since(sr.IssuedAt) > time.Minute {
		t.Fatalf("parsed = %+v, %v", sr, err)
	}
	sig, payload, _ := strings.Cut(good, ".")
	pad := func(s string) string { return s + strings.Repeat("=", (4-len(s)%4)%4) }
	if _, err := h.c.ParseSignedRequest(pad(sig) + "." + payload); err != nil {
		t.Errorf("padded signature refused: %v", err)
	}
	forged := testutil.NewFakeFacebook(t).SignedRequest("10001") // signed with another secret
	tampered := sig + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"algorithm":"HMAC-SHA256","issued_at":1,"user_id":"666"}`))
	sha1Payload := base64.RawURLEncoding.EncodeToString([]byte(`{"algorithm":"HMAC-SHA1","issued_at":1,"user_id":"1"}`))
	stalePayload := base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf(`{"algorithm":"HMAC-SHA256","issued_at":%d,"user_id":"10001"}`,
		h.now.Add(-platforms.SignedRequestMaxAge-time.Hour).Unix())))
	for name, in := range map[string]string{"forged": forged, "tampered": tampered, "empty": "", "one part": payload,
		"three parts": good + ".x", "not base64": "!!!." + payload, "empty sig": "." + payload,
		"wrong algorithm": resign(h.fake.AppSecret, sha1Payload), "replayed days later": resign(h.fake.AppSecret, stalePayload)} {
		if _, err := h.c.ParseSignedRequest(in); platforms.KindOf(err) != platforms.KindInvalidRequest {
			t.Errorf("%s: err = %v, want invalid request", name, err)
		}
	}
}
