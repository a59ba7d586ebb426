package platforms

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"
)

// TikTokClient connects TikTok creators (Login Kit v2 + Display API).
// Creators have no ads: Insights and SetStatus are unsupported.
type TikTokClient struct {
	p *TikTokProvider
}

var _ Connector = (*TikTokClient)(nil)

const (
	ttUserFields  = "open_id,union_id,avatar_url,display_name,follower_count,following_count,likes_count,video_count"
	ttBasicFields = "open_id,union_id,avatar_url,display_name"
	ttVideoFields = "id,title,create_time,share_url,view_count,like_count,comment_count,share_count"
	// ttMaxVideoPages caps CreatorStats at 10 pages of 20: the recent 200.
	ttMaxVideoPages = 10
)

// NewTikTok builds the creator client.
func NewTikTok(s Settings) *TikTokClient { return &TikTokClient{p: NewTikTokProvider(s)} }

// Provider is the goth provider behind the client (same settings).
func (c *TikTokClient) Provider() *TikTokProvider { return c.p }

func (c *TikTokClient) Name() string { return TikTok }

func (c *TikTokClient) Configured() bool { return len(c.MissingConfig()) == 0 }

func (c *TikTokClient) MissingConfig() []string {
	return ttMissing("TIKTOK_CLIENT_KEY", c.p.ClientKey, "TIKTOK_CLIENT_SECRET", c.p.ClientSecret)
}

func (c *TikTokClient) notConfigured() error {
	return &Error{Platform: TikTok, Kind: KindInvalidRequest, Message: "TikTok is not configured"}
}

func (c *TikTokClient) AuthURL(state string) (string, error) {
	if !c.Configured() {
		return "", c.notConfigured()
	}
	sess, err := c.p.BeginAuth(state)
	if err != nil {
		return "", err
	}
	return sess.GetAuthURL()
}

// Complete exchanges the code and reads the creator's profile.
func (c *TikTokClient) Complete(ctx context.Context, params url.Values) (Token, []Account, error) {
	if !c.Configured() {
		return Token{}, nil, c.notConfigured()
	}
	t, err := c.p.Exchange(ctx, params.Get("code"))
	if err != nil {
		return Token{}, nil, err
	}
	u, err := c.p.profile(ctx, t.AccessToken)
	if err != nil {
		return Token{}, nil, err
	}
	if t.UserID == "" {
		t.UserID = u.OpenID
	}
	return t, []Account{u.account(t.Scopes)}, nil
}

func (c *TikTokClient) Accounts(ctx context.Context, token string) ([]Account, error) {
	u, err := c.p.profile(ctx, token)
	if err != nil {
		return nil, err
	}
	return []Account{u.account(nil)}, nil
}

func (c *TikTokClient) Insights(context.Context, Credentials, InsightsQuery) ([]InsightRow, error) {
	return nil, Unsupported(TikTok, "insights for creators")
}

func (c *TikTokClient) SetStatus(context.Context, Credentials, Level, string, bool) error {
	return Unsupported(TikTok, "status changes for creators")
}

// CreatorStats reads profile counts and up to ttMaxVideoPages pages of videos.
func (c *TikTokClient) CreatorStats(ctx context.Context, cred Credentials) (CreatorStats, error) {
	u, err := c.p.userInfo(ctx, cred.AccessToken, ttUserFields)
	if err != nil {
		return CreatorStats{}, err
	}
	st := CreatorStats{DisplayName: u.DisplayName, Followers: u.FollowerCount, Following: u.FollowingCount, Likes: u.LikesCount, VideoCount: u.VideoCount}
	var cursor int64
	for page := 0; page < ttMaxVideoPages; page++ {
		body := map[string]any{"max_count": 20}
		if cursor > 0 {
			body["cursor"] = cursor
		}
		b, _ := json.Marshal(body)
		var data struct {
			Videos []struct {
				ID           string `json:"id"`
				Title        string `json:"title"`
				CreateTime   int64  `json:"create_time"`
				ShareURL     string `json:"share_url"`
				ViewCount    int64  `json:"view_count"`
				LikeCount    int64  `json:"like_count"`
				CommentCount int64  `json:"comment_count"`
				ShareCount   int64  `json:"share_count"`
			} `json:"videos"`
			Cursor  int64 `json:"cursor"`
			HasMore bool  `json:"has_more"`
		}
		req := ttRequest{method: http.MethodPost, url: c.p.APIURL + "/v2/video/list/?fields=" + ttVideoFields, body: b, token: cred.AccessToken,
			header: http.Header{"Authorization": {"Bearer " + cred.AccessToken}, "Content-Type": {"application/json"}}}
		if err := c.p.caller.do(ctx, req, c.p.caller.displayCheck(&data)); err != nil {
			return CreatorStats{}, err
		}
		for _, v := range data.Videos {
			st.Videos = append(st.Videos, VideoStats{ID: v.ID, Title: v.Title, CreatedAt: time.Unix(v.CreateTime, 0).UTC(), ShareURL: v.ShareURL,
				Views: v.ViewCount, Likes: v.LikeCount, Comments: v.CommentCount, Shares: v.ShareCount})
		}
		// A cursor that does not move would loop; stop there too.
		if !data.HasMore || data.Cursor == 0 || data.Cursor == cursor {
			break
		}
		cursor = data.Cursor
	}
	return st, nil
}

// TokenInfo asks user info: access_token_invalid means a dead token.
func (c *TikTokClient) TokenInfo(ctx context.Context, cred Credentials) (TokenInfo, error) {
	u, err := c.p.userInfo(ctx, cred.AccessToken, "open_id")
	if IsTokenInvalid(err) {
		return TokenInfo{Valid: false, Reason: "TikTok no longer accepts this token (expired or revoked); reconnect the account"}, nil
	}
	if err != nil {
		return TokenInfo{}, err
	}
	return TokenInfo{Valid: true, UserID: u.OpenID}, nil
}

// Refresh returns the rotated pair; the caller keeps its stored refresh
// token when the answer has none.
func (c *TikTokClient) Refresh(ctx context.Context, refreshToken string) (Token, error) {
	return c.p.RefreshContext(ctx, refreshToken)
}

// Revoke forgets the token; one TikTok already refuses counts as done.
func (c *TikTokClient) Revoke(ctx context.Context, cred Credentials) error {
	if err := c.p.revoke(ctx, cred.AccessToken); err != nil && !IsTokenInvalid(err) {
		return err
	}
	return nil
}

// ttUser is the Display API user object.
type ttUser struct {
	OpenID         string `json:"open_id"`
	UnionID        string `json:"union_id"`
	AvatarURL      string `json:"avatar_url"`
	DisplayName    string `json:"display_name"`
	FollowerCount  int64  `json:"follower_count"`
	FollowingCount int64  `json:"following_count"`
	LikesCount     int64  `json:"likes_count"`
	VideoCount     int64  `json:"video_count"`
}

func (p *TikTokProvider) userInfo(ctx context.Context, token, fields string) (ttUser, error) {
	var data struct {
		User ttUser `json:"user"`
	}
	req := ttRequest{method: http.MethodGet, url: p.APIURL + "/v2/user/info/?fields=" + fields, token: token,
		header: http.Header{"Authorization": {"Bearer " + token}}}
	if err := p.caller.do(ctx, req, p.caller.displayCheck(&data)); err != nil {
		return ttUser{}, err
	}
	if data.User.OpenID == "" {
		return ttUser{}, &Error{Platform: TikTok, Kind: KindInvalidRequest, Message: "user info has no open_id"}
	}
	return data.User, nil
}

// profile reads the user with counts, or without them when the creator
// unticked user.info.stats on the consent screen: an Account needs none.
func (p *TikTokProvider) profile(ctx context.Context, token string) (ttUser, error) {
	u, err := p.userInfo(ctx, token, ttUserFields)
	if KindOf(err) == KindPermission {
		return p.userInfo(ctx, token, ttBasicFields)
	}
	return u, err
}

func (u ttUser) account(scopes []string) Account {
	meta := map[string]any{"open_id": u.OpenID, "display_name": u.DisplayName, "avatar_url": u.AvatarURL, "union_id": u.UnionID}
	if scopes != nil {
		meta["scopes"] = scopes
	}
	return Account{Ref: u.OpenID, Name: u.DisplayName, Kind: KindCreator, Status: "active", Meta: meta}
}
