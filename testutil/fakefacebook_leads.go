package testutil

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// FakeFacebookLeads is a FakeFacebook that also plays Lead Ads: it serves
// leads at GET /{version}/{lead_id}?fields=… (readable with the token of
// the lead's Page only, as leads_retrieval requires), and builds and signs
// leadgen webhook deliveries the way Facebook sends them.
type FakeFacebookLeads struct {
	*FakeFacebook

	mu    sync.Mutex
	leads map[string]FakeLead
}

// FakeLead is a lead collected by a Page's form.
type FakeLead struct {
	ID, PageID, FormID, AdID string
	CreatedTime              time.Time // zero: now
	Fields                   []FakeLeadField
}

// FakeLeadField is one answer on the form.
type FakeLeadField struct {
	Name   string
	Values []string
}

var fakeLeadID = regexp.MustCompile(`^[0-9]+$`)

// NewFakeFacebookWithLeads starts a FakeFacebook (see NewFakeFacebook) that
// also serves leads.
func NewFakeFacebookWithLeads(t testing.TB) *FakeFacebookLeads {
	f := NewFakeFacebook(t)
	l := &FakeFacebookLeads{FakeFacebook: f, leads: map[string]FakeLead{}}
	// The plain fake's server is replaced before anyone knows its address.
	f.Server.Close()
	f.Server = httptest.NewServer(http.HandlerFunc(l.serve))
	f.URL = f.Server.URL
	t.Cleanup(f.Server.Close)
	return l
}

// AddLead makes a lead readable.
func (l *FakeFacebookLeads) AddLead(lead FakeLead) {
	if lead.CreatedTime.IsZero() {
		lead.CreatedTime = time.Now()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.leads[lead.ID] = lead
}

// LeadReads returns the lead reads seen so far (with the token each used,
// in Form["access_token"]).
func (l *FakeFacebookLeads) LeadReads(leadID string) []FakeRequest {
	var out []FakeRequest
	for _, r := range l.Requests() {
		if r.Method == http.MethodGet && r.Path == "/"+leadID {
			out = append(out, r)
		}
	}
	return out
}

func (l *FakeFacebookLeads) serve(w http.ResponseWriter, r *http.Request) {
	path, ver := fbSplitVersion(r.URL.Path)
	id := strings.Trim(path, "/")
	l.mu.Lock()
	lead, ok := l.leads[id]
	l.mu.Unlock()
	if r.Method != http.MethodGet || !fakeLeadID.MatchString(id) || !ok {
		l.FakeFacebook.serve(w, r)
		return
	}
	f := l.FakeFacebook
	f.mu.Lock()
	for _, ff := range f.failures {
		if strings.HasSuffix(path, ff.Path) {
			// An injected failure: the plain fake plays it (and records the request).
			f.mu.Unlock()
			f.serve(w, r)
			return
		}
	}
	defer f.mu.Unlock()
	_ = r.ParseForm()
	f.requests = append(f.requests, FakeRequest{Method: r.Method, Path: path, Version: ver, Form: r.Form})
	tok, ok := f.auth(w, r)
	if !ok {
		return
	}
	if tok.kind != "PAGE" || tok.pageID != lead.PageID {
		f.fail(w, 400, 100, 33, "Unsupported get request. Object with ID '"+id+"' does not exist, cannot be loaded due to missing permissions, or does not support this operation.")
		return
	}
	fields := []map[string]any{}
	for _, fd := range lead.Fields {
		fields = append(fields, map[string]any{"name": fd.Name, "values": fd.Values})
	}
	item := map[string]any{"id": lead.ID, "created_time": lead.CreatedTime.UTC().Format("2006-01-02T15:04:05-0700"),
		"ad_id": lead.AdID, "form_id": lead.FormID, "field_data": fields}
	f.json(w, fbPick([]map[string]any{item}, r.Form.Get("fields"), "id")[0])
}

// LeadgenDelivery is the body Facebook POSTs to a webhook when the leads
// arrive: one entry per Page, one leadgen change per lead.
func LeadgenDelivery(leads ...FakeLead) []byte {
	type change struct {
		Field string         `json:"field"`
		Value map[string]any `json:"value"`
	}
	type entry struct {
		ID      string   `json:"id"`
		Time    int64    `json:"time"`
		Changes []change `json:"changes"`
	}
	var entries []*entry
	byPage := map[string]*entry{}
	for _, lead := range leads {
		created := lead.CreatedTime
		if created.IsZero() {
			created = time.Now()
		}
		e := byPage[lead.PageID]
		if e == nil {
			e = &entry{ID: lead.PageID, Time: created.Unix()}
			byPage[lead.PageID] = e
			entries = append(entries, e)
		}
		e.Changes = append(e.Changes, change{Field: "leadgen", Value: map[string]any{"leadgen_id": lead.ID, "page_id": lead.PageID,
			"form_id": lead.FormID, "ad_id": lead.AdID, "adgroup_id": lead.AdID, "created_time": created.Unix()}})
	}
	b, _ := json.Marshal(map[string]any{"object": "page", "entry": entries})
	return b
}

// SignWebhook is the X-Hub-Signature-256 header Facebook sends with body:
// sha256= and the hex HMAC-SHA256 of the raw body keyed with the app secret.
func (f *FakeFacebook) SignWebhook(body []byte) string {
	m := hmac.New(sha256.New, []byte(f.AppSecret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}
