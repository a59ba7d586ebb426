package platforms

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// TikTokAdsClient connects TikTok for Business advertisers (Marketing API
// v1.3). Every call sends the token in the Access-Token header.
type TikTokAdsClient struct {
	p *TikTokAdsProvider
}

var _ Connector = (*TikTokAdsClient)(nil)

const ttAPI = "/open_api/v1.3"

// NewTikTokAds builds the advertiser client.
func NewTikTokAds(s Settings) *TikTokAdsClient { return &TikTokAdsClient{p: NewTikTokAdsProvider(s)} }

// Provider is the goth provider behind the client (same settings).
func (c *TikTokAdsClient) Provider() *TikTokAdsProvider { return c.p }

func (c *TikTokAdsClient) Name() string     { return TikTokAds }
func (c *TikTokAdsClient) Configured() bool { return len(c.MissingConfig()) == 0 }

func (c *TikTokAdsClient) MissingConfig() []string {
	return ttMissing("TIKTOK_ADS_APP_ID", c.p.AppID, "TIKTOK_ADS_APP_SECRET", c.p.Secret)
}

func (c *TikTokAdsClient) AuthURL(state string) (string, error) {
	if !c.Configured() {
		return "", &Error{Platform: TikTokAds, Kind: KindInvalidRequest, Message: "TikTok Ads is not configured"}
	}
	sess, _ := c.p.BeginAuth(state)
	return sess.GetAuthURL()
}

// Complete exchanges the auth_code (the token never expires: ExpiresAt
// stays zero) and lists the advertisers it reaches.
func (c *TikTokAdsClient) Complete(ctx context.Context, params url.Values) (Token, []Account, error) {
	t, err := c.p.Exchange(ctx, ttAuthCode(params))
	if err != nil {
		return Token{}, nil, err
	}
	accts, err := c.Accounts(ctx, t.AccessToken)
	return t, accts, err
}

// get sends one GET with the Access-Token header and decodes data into out.
func (c *TikTokAdsClient) get(ctx context.Context, token, path string, q url.Values, out any) error {
	req := ttRequest{method: http.MethodGet, url: c.p.BusinessURL + ttAPI + path + "?" + q.Encode(), token: token,
		header: http.Header{"Access-Token": {token}}}
	return c.p.caller.do(ctx, req, c.p.caller.adsCheck(out))
}

func (c *TikTokAdsClient) post(ctx context.Context, token, path string, body any) error {
	b, _ := json.Marshal(body)
	req := ttRequest{method: http.MethodPost, url: c.p.BusinessURL + ttAPI + path, token: token, body: b,
		header: http.Header{"Access-Token": {token}, "Content-Type": {"application/json"}}}
	return c.p.caller.do(ctx, req, c.p.caller.adsCheck(nil))
}

// authorized lists the advertisers the token reaches. (unverified endpoint;
// it carries the app secret in the query: errors redact the query.)
func (c *TikTokAdsClient) authorized(ctx context.Context, token string) ([]ttAdvertiser, error) {
	var data struct {
		List []struct {
			ID   json.RawMessage `json:"advertiser_id"`
			Name string          `json:"advertiser_name"`
		} `json:"list"`
	}
	if err := c.get(ctx, token, "/oauth2/advertiser/get/", url.Values{"app_id": {c.p.AppID}, "secret": {c.p.Secret}}, &data); err != nil {
		return nil, err
	}
	out := make([]ttAdvertiser, 0, len(data.List))
	for _, a := range data.List {
		if id := ttString(a.ID); id != "" && id != "null" { // an id-less entry cannot become a connection
			out = append(out, ttAdvertiser{ID: id, Name: a.Name})
		}
	}
	return out, nil
}

type ttAdvertiser struct{ ID, Name, Currency, Timezone, Status string }

// info reads currency, timezone and status, 100 ids a call. (unverified)
func (c *TikTokAdsClient) info(ctx context.Context, token string, ids []string) (map[string]ttAdvertiser, error) {
	out := map[string]ttAdvertiser{}
	for len(ids) > 0 {
		n := min(len(ids), 100)
		idsJSON, _ := json.Marshal(ids[:n])
		ids = ids[n:]
		var data struct {
			List []struct {
				ID       json.RawMessage `json:"advertiser_id"`
				Name     string          `json:"name"`
				Currency string          `json:"currency"`
				Timezone string          `json:"timezone"`
				Status   string          `json:"status"`
			} `json:"list"`
		}
		q := url.Values{"advertiser_ids": {string(idsJSON)}, "fields": {`["advertiser_id","name","currency","timezone","status"]`}}
		if err := c.get(ctx, token, "/advertiser/info/", q, &data); err != nil {
			return nil, err
		}
		for _, a := range data.List {
			id := ttString(a.ID)
			out[id] = ttAdvertiser{ID: id, Name: a.Name, Currency: a.Currency, Timezone: a.Timezone, Status: a.Status}
		}
	}
	return out, nil
}

// Accounts is one Account per authorized advertiser, with its details.
func (c *TikTokAdsClient) Accounts(ctx context.Context, token string) ([]Account, error) {
	advs, err := c.authorized(ctx, token)
	if err != nil || len(advs) == 0 {
		return nil, err
	}
	ids := make([]string, len(advs))
	for i, a := range advs {
		ids[i] = a.ID
	}
	details, err := c.info(ctx, token, ids)
	if err != nil {
		return nil, err
	}
	out := make([]Account, 0, len(advs))
	for _, a := range advs {
		d := details[a.ID]
		name := a.Name
		if name == "" {
			name = d.Name
		}
		out = append(out, Account{Ref: a.ID, Name: name, Kind: KindAdvertiser, Currency: d.Currency, Timezone: d.Timezone,
			Status: ttAdsStatus(d.Status),
			Meta:   map[string]any{"advertiser_id": a.ID, "status": d.Status, "currency": d.Currency, "timezone": d.Timezone}})
	}
	return out, nil
}

// ttAdsStatus turns STATUS_ENABLE into "active", STATUS_PENDING_CONFIRM
// into "pending confirm".
func ttAdsStatus(s string) string {
	switch s {
	case "STATUS_ENABLE":
		return "active"
	case "STATUS_DISABLE":
		return "disabled"
	}
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(s, "STATUS_")), "_", " ")
}

// SetStatus enables or disables one campaign, ad group or ad. The ad group
// and ad endpoints are (unverified) mirrors of the campaign one.
func (c *TikTokAdsClient) SetStatus(ctx context.Context, cred Credentials, level Level, entityID string, active bool) error {
	var path, key string
	switch level {
	case LevelCampaign:
		path, key = "/campaign/status/update/", "campaign_ids"
	case LevelAdSet:
		path, key = "/adgroup/status/update/", "adgroup_ids"
	case LevelAd:
		path, key = "/ad/status/update/", "ad_ids"
	case LevelAccount:
		return Unsupported(TikTokAds, "advertiser status changes")
	default:
		return &Error{Platform: TikTokAds, Kind: KindInvalidRequest, Message: "unknown level " + strconv.Quote(string(level))}
	}
	op := "DISABLE"
	if active {
		op = "ENABLE"
	}
	return c.post(ctx, cred.AccessToken, path, map[string]any{"advertiser_id": cred.AccountRef, key: []string{entityID}, "operation_status": op})
}

// TokenInfo calls advertiser/get: a refusal with 40104/40105 is a dead token.
func (c *TikTokAdsClient) TokenInfo(ctx context.Context, cred Credentials) (TokenInfo, error) {
	_, err := c.authorized(ctx, cred.AccessToken)
	if IsTokenInvalid(err) {
		return TokenInfo{Valid: false, Reason: "TikTok Ads no longer accepts this token (revoked or authorization removed); reconnect the advertiser"}, nil
	}
	if err != nil {
		return TokenInfo{}, err
	}
	return TokenInfo{Valid: true}, nil
}

func (c *TikTokAdsClient) Refresh(context.Context, string) (Token, error) {
	return Token{}, Unsupported(TikTokAds, "token refresh")
}

// Revoke is best effort; a token TikTok already refuses counts as revoked.
func (c *TikTokAdsClient) Revoke(ctx context.Context, cred Credentials) error {
	if err := c.p.revoke(ctx, cred.AccessToken); err != nil && !IsTokenInvalid(err) {
		return err
	}
	return nil
}

func (c *TikTokAdsClient) CreatorStats(context.Context, Credentials) (CreatorStats, error) {
	return CreatorStats{}, Unsupported(TikTokAds, "creator stats for advertisers")
}

// ttLevel is how the integrated report names one of our levels.
type ttLevel struct{ dataLevel, idKey, nameKey string }

var ttLevels = map[Level]ttLevel{
	LevelAccount:  {"AUCTION_ADVERTISER", "advertiser_id", ""},
	LevelCampaign: {"AUCTION_CAMPAIGN", "campaign_id", "campaign_name"},
	LevelAdSet:    {"AUCTION_ADGROUP", "adgroup_id", "adgroup_name"},
	LevelAd:       {"AUCTION_AD", "ad_id", "ad_name"},
}

const (
	ttReportPageSize = 1000
	ttReportMaxPages = 100
	ttReportSpanDays = 30 // (unverified) daily reports accept at most 30 days per query
)

// Insights reads the BASIC auction report, day by day. Currency (and the
// advertiser's name for account rows) comes from one advertiser/info call
// per Insights call: the report's own "currency" metric is not offered at
// every level.
func (c *TikTokAdsClient) Insights(ctx context.Context, cred Credentials, q InsightsQuery) ([]InsightRow, error) {
	lv, ok := ttLevels[q.Level]
	since, until := ttDate(q.Since), ttDate(q.Until)
	if !ok || until.Before(since) {
		return nil, &Error{Platform: TikTokAds, Kind: KindInvalidRequest, Message: "bad insights query (level or dates)"}
	}
	infos, err := c.info(ctx, cred.AccessToken, []string{cred.AccountRef})
	if err != nil {
		return nil, err
	}
	adv := infos[cred.AccountRef]
	metrics := []string{"spend", "impressions", "clicks", "conversion", "total_purchase_value"}
	if lv.nameKey != "" {
		metrics = append(metrics, lv.nameKey)
	}
	mJSON, _ := json.Marshal(metrics)
	dJSON, _ := json.Marshal([]string{lv.idKey, "stat_time_day"})
	var rows []InsightRow
	for start := since; !start.After(until); start = start.AddDate(0, 0, ttReportSpanDays) {
		end := start.AddDate(0, 0, ttReportSpanDays-1)
		if end.After(until) {
			end = until
		}
		for page := 1; page <= ttReportMaxPages; page++ {
			var data struct {
				List []struct {
					Dimensions map[string]json.RawMessage `json:"dimensions"`
					Metrics    map[string]json.RawMessage `json:"metrics"`
				} `json:"list"`
				PageInfo struct {
					TotalPage int `json:"total_page"`
				} `json:"page_info"`
			}
			qv := url.Values{
				"advertiser_id": {cred.AccountRef}, "report_type": {"BASIC"}, "service_type": {"AUCTION"},
				"data_level": {lv.dataLevel}, "dimensions": {string(dJSON)}, "metrics": {string(mJSON)},
				"start_date": {start.Format(time.DateOnly)}, "end_date": {end.Format(time.DateOnly)},
				"page": {strconv.Itoa(page)}, "page_size": {strconv.Itoa(ttReportPageSize)},
			}
			if err := c.get(ctx, cred.AccessToken, "/report/integrated/get/", qv, &data); err != nil {
				return nil, err
			}
			for _, r := range data.List {
				row, err := ttReportRow(q.Level, lv, r.Dimensions, r.Metrics)
				if err != nil {
					return nil, err
				}
				row.Currency = adv.Currency
				if row.EntityID == "" {
					row.EntityID = cred.AccountRef
				}
				if q.Level == LevelAccount {
					row.EntityName = adv.Name
				}
				rows = append(rows, row)
			}
			if page >= data.PageInfo.TotalPage {
				break
			}
			if page == ttReportMaxPages {
				// Never hand back a silently truncated report.
				return nil, &Error{Platform: TikTokAds, Kind: KindInvalidRequest,
					Message: fmt.Sprintf("the report has %d pages, more than the %d read per query: ask for a shorter range or a higher level", data.PageInfo.TotalPage, ttReportMaxPages)}
			}
		}
	}
	return rows, nil
}

func ttReportRow(level Level, lv ttLevel, dims, m map[string]json.RawMessage) (InsightRow, error) {
	row := InsightRow{Level: level, EntityID: ttString(dims[lv.idKey])}
	if lv.nameKey != "" {
		row.EntityName = ttString(m[lv.nameKey])
	}
	day := ttString(dims["stat_time_day"])
	d, err := time.Parse(time.DateOnly, day[:min(len(day), 10)])
	if err != nil {
		return row, &Error{Platform: TikTokAds, Kind: KindInvalidRequest, Message: "report row has a bad stat_time_day"}
	}
	row.Date = d
	var impressions, clicks decimal.Decimal
	for name, dst := range map[string]*decimal.Decimal{"spend": &row.Spend, "impressions": &impressions, "clicks": &clicks,
		"conversion": &row.Conversions, "total_purchase_value": &row.Revenue} {
		v, ok := ttDecimal(m[name])
		if !ok {
			return row, &Error{Platform: TikTokAds, Kind: KindInvalidRequest, Message: "report metric " + name + " is not a number"}
		}
		*dst = v
	}
	row.Impressions, row.Clicks = impressions.IntPart(), clicks.IntPart()
	row.Derive()
	return row, nil
}
