package platforms

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/markbates/goth"
	"golang.org/x/oauth2"
)

// TikTokAdsProvider is a goth.Provider for the TikTok for Business
// advertiser authorization portal. Its tokens have no expiry and no refresh
// token: they live until revoked.
type TikTokAdsProvider struct {
	AppID       string
	Secret      string
	CallbackURL string
	BusinessURL string // https://business-api.tiktok.com

	name   string
	caller *ttCaller
}

var (
	_ goth.Provider = (*TikTokAdsProvider)(nil)
	_ goth.Session  = (*TikTokAdsSession)(nil)
)

// NewTikTokAdsProvider builds the provider; the callback is BaseURL +
// CallbackPath(TikTokAds).
func NewTikTokAdsProvider(s Settings) *TikTokAdsProvider {
	return &TikTokAdsProvider{
		AppID:       s.TikTokAdsAppID,
		Secret:      s.TikTokAdsSecret,
		CallbackURL: strings.TrimRight(s.BaseURL, "/") + CallbackPath(TikTokAds),
		BusinessURL: ttBase(s.TikTokBusinessURL, ttDefaultBusinessURL),
		name:        TikTokAds,
		caller:      newTTCaller(TikTokAds, s, s.TikTokAdsSecret),
	}
}

func (p *TikTokAdsProvider) Name() string        { return p.name }
func (p *TikTokAdsProvider) SetName(name string) { p.name = name }
func (p *TikTokAdsProvider) Debug(on bool)       { p.caller.debug = on }

func (p *TikTokAdsProvider) BeginAuth(state string) (goth.Session, error) {
	q := url.Values{"app_id": {p.AppID}, "state": {state}, "redirect_uri": {p.CallbackURL}}
	return &TikTokAdsSession{AuthURL: p.BusinessURL + "/portal/auth?" + q.Encode()}, nil
}

func (p *TikTokAdsProvider) UnmarshalSession(data string) (goth.Session, error) {
	s := &TikTokAdsSession{}
	err := json.NewDecoder(strings.NewReader(data)).Decode(s)
	return s, err
}

// FetchUser makes no call: an advertiser token has no user behind it. The
// advertiser ids and scopes of the exchange are in RawData.
func (p *TikTokAdsProvider) FetchUser(session goth.Session) (goth.User, error) {
	s, ok := session.(*TikTokAdsSession)
	if !ok || s.AccessToken == "" {
		return goth.User{Provider: p.name}, errors.New("tiktok_ads: session has no access token")
	}
	return goth.User{Provider: p.name, AccessToken: s.AccessToken,
		RawData: map[string]any{"advertiser_ids": s.AdvertiserIDs, "scope": s.Scopes}}, nil
}

func (p *TikTokAdsProvider) RefreshTokenAvailable() bool { return false }

func (p *TikTokAdsProvider) RefreshToken(string) (*oauth2.Token, error) {
	return nil, Unsupported(TikTokAds, "token refresh")
}

// Exchange trades an auth_code for a token. Any refusal that retrying
// cannot fix is KindInvalidRequest (a bad or replayed code), whatever code
// the envelope carried.
func (p *TikTokAdsProvider) Exchange(ctx context.Context, authCode string) (Token, error) {
	if authCode == "" {
		return Token{}, &Error{Platform: TikTokAds, Kind: KindInvalidRequest, Message: "callback has no auth_code"}
	}
	var data struct {
		AccessToken   string            `json:"access_token"`
		AdvertiserIDs []json.RawMessage `json:"advertiser_ids"`
		Scope         []json.RawMessage `json:"scope"`
	}
	body, _ := json.Marshal(map[string]string{"app_id": p.AppID, "secret": p.Secret, "auth_code": authCode})
	req := ttRequest{method: http.MethodPost, url: p.BusinessURL + "/open_api/v1.3/oauth2/access_token/", body: body, token: authCode,
		header: http.Header{"Content-Type": {"application/json"}}, once: true}
	if err := p.caller.do(ctx, req, p.caller.adsCheck(&data)); err != nil {
		var pe *Error
		if errors.As(err, &pe) && !pe.Retryable() {
			pe.Kind = KindInvalidRequest
		}
		return Token{}, err
	}
	if data.AccessToken == "" {
		return Token{}, &Error{Platform: TikTokAds, Kind: KindInvalidRequest, Message: "token response has no access_token"}
	}
	t := Token{AccessToken: data.AccessToken}
	for _, r := range data.Scope {
		t.Scopes = append(t.Scopes, ttString(r))
	}
	for _, r := range data.AdvertiserIDs {
		t.AccountRefs = append(t.AccountRefs, ttString(r))
	}
	return t, nil
}

// revoke is best effort. (unverified endpoint and body)
func (p *TikTokAdsProvider) revoke(ctx context.Context, token string) error {
	body, _ := json.Marshal(map[string]string{"app_id": p.AppID, "secret": p.Secret, "access_token": token})
	req := ttRequest{method: http.MethodPost, url: p.BusinessURL + "/open_api/v1.3/oauth2/revoke_token/", body: body, token: token,
		header: http.Header{"Content-Type": {"application/json"}, "Access-Token": {token}}}
	return p.caller.do(ctx, req, p.caller.adsCheck(nil))
}

// TikTokAdsSession is the goth.Session of TikTokAdsProvider.
type TikTokAdsSession struct {
	AuthURL       string
	AccessToken   string
	AdvertiserIDs []string
	Scopes        []string
}

func (s *TikTokAdsSession) GetAuthURL() (string, error) {
	if s.AuthURL == "" {
		return "", errors.New(goth.NoAuthUrlErrorMessage)
	}
	return s.AuthURL, nil
}

func (s *TikTokAdsSession) Marshal() string {
	b, _ := json.Marshal(s)
	return string(b)
}

func (s *TikTokAdsSession) Authorize(provider goth.Provider, params goth.Params) (string, error) {
	p, ok := provider.(*TikTokAdsProvider)
	if !ok {
		return "", errors.New("tiktok_ads: Authorize needs a *TikTokAdsProvider")
	}
	return s.AuthorizeContext(context.Background(), p, params)
}

// AuthorizeContext reads auth_code (or code) from the callback.
func (s *TikTokAdsSession) AuthorizeContext(ctx context.Context, p *TikTokAdsProvider, params goth.Params) (string, error) {
	t, err := p.Exchange(ctx, ttAuthCode(params))
	if err != nil {
		return "", err
	}
	s.AccessToken, s.AdvertiserIDs, s.Scopes = t.AccessToken, t.AccountRefs, t.Scopes
	return t.AccessToken, nil
}

func ttAuthCode(params goth.Params) string {
	if c := params.Get("auth_code"); c != "" {
		return c
	}
	return params.Get("code")
}
