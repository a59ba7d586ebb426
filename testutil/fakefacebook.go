package testutil

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// FakeFacebook is an in-process Graph API speaking the wire format of
// facebook.com's OAuth dialog and graph.facebook.com (see
// shared/reference/platform-apis.md §1). It knows nothing of adpilot's code.
// The routes live in fakefacebook_routes.go, insights in fakefacebook_insights.go.
type FakeFacebook struct {
	URL       string
	AppID     string
	AppSecret string
	Version   string // what Env() puts in FB_GRAPH_VERSION; any /vNN.N/ prefix is accepted
	Server    *httptest.Server

	mu            sync.Mutex
	userID        string
	userName      string
	adAccounts    []FakeAdAccount
	pages         []FakePage
	tokens        map[string]*fakeFBToken
	codes         map[string]*fakeFBCode
	lastRedirect  string
	denyConsent   bool
	requireProof  bool
	pageSize      int
	failures      []*FakeFailure
	forceAsync    bool
	asyncOutcome  string
	reports       map[string]*fakeFBReport
	rawInsights   map[string][]map[string]any
	statusChanges []FakeStatusChange
	requests      []FakeRequest
	usage         map[string]string
	seq           int
}

// FakeAdAccount is an ad account; ID is the number without "act_".
type FakeAdAccount struct {
	ID, Name, Currency, Timezone string
	Status                       int // account_status: 1 active, 2 disabled, …
}

// FakePage is a Page with its own (never expiring) Page token.
type FakePage struct {
	ID, Name, Category, Token string
	Tasks                     []string
}

// FakeRequest is one request as the fake saw it; Path has no version prefix.
type FakeRequest struct {
	Method, Path, Version string
	Form                  url.Values // query and form values together
	BasicAuth             bool
}

// FakeStatusChange is one POST /{entity_id} status=….
type FakeStatusChange struct{ EntityID, Status string }

// FakeFailure makes the next Times requests whose path ends with Path answer
// Status with Body and Headers.
type FakeFailure struct {
	Path    string
	Times   int
	Status  int
	Body    string
	Headers map[string]string
}

type fakeFBToken struct {
	userID, kind, pageID string // kind USER, PAGE or APP
	expires              time.Time
	scopes               []string
	dead                 int // 0 valid, else the 190 subcode it answers
}

type fakeFBCode struct {
	redirectURI string
	scopes      []string
	used        bool
}

// DefaultFakeFBScopes are granted when a dialog asks for none.
var DefaultFakeFBScopes = []string{"email", "ads_read", "ads_management", "pages_show_list", "business_management"}

// NewFakeFacebook starts the fake: user 10001, ad accounts act_111 (USD) and
// act_222 (EUR), one Page, appsecret_proof required, pages of 25 items.
func NewFakeFacebook(t testing.TB) *FakeFacebook {
	f := &FakeFacebook{
		AppID: "424242", AppSecret: "fake-app-secret-" + fbRandHex(8), Version: "v24.0",
		userID: "10001", userName: "Fiona Fake",
		adAccounts: []FakeAdAccount{
			{ID: "111", Name: "Main Ads", Currency: "USD", Timezone: "America/New_York", Status: 1},
			{ID: "222", Name: "Brand EU", Currency: "EUR", Timezone: "Europe/Berlin", Status: 1},
		},
		tokens: map[string]*fakeFBToken{}, codes: map[string]*fakeFBCode{}, reports: map[string]*fakeFBReport{},
		rawInsights: map[string][]map[string]any{}, requireProof: true, pageSize: 25, asyncOutcome: "Job Completed",
	}
	f.SetPages([]FakePage{{ID: "5550001", Name: "Fake Bakery", Category: "Bakery", Tasks: []string{"ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT"}}})
	f.tokens[f.AppID+"|"+f.AppSecret] = &fakeFBToken{kind: "APP"}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	f.URL = f.Server.URL
	t.Cleanup(f.Server.Close)
	return f
}

// Env is the configuration pointing adpilot at the fake.
func (f *FakeFacebook) Env() map[string]string {
	return map[string]string{"FB_APP_ID": f.AppID, "FB_APP_SECRET": f.AppSecret, "FB_GRAPH_URL": f.URL,
		"FB_DIALOG_URL": f.URL, "FB_GRAPH_VERSION": f.Version}
}

func (f *FakeFacebook) locked(fn func()) { f.mu.Lock(); defer f.mu.Unlock(); fn() }

// SetUser sets the id and name of the user who consents.
func (f *FakeFacebook) SetUser(id, name string) { f.locked(func() { f.userID, f.userName = id, name }) }

// SetAdAccounts replaces the user's ad accounts.
func (f *FakeFacebook) SetAdAccounts(a []FakeAdAccount) {
	f.locked(func() { f.adAccounts = append([]FakeAdAccount(nil), a...) })
}

// AdAccounts returns the user's ad accounts.
func (f *FakeFacebook) AdAccounts() []FakeAdAccount {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]FakeAdAccount(nil), f.adAccounts...)
}

// ExtraAdAccounts adds n more active USD accounts (act_900001…), to force paging.
func (f *FakeFacebook) ExtraAdAccounts(n int) {
	f.locked(func() {
		for i := 1; i <= n; i++ {
			f.adAccounts = append(f.adAccounts, FakeAdAccount{ID: strconv.Itoa(900000 + len(f.adAccounts) + i),
				Name: fmt.Sprintf("Extra %d", i), Currency: "USD", Timezone: "UTC", Status: 1})
		}
	})
}

// SetPages replaces the user's Pages; an empty Token gets a fresh one.
func (f *FakeFacebook) SetPages(p []FakePage) {
	f.locked(func() {
		f.pages = append([]FakePage(nil), p...)
		for i := range f.pages {
			if f.pages[i].Token == "" {
				f.pages[i].Token = "EAAP" + fbRandHex(16)
			}
			f.tokens[f.pages[i].Token] = &fakeFBToken{userID: f.userID, kind: "PAGE", pageID: f.pages[i].ID}
		}
	})
}

// Pages returns the Pages, with their tokens.
func (f *FakeFacebook) Pages() []FakePage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]FakePage(nil), f.pages...)
}

// SetDenyConsent makes the dialog answer access_denied.
func (f *FakeFacebook) SetDenyConsent(deny bool) { f.locked(func() { f.denyConsent = deny }) }

// SetRequireProof sets whether token-bearing calls must carry appsecret_proof.
func (f *FakeFacebook) SetRequireProof(b bool) { f.locked(func() { f.requireProof = b }) }

// SetPageSize caps list pages (default 25), whatever `limit` asks.
func (f *FakeFacebook) SetPageSize(n int) { f.locked(func() { f.pageSize = max(n, 1) }) }

// SetUsageHeaders adds headers (X-App-Usage, …) to every successful answer.
func (f *FakeFacebook) SetUsageHeaders(h map[string]string) { f.locked(func() { f.usage = h }) }

// ForceAsync makes synchronous insights answer "too large" (100/1504018).
func (f *FakeFacebook) ForceAsync(on bool) { f.locked(func() { f.forceAsync = on }) }

// SetAsyncOutcome sets the async_status a report run ends with (default "Job Completed").
func (f *FakeFacebook) SetAsyncOutcome(s string) { f.locked(func() { f.asyncOutcome = s }) }

// Fail queues an injected failure.
func (f *FakeFacebook) Fail(ff FakeFailure) {
	ff.Times = max(ff.Times, 1)
	f.locked(func() { f.failures = append(f.failures, &ff) })
}

// FailNext makes the next request on pathSuffix answer status with body.
func (f *FakeFacebook) FailNext(pathSuffix string, status int, body string) {
	f.Fail(FakeFailure{Path: pathSuffix, Status: status, Body: body})
}

// FailNextCode makes the next request on pathSuffix answer a Graph error.
func (f *FakeFacebook) FailNextCode(pathSuffix string, status, code, subcode int, headers map[string]string) {
	f.Fail(FakeFailure{Path: pathSuffix, Status: status, Body: FakeGraphError(code, subcode, ""), Headers: headers})
}

// FakeGraphError is a Graph error body; an empty message gets a typical one.
func FakeGraphError(code, subcode int, message string) string {
	if message == "" {
		message = fmt.Sprintf("(#%d) fake error %d/%d", code, code, subcode)
	}
	e := map[string]any{"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AfakeTrace" + strconv.Itoa(code)}
	if subcode != 0 {
		e["error_subcode"] = subcode
	}
	b, _ := json.Marshal(map[string]any{"error": e})
	return string(b)
}

// InvalidateAllTokens kills every issued token (190/460, password changed).
func (f *FakeFacebook) InvalidateAllTokens() {
	f.locked(func() {
		for _, t := range f.tokens {
			if t.kind != "APP" {
				t.dead = 460
			}
		}
	})
}

// InvalidateToken kills one token, as if its user changed their password.
func (f *FakeFacebook) InvalidateToken(token string) {
	f.locked(func() {
		if t, ok := f.tokens[token]; ok {
			t.dead = 460
		}
	})
}

// IssueToken returns a valid long-lived user token with scopes (default
// DefaultFakeFBScopes), as if the user had connected.
func (f *FakeFacebook) IssueToken(scopes ...string) string {
	if len(scopes) == 0 {
		scopes = DefaultFakeFBScopes
	}
	var tok string
	f.locked(func() { tok = f.issue(scopes, 60*24*time.Hour) })
	return tok
}

func (f *FakeFacebook) issue(scopes []string, life time.Duration) string {
	tok := "EAAF" + fbRandHex(20)
	f.tokens[tok] = &fakeFBToken{userID: f.userID, kind: "USER", expires: time.Now().Add(life), scopes: scopes}
	return tok
}

// Requests returns every request seen so far.
func (f *FakeFacebook) Requests() []FakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]FakeRequest(nil), f.requests...)
}

// Calls counts the requests whose (unversioned) path ends with pathSuffix.
func (f *FakeFacebook) Calls(pathSuffix string) int {
	n := 0
	for _, r := range f.Requests() {
		if strings.HasSuffix(r.Path, pathSuffix) {
			n++
		}
	}
	return n
}

// StatusChanges returns the recorded status changes.
func (f *FakeFacebook) StatusChanges() []FakeStatusChange {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]FakeStatusChange(nil), f.statusChanges...)
}

// LastRedirectURI is the redirect_uri of the last dialog request.
func (f *FakeFacebook) LastRedirectURI() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastRedirect
}

// Consent plays the browser on the dialog: it GETs authURL and returns the
// query the fake redirected to (code and state, or error=…).
func (f *FakeFacebook) Consent(t testing.TB, authURL string) url.Values {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(authURL)
	if err != nil {
		t.Fatalf("fake facebook dialog: %v", err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil {
		t.Fatalf("fake facebook dialog: status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query()
}

// SignedRequest is a correctly signed signed_request for userID.
func (f *FakeFacebook) SignedRequest(userID string) string {
	payload, _ := json.Marshal(map[string]any{"algorithm": "HMAC-SHA256", "issued_at": time.Now().Unix(), "user_id": userID})
	p := base64.RawURLEncoding.EncodeToString(payload)
	m := hmac.New(sha256.New, []byte(f.AppSecret))
	m.Write([]byte(p))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)) + "." + p
}

func (f *FakeFacebook) proof(token string) string {
	m := hmac.New(sha256.New, []byte(f.AppSecret))
	m.Write([]byte(token))
	return hex.EncodeToString(m.Sum(nil))
}

func fbRandHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

var fakeFBVersion = regexp.MustCompile(`^/(v\d+\.\d+)(/|$)`)

// splitVersion strips a /vNN.N prefix.
func fbSplitVersion(p string) (path, version string) {
	if m := fakeFBVersion.FindStringSubmatch(p); m != nil {
		return "/" + strings.TrimPrefix(p[len(m[1])+1:], "/"), m[1]
	}
	return p, ""
}
