package platforms

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/markbates/goth/providers/facebook"
	"golang.org/x/oauth2"
)

// Configured reports whether the app id and secret are set.
func (f *FacebookClient) Configured() bool { return len(f.MissingConfig()) == 0 }

// MissingConfig names the unset app credentials.
func (f *FacebookClient) MissingConfig() []string {
	var missing []string
	if f.s.FacebookAppID == "" {
		missing = append(missing, "FB_APP_ID")
	}
	if f.s.FacebookAppSecret == "" {
		missing = append(missing, "FB_APP_SECRET")
	}
	return missing
}

// provider is goth's Facebook provider, made to honour GraphURL: its HTTP
// client rewrites requests for graph.facebook.com to the configured host and
// carries ctx (goth's Authorize takes none). One per call, so ctx is not shared.
func (f *FacebookClient) provider(ctx context.Context) *facebook.Provider {
	p := facebook.New(f.s.FacebookAppID, f.s.FacebookAppSecret, f.s.BaseURL+CallbackPath(Facebook), f.s.FacebookScopes...)
	base := http.DefaultTransport
	if f.s.HTTPClient != nil && f.s.HTTPClient.Transport != nil {
		base = f.s.HTTPClient.Transport
	}
	rt := &fbGraphRewrite{ctx: ctx, base: base}
	if real, _ := url.Parse(fbRealGraphURL); f.graph.Host != real.Host || f.graph.Scheme != real.Scheme {
		rt.target = f.graph
	}
	p.HTTPClient = &http.Client{Transport: rt, Timeout: f.s.CallTimeout}
	return p
}

// fbGraphRewrite sends goth's hard-coded graph.facebook.com requests to target.
type fbGraphRewrite struct {
	ctx    context.Context
	base   http.RoundTripper
	target *url.URL // nil: leave the host alone
}

func (g *fbGraphRewrite) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(g.ctx)
	if g.target != nil && r.URL.Host == "graph.facebook.com" {
		r.URL.Scheme, r.URL.Host, r.Host = g.target.Scheme, g.target.Host, g.target.Host
	}
	return g.base.RoundTrip(r)
}

// AuthURL is the consent dialog: goth's URL moved to {DialogURL}/{version}/dialog/oauth.
func (f *FacebookClient) AuthURL(state string) (string, error) {
	if !f.Configured() {
		return "", &Error{Platform: Facebook, Kind: KindInvalidRequest, Message: "the Facebook app is not configured"}
	}
	sess, err := f.provider(context.Background()).BeginAuth(state)
	if err != nil {
		return "", err
	}
	raw, err := sess.GetAuthURL()
	if err != nil {
		return "", err
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(f.s.DialogURL, "/") + "/" + f.s.GraphVersion + "/dialog/oauth?" + u.RawQuery, nil
}

// Complete trades the callback's code for a short-lived token (goth), that
// for a long-lived one, and lists the accounts it reaches.
func (f *FacebookClient) Complete(ctx context.Context, params url.Values) (Token, []Account, error) {
	if params.Get("code") == "" {
		return Token{}, nil, &Error{Platform: Facebook, Kind: KindInvalidRequest, Message: "the callback carries no code"}
	}
	p := f.provider(ctx)
	sess, _ := p.UnmarshalSession("{}")
	// No retry: a code is single-use, a second try would only say "used".
	if _, err := sess.Authorize(p, params); err != nil {
		return Token{}, nil, fbExchangeError(err)
	}
	short := sess.(*facebook.Session).AccessToken

	var long struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	err := f.do(ctx, fbReq{method: http.MethodGet, path: "oauth/access_token", params: url.Values{
		"grant_type": {"fb_exchange_token"}, "client_id": {f.s.FacebookAppID},
		"client_secret": {f.s.FacebookAppSecret}, "fb_exchange_token": {short}}}, &long)
	if err != nil {
		return Token{}, nil, err
	}
	if long.AccessToken == "" {
		return Token{}, nil, &Error{Platform: Facebook, Kind: KindTransient, Message: "long-lived token exchange returned no token"}
	}
	tok := Token{AccessToken: long.AccessToken, Scopes: f.s.FacebookScopes}
	if long.ExpiresIn > 0 {
		tok.ExpiresAt = f.now().Add(time.Duration(long.ExpiresIn) * time.Second)
	}
	var me struct {
		ID string `json:"id"`
	}
	if err := f.do(ctx, fbReq{method: http.MethodGet, path: "me", token: tok.AccessToken,
		params: url.Values{"fields": {"id,name"}}}, &me); err != nil {
		return Token{}, nil, err
	}
	tok.UserID = me.ID
	// The granted scopes (the user may have unticked some); the requested
	// ones stand in when debug_token is unavailable.
	if info, err := f.TokenInfo(ctx, Credentials{AccessToken: tok.AccessToken}); err == nil && info.Valid {
		tok.Scopes = info.Scopes
	}
	accounts, err := f.Accounts(ctx, tok.AccessToken)
	if err != nil {
		return Token{}, nil, err
	}
	return tok, accounts, nil
}

// fbExchangeError types a failed code exchange: the platform's answer is an
// invalid request (used, expired or foreign code) unless it is a server or
// throttling problem.
func fbExchangeError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		var h http.Header
		if re.Response != nil {
			status, h = re.Response.StatusCode, re.Response.Header
		}
		e := fbFailure(status, h, re.Body)
		if e.Kind != KindTransient && e.Kind != KindRateLimited {
			e.Kind = KindInvalidRequest
		}
		return e
	}
	return &Error{Platform: Facebook, Kind: KindTransient, Message: "code exchange failed", Err: fbRedactURL(err)}
}

// SignedRequestMaxAge is how old a signed_request may be.
const SignedRequestMaxAge = 24 * time.Hour

// SignedRequest is the verified payload of a deauthorize or data deletion
// callback.
type SignedRequest struct {
	UserID    string
	IssuedAt  time.Time
	Algorithm string
}

// ParseSignedRequest verifies `<sig>.<payload>` (base64url) against the app
// secret. Any malformation is an *Error of KindInvalidRequest.
func (f *FacebookClient) ParseSignedRequest(signed string) (SignedRequest, error) {
	bad := func(msg string) (SignedRequest, error) {
		return SignedRequest{}, &Error{Platform: Facebook, Kind: KindInvalidRequest, Message: "signed_request: " + msg}
	}
	if f.s.FacebookAppSecret == "" {
		return bad("no app secret configured")
	}
	sigPart, payloadPart, ok := strings.Cut(signed, ".")
	if !ok || sigPart == "" || payloadPart == "" || strings.Contains(payloadPart, ".") {
		return bad("not two dot-separated parts")
	}
	sig, err1 := fbB64URL(sigPart)
	payload, err2 := fbB64URL(payloadPart)
	if err1 != nil || err2 != nil {
		return bad("not base64url")
	}
	m := hmac.New(sha256.New, []byte(f.s.FacebookAppSecret))
	m.Write([]byte(payloadPart)) // the segment as received
	if !hmac.Equal(sig, m.Sum(nil)) {
		return bad("bad signature")
	}
	var p struct {
		Algorithm string          `json:"algorithm"`
		IssuedAt  int64           `json:"issued_at"`
		UserID    json.RawMessage `json:"user_id"` // a string, sometimes a number
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		return bad("payload is not JSON")
	}
	if !strings.EqualFold(p.Algorithm, "HMAC-SHA256") {
		return bad("unsupported algorithm")
	}
	uid := strings.Trim(string(p.UserID), `"`)
	if _, err := strconv.ParseUint(uid, 10, 64); err != nil {
		return bad("no user_id")
	}
	issued := time.Unix(p.IssuedAt, 0).UTC()
	// A captured request replayed later would delete connections made
	// since; Facebook sends these at once.
	if p.IssuedAt != 0 && f.now().Sub(issued) > SignedRequestMaxAge {
		return SignedRequest{}, &Error{Platform: Facebook, Kind: KindInvalidRequest, Message: "signed_request is too old"}
	}
	return SignedRequest{UserID: uid, IssuedAt: issued, Algorithm: p.Algorithm}, nil
}

// fbB64URL decodes base64url with or without padding.
func fbB64URL(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}
