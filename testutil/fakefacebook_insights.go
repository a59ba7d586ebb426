package testutil

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// FakeInsight is one entity-day of the fake's deterministic data, in plain
// numbers, so tests can compare a client's parsing against it. Every account
// has 2 campaigns × 2 ad sets × 2 ads; higher levels are sums of their ads.
type FakeInsight struct {
	AccountID, AccountName, Currency, Level, EntityID, EntityName, Date string

	SpendCents, Impressions, Clicks         int64
	Purchases, Leads, LinkClicks            int64
	PurchaseValueCents                      int64
	CampaignID, CampaignName, AdSetID, AdID string
	AdSetName, AdName                       string
}

type fakeFBReport struct {
	account string
	params  url.Values
	polls   int
}

// SetInsightRows makes the account (with or without act_) serve these raw
// rows, whatever the level and range: for parsing edge cases.
func (f *FakeFacebook) SetInsightRows(actID string, rows []map[string]any) {
	f.locked(func() { f.rawInsights[strings.TrimPrefix(actID, "act_")] = rows })
}

// Insights is what the fake serves for an account, level (account,
// campaign, adset, ad) and inclusive range of YYYY-MM-DD dates.
func (f *FakeFacebook) Insights(actID, level, since, until string) []FakeInsight {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.generate(strings.TrimPrefix(actID, "act_"), level, since, until)
}

func (f *FakeFacebook) account(id string) (FakeAdAccount, bool) {
	for _, a := range f.adAccounts {
		if a.ID == id {
			return a, true
		}
	}
	return FakeAdAccount{}, false
}

func (f *FakeFacebook) generate(acct, level, since, until string) []FakeInsight {
	a, _ := f.account(acct)
	from, err1 := time.Parse(time.DateOnly, since)
	to, err2 := time.Parse(time.DateOnly, until)
	if err1 != nil || err2 != nil {
		return nil
	}
	var out []FakeInsight
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		day := d.Format(time.DateOnly)
		byEntity := map[string]*FakeInsight{}
		var order []string
		for c := 1; c <= 2; c++ {
			for s := 1; s <= 2; s++ {
				for n := 1; n <= 2; n++ {
					ad := fakeFBAd(a, c, s, n, day)
					key := fakeFBKey(ad, level)
					row := byEntity[key]
					if row == nil {
						row = fakeFBRollup(ad, level)
						byEntity[key] = row
						order = append(order, key)
					}
					row.SpendCents += ad.SpendCents
					row.Impressions += ad.Impressions
					row.Clicks += ad.Clicks
					row.Purchases += ad.Purchases
					row.Leads += ad.Leads
					row.LinkClicks += ad.LinkClicks
					row.PurchaseValueCents += ad.PurchaseValueCents
				}
			}
		}
		for _, k := range order {
			out = append(out, *byEntity[k])
		}
	}
	return out
}

func fakeFBKey(ad FakeInsight, level string) string {
	return map[string]string{"account": "act_" + ad.AccountID, "campaign": ad.CampaignID, "adset": ad.AdSetID, "ad": ad.AdID}[level]
}

// fakeFBRollup is the zero-metric row of ad's entity at level, with the ids
// and names of that level and those above it.
func fakeFBRollup(ad FakeInsight, level string) *FakeInsight {
	r := FakeInsight{AccountID: ad.AccountID, AccountName: ad.AccountName, Currency: ad.Currency, Level: level,
		Date: ad.Date, EntityID: fakeFBKey(ad, level), EntityName: ad.AccountName}
	switch level {
	case "ad":
		r.AdID, r.AdName, r.EntityName = ad.AdID, ad.AdName, ad.AdName
		fallthrough
	case "adset":
		r.AdSetID, r.AdSetName = ad.AdSetID, ad.AdSetName
		if level == "adset" {
			r.EntityName = ad.AdSetName
		}
		fallthrough
	case "campaign":
		r.CampaignID, r.CampaignName = ad.CampaignID, ad.CampaignName
		if level == "campaign" {
			r.EntityName = ad.CampaignName
		}
	}
	return &r
}

// fakeFBAd is one ad's day: numbers derived from a hash of its id and date.
func fakeFBAd(a FakeAdAccount, c, s, n int, day string) FakeInsight {
	cid := fmt.Sprintf("%s%02d", a.ID, c)
	sid := fmt.Sprintf("%s%02d", cid, s)
	aid := fmt.Sprintf("%s%02d", sid, n)
	h := fnv.New64a()
	h.Write([]byte(aid + "@" + day))
	x := h.Sum64()
	imp := int64(1000 + x%9000)
	clicks := imp / int64(20+(x>>8)%30)
	purchases := int64((x >> 24) % 4)
	return FakeInsight{AccountID: a.ID, AccountName: a.Name, Currency: a.Currency, Level: "ad", Date: day,
		CampaignID: cid, CampaignName: fmt.Sprintf("Campaign %d", c),
		AdSetID: sid, AdSetName: fmt.Sprintf("Campaign %d / Ad set %d", c, s),
		AdID: aid, AdName: fmt.Sprintf("Campaign %d / Ad set %d / Ad %d", c, s, n),
		Impressions: imp, Clicks: clicks, LinkClicks: clicks, SpendCents: clicks * int64(30+(x>>16)%70),
		Purchases: purchases, Leads: int64((x >> 28) % 3), PurchaseValueCents: purchases * int64(2500+(x>>32)%5000)}
}

// wire renders a row the way Graph does: metrics as strings, actions arrays.
func (r FakeInsight) wire() map[string]any {
	m := map[string]any{"account_id": r.AccountID, "account_name": r.AccountName, "account_currency": r.Currency,
		"date_start": r.Date, "date_stop": r.Date, "spend": fakeFBMoney(r.SpendCents),
		"impressions": strconv.FormatInt(r.Impressions, 10), "clicks": strconv.FormatInt(r.Clicks, 10)}
	for k, v := range map[string]string{"campaign_id": r.CampaignID, "campaign_name": r.CampaignName,
		"adset_id": r.AdSetID, "adset_name": r.AdSetName, "ad_id": r.AdID, "ad_name": r.AdName} {
		if v != "" {
			m[k] = v
		}
	}
	action := func(t, v string) map[string]any { return map[string]any{"action_type": t, "value": v} }
	count := func(n int64) string { return strconv.FormatInt(n, 10) }
	actions := []map[string]any{action("link_click", count(r.LinkClicks)), action("landing_page_view", count(r.LinkClicks/2))}
	var values []map[string]any
	if r.Purchases > 0 { // Graph omits zero actions
		actions = append(actions, action("purchase", count(r.Purchases)), action("omni_purchase", count(r.Purchases)))
		values = append(values, action("purchase", fakeFBMoney(r.PurchaseValueCents)), action("omni_purchase", fakeFBMoney(r.PurchaseValueCents)))
	}
	if r.Leads > 0 {
		actions = append(actions, action("lead", count(r.Leads)))
	}
	m["actions"] = actions
	if values != nil {
		m["action_values"] = values
	}
	return m
}

// fakeFBMoney formats cents like Graph: "5339.5", "12", "0.07".
func fakeFBMoney(cents int64) string {
	s := fmt.Sprintf("%d.%02d", cents/100, cents%100)
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
}

// insights serves GET (sync, paged) and POST (report run) on
// /act_X/insights, and GET /{report_run_id}/insights.
func (f *FakeFacebook) insights(w http.ResponseWriter, r *http.Request, id string) {
	if rep := f.reports[id]; rep != nil && r.Method == http.MethodGet {
		if rep.polls < 2 || f.asyncOutcome != "Job Completed" {
			f.fail(w, 400, 100, 0, "Report run is not complete")
			return
		}
		f.insightRows(w, r, rep.account, rep.params)
		return
	}
	acct := strings.TrimPrefix(id, "act_")
	if _, ok := f.account(acct); !ok || !strings.HasPrefix(id, "act_") {
		f.fail(w, 400, 100, 33, "Unsupported get request. Object with ID '"+id+"' does not exist, cannot be loaded due to missing permissions, or does not support this operation.")
		return
	}
	if _, _, _, msg := fakeFBInsightParams(r.Form); msg != "" {
		f.fail(w, 400, 100, 0, msg)
		return
	}
	switch r.Method {
	case http.MethodPost:
		f.seq++
		run := strconv.Itoa(900000000 + f.seq)
		f.reports[run] = &fakeFBReport{account: acct, params: r.Form}
		f.json(w, map[string]any{"report_run_id": run})
	case http.MethodGet:
		if f.forceAsync {
			f.fail(w, 400, 100, 1504018, "Please reduce the amount of data you're asking for, then retry your request")
			return
		}
		f.insightRows(w, r, acct, r.Form)
	default:
		f.fail(w, 400, 100, 0, "Unsupported method")
	}
}

func (f *FakeFacebook) insightRows(w http.ResponseWriter, r *http.Request, acct string, params url.Values) {
	level, since, until, _ := fakeFBInsightParams(params)
	rows := f.rawInsights[acct]
	if rows == nil {
		for _, row := range f.generate(acct, level, since, until) {
			rows = append(rows, row.wire())
		}
		rows = fbPick(rows, params.Get("fields"), "date_start", "date_stop")
	}
	f.list(w, r, rows)
}

// fakeFBInsightParams validates level, time_range and time_increment.
func fakeFBInsightParams(q url.Values) (level, since, until, problem string) {
	level = q.Get("level")
	if level == "" {
		level = "account"
	}
	var tr struct{ Since, Until string }
	if !slices.Contains([]string{"account", "campaign", "adset", "ad"}, level) {
		return "", "", "", "(#100) level must be one of account, campaign, adset, ad"
	}
	if err := json.Unmarshal([]byte(q.Get("time_range")), &tr); err != nil {
		return "", "", "", "(#100) the fake needs time_range={\"since\",\"until\"}"
	}
	a, err1 := time.Parse(time.DateOnly, tr.Since)
	b, err2 := time.Parse(time.DateOnly, tr.Until)
	if err1 != nil || err2 != nil || b.Before(a) {
		return "", "", "", "(#100) time_range: since and until must be dates, since <= until"
	}
	if q.Get("time_increment") != "1" {
		return "", "", "", "(#100) the fake only serves time_increment=1"
	}
	return level, tr.Since, tr.Until, ""
}

// reportStatus answers a poll: "Job Running" first, then the outcome.
func (f *FakeFacebook) reportStatus(w http.ResponseWriter, id string) {
	rep := f.reports[id]
	rep.polls++
	status, pct := "Job Running", 50
	if rep.polls >= 2 {
		status, pct = f.asyncOutcome, 100
	}
	f.json(w, map[string]any{"id": id, "account_id": rep.account, "async_status": status, "async_percent_completion": pct})
}

// setStatus records POST /{entity_id} status=… for a known campaign, ad set or ad.
func (f *FakeFacebook) setStatus(w http.ResponseWriter, r *http.Request, id string) {
	known := false
	for _, a := range f.adAccounts {
		for c := 1; c <= 2 && !known; c++ {
			for s := 1; s <= 2 && !known; s++ {
				for n := 1; n <= 2 && !known; n++ {
					ad := fakeFBAd(a, c, s, n, "2000-01-01")
					known = id == ad.CampaignID || id == ad.AdSetID || id == ad.AdID
				}
			}
		}
	}
	status := r.PostForm.Get("status")
	switch {
	case !known:
		f.fail(w, 400, 100, 33, "Unsupported post request. Object with ID '"+id+"' does not exist, cannot be loaded due to missing permissions, or does not support this operation.")
	case !slices.Contains([]string{"ACTIVE", "PAUSED", "ARCHIVED", "DELETED"}, status):
		f.fail(w, 400, 100, 0, "(#100) Param status must be one of {ACTIVE, PAUSED, DELETED, ARCHIVED}")
	default:
		f.statusChanges = append(f.statusChanges, FakeStatusChange{EntityID: id, Status: status})
		f.json(w, map[string]any{"success": true})
	}
}
