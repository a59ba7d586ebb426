package platforms

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/markbates/goth"
	"golang.org/x/oauth2"
)

// TikTokProvider is a goth.Provider for TikTok Login Kit v2. goth's own
// TikTok provider speaks the retired v1 API. Goth's interface carries no
// context, so the *Context methods are what adpilot calls; the goth methods
// wrap them with context.Background().
type TikTokProvider struct {
	ClientKey    string
	ClientSecret string
	CallbackURL  string
	Scopes       []string
	AuthURL      string // https://www.tiktok.com
	APIURL       string // https://open.tiktokapis.com

	name   string
	caller *ttCaller
}

var (
	_ goth.Provider = (*TikTokProvider)(nil)
	_ goth.Session  = (*TikTokSession)(nil)
)

// DefaultTikTokScopes are asked for when Settings name none.
var DefaultTikTokScopes = []string{"user.info.basic", "user.info.stats", "video.list"}

// NewTikTokProvider builds the provider from Settings; the callback is
// BaseURL + CallbackPath(TikTok).
func NewTikTokProvider(s Settings) *TikTokProvider {
	scopes := s.TikTokScopes
	if len(scopes) == 0 {
		scopes = DefaultTikTokScopes
	}
	return &TikTokProvider{
		ClientKey:    s.TikTokClientKey,
		ClientSecret: s.TikTokClientSecret,
		CallbackURL:  strings.TrimRight(s.BaseURL, "/") + CallbackPath(TikTok),
		Scopes:       scopes,
		AuthURL:      ttBase(s.TikTokAuthURL, ttDefaultAuthURL),
		APIURL:       ttBase(s.TikTokAPIURL, ttDefaultAPIURL),
		name:         TikTok,
		caller:       newTTCaller(TikTok, s, s.TikTokClientSecret),
	}
}

func (p *TikTokProvider) Name() string        { return p.name }
func (p *TikTokProvider) SetName(name string) { p.name = name }

// Debug logs failed calls (method, URL without query, kind) at debug level.
func (p *TikTokProvider) Debug(on bool) { p.caller.debug = on }

// BeginAuth returns a session whose GetAuthURL is the consent page.
func (p *TikTokProvider) BeginAuth(state string) (goth.Session, error) {
	q := url.Values{
		"client_key":    {p.ClientKey},
		"scope":         {strings.Join(p.Scopes, ",")},
		"response_type": {"code"},
		"redirect_uri":  {p.CallbackURL},
		"state":         {state},
	}
	return &TikTokSession{AuthURL: p.AuthURL + "/v2/auth/authorize/?" + q.Encode()}, nil
}

func (p *TikTokProvider) UnmarshalSession(data string) (goth.Session, error) {
	s := &TikTokSession{}
	err := json.NewDecoder(strings.NewReader(data)).Decode(s)
	return s, err
}

// FetchUser reads the creator's profile with the session's token.
func (p *TikTokProvider) FetchUser(session goth.Session) (goth.User, error) {
	return p.FetchUserContext(context.Background(), session)
}

func (p *TikTokProvider) FetchUserContext(ctx context.Context, session goth.Session) (goth.User, error) {
	s, ok := session.(*TikTokSession)
	if !ok || s.AccessToken == "" {
		return goth.User{Provider: p.name}, errors.New("tiktok: session has no access token")
	}
	u, err := p.userInfo(ctx, s.AccessToken, ttUserFields)
	if err != nil {
		return goth.User{Provider: p.name}, err
	}
	return goth.User{
		Provider:     p.name,
		UserID:       u.OpenID,
		Name:         u.DisplayName,
		NickName:     u.DisplayName,
		AvatarURL:    u.AvatarURL,
		AccessToken:  s.AccessToken,
		RefreshToken: s.RefreshToken,
		ExpiresAt:    s.ExpiresAt,
		RawData: map[string]any{
			"open_id": u.OpenID, "union_id": u.UnionID, "display_name": u.DisplayName, "avatar_url": u.AvatarURL,
			"follower_count": u.FollowerCount, "following_count": u.FollowingCount,
			"likes_count": u.LikesCount, "video_count": u.VideoCount,
		},
	}, nil
}

func (p *TikTokProvider) RefreshTokenAvailable() bool { return true }

// RefreshToken trades a refresh token for a new pair (TikTok rotates it).
func (p *TikTokProvider) RefreshToken(refreshToken string) (*oauth2.Token, error) {
	t, err := p.RefreshContext(context.Background(), refreshToken)
	if err != nil {
		return nil, err
	}
	return &oauth2.Token{AccessToken: t.AccessToken, TokenType: "Bearer", RefreshToken: t.RefreshToken, Expiry: t.ExpiresAt}, nil
}

// Exchange trades an authorization code for a token pair. A bad or
// replayed code is KindInvalidRequest.
func (p *TikTokProvider) Exchange(ctx context.Context, code string) (Token, error) {
	if code == "" {
		return Token{}, &Error{Platform: TikTok, Kind: KindInvalidRequest, Message: "callback has no code"}
	}
	return p.token(ctx, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {p.CallbackURL}}, KindInvalidRequest, code)
}

// RefreshContext trades a refresh token for a new pair. invalid_grant means
// the refresh token is dead: KindTokenInvalid.
func (p *TikTokProvider) RefreshContext(ctx context.Context, refreshToken string) (Token, error) {
	if refreshToken == "" {
		return Token{}, &Error{Platform: TikTok, Kind: KindTokenInvalid, Message: "no refresh token"}
	}
	return p.token(ctx, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}, KindTokenInvalid, refreshToken)
}

// ttOAuthToken is the flat Login Kit token response.
type ttOAuthToken struct {
	OpenID           string `json:"open_id"`
	Scope            string `json:"scope"`
	AccessToken      string `json:"access_token"`
	ExpiresIn        int64  `json:"expires_in"`
	RefreshToken     string `json:"refresh_token"`
	RefreshExpiresIn int64  `json:"refresh_expires_in"`
	TokenType        string `json:"token_type"`
}

func (p *TikTokProvider) token(ctx context.Context, form url.Values, invalidGrant Kind, secret string) (Token, error) {
	form.Set("client_key", p.ClientKey)
	form.Set("client_secret", p.ClientSecret)
	var raw ttOAuthToken
	req := ttRequest{method: http.MethodPost, url: p.APIURL + "/v2/oauth/token/", body: []byte(form.Encode()), token: secret,
		header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, once: true}
	if err := p.caller.do(ctx, req, p.caller.oauthCheck(&raw, invalidGrant)); err != nil {
		return Token{}, err
	}
	if raw.AccessToken == "" {
		return Token{}, &Error{Platform: TikTok, Kind: KindInvalidRequest, Message: "token response has no access_token"}
	}
	now := p.caller.now()
	t := Token{AccessToken: raw.AccessToken, RefreshToken: raw.RefreshToken, Scopes: ttSplitScopes(raw.Scope), UserID: raw.OpenID}
	if raw.ExpiresIn > 0 {
		t.ExpiresAt = now.Add(time.Duration(raw.ExpiresIn) * time.Second)
	}
	if raw.RefreshExpiresIn > 0 {
		t.RefreshExpiresAt = now.Add(time.Duration(raw.RefreshExpiresIn) * time.Second)
	}
	return t, nil
}

// revoke tells TikTok to forget an access token. It answers {}.
func (p *TikTokProvider) revoke(ctx context.Context, token string) error {
	form := url.Values{"client_key": {p.ClientKey}, "client_secret": {p.ClientSecret}, "token": {token}}
	req := ttRequest{method: http.MethodPost, url: p.APIURL + "/v2/oauth/revoke/", body: []byte(form.Encode()), token: token,
		header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}}
	return p.caller.do(ctx, req, p.caller.oauthCheck(nil, KindTokenInvalid))
}

// TikTokSession is the goth.Session of TikTokProvider.
type TikTokSession struct {
	AuthURL          string
	AccessToken      string
	RefreshToken     string
	ExpiresAt        time.Time
	RefreshExpiresAt time.Time
	OpenID           string
	Scopes           []string
}

func (s *TikTokSession) GetAuthURL() (string, error) {
	if s.AuthURL == "" {
		return "", errors.New(goth.NoAuthUrlErrorMessage)
	}
	return s.AuthURL, nil
}

func (s *TikTokSession) Marshal() string {
	b, _ := json.Marshal(s)
	return string(b)
}

// Authorize exchanges the callback's code; the caller has checked state.
func (s *TikTokSession) Authorize(provider goth.Provider, params goth.Params) (string, error) {
	p, ok := provider.(*TikTokProvider)
	if !ok {
		return "", errors.New("tiktok: Authorize needs a *TikTokProvider")
	}
	return s.AuthorizeContext(context.Background(), p, params)
}

func (s *TikTokSession) AuthorizeContext(ctx context.Context, p *TikTokProvider, params goth.Params) (string, error) {
	t, err := p.Exchange(ctx, params.Get("code"))
	if err != nil {
		return "", err
	}
	s.AccessToken, s.RefreshToken, s.OpenID, s.Scopes = t.AccessToken, t.RefreshToken, t.UserID, t.Scopes
	s.ExpiresAt, s.RefreshExpiresAt = t.ExpiresAt, t.RefreshExpiresAt
	return t.AccessToken, nil
}
