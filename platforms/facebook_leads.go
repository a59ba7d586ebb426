package platforms

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
)

// Lead is a Lead Ads lead as the Graph API returns it.
type Lead struct {
	ID          string      `json:"id"`
	CreatedTime string      `json:"created_time"` // as Facebook writes it: 2025-03-14T10:11:12+0000
	AdID        string      `json:"ad_id,omitempty"`
	FormID      string      `json:"form_id,omitempty"`
	FieldData   []LeadField `json:"field_data"`
}

// LeadField is one answer on a lead form.
type LeadField struct {
	Name   string   `json:"name"`
	Values []string `json:"values"`
}

// leadFields are the lead fields asked for.
const leadFields = "id,created_time,ad_id,form_id,field_data"

// leadID is what a lead id looks like (Graph object ids are numeric); any
// other value is refused before it reaches a URL path.
var leadID = regexp.MustCompile(`^[0-9]{1,32}$`)

// GetLead reads a lead (a leadgen webhook's leadgen_id) with the token of
// the Page whose form collected it (leads_retrieval), with the usual
// retries for transient failures and rate limits.
func (f *FacebookClient) GetLead(ctx context.Context, cred Credentials, id string) (Lead, error) {
	if !leadID.MatchString(id) {
		return Lead{}, &Error{Platform: Facebook, Kind: KindInvalidRequest, Message: "not a lead id: " + strconvQuote(id)}
	}
	var l Lead
	err := f.do(ctx, fbReq{method: http.MethodGet, path: id, token: cred.AccessToken, scope: cred.AccountRef,
		params: url.Values{"fields": {leadFields}}}, &l)
	if err != nil {
		return Lead{}, err
	}
	if l.ID == "" {
		l.ID = id
	}
	if l.FieldData == nil {
		l.FieldData = []LeadField{}
	}
	return l, nil
}

// strconvQuote quotes s for a message, cut to a readable length.
func strconvQuote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return `"` + url.PathEscape(s) + `"`
}
