package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"adpilot/models"
	"adpilot/platforms"
	"adpilot/testutil"
)

// reportForm is the create form of a daily report, as a browser posts it.
func reportForm(f *automationFixture) url.Values {
	return url.Values{"type": {"scheduled_report"}, "name": {"Morning report"}, "connections": {f.connID},
		"destination_id": {f.destID}, "status": {"active"},
		"schedule.kind": {"daily"}, "schedule.time": {"09:00"}, "schedule.tz_mode": {"other"}, "schedule.timezone": {"America/New_York"},
		"config.level": {"campaign"}, "config.period": {"yesterday"}, "config.metrics": {"spend", "conversions", "cpa"},
		"config.compare": {"true"}, "config.top": {"3"}, "config.top_by": {"spend"}, "config.chart": {"true"}}
}

// browserSession signs the fixture's owner in with a browser session.
func browserSession(t *testing.T, f *automationFixture) *automationFixture {
	t.Helper()
	signInBrowser(t, f.app, "owner@example.com")
	return f
}

func signInBrowser(t *testing.T, app *testutil.TestApp, email string) {
	t.Helper()
	app.Client.Jar = newJar(t)
	app.PostForm("/auth/login", url.Values{"login": {email}, "password": {strongPassword}},
		"Sec-Fetch-Site", "same-origin").ExpectStatus(http.StatusSeeOther)
}

// createFromForm posts the create form and returns the new automation's id.
func createFromForm(t *testing.T, f *automationFixture, form url.Values) string {
	t.Helper()
	resp := destPost(t, f.app, "/automations", form).ExpectStatus(http.StatusSeeOther)
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, "/automations/") {
		t.Fatalf("create redirected to %q", loc)
	}
	return strings.TrimPrefix(loc, "/automations/")
}

func TestAutomationFormCreatesWhatTheAPIDocuments(t *testing.T) {
	f := browserSession(t, newAutomationFixture(t))
	page := f.app.Get("/automations/new").ExpectStatus(http.StatusOK)
	// Three demo ad accounts, all valid; the webhook destination.
	if n := page.Doc().Find(`input[name=connections]`).Length(); n != 3 {
		t.Fatalf("the picker offers %d connections, want the 3 demo accounts", n)
	}
	if page.Doc().Find(`select[name=destination_id] option[value="`+f.destID+`"]`).Length() != 1 {
		t.Fatal("the destination picker does not offer the webhook")
	}
	if page.Doc().Find(`[data-settings=scheduled_report]`).Length() != 1 {
		t.Fatal("a new automation does not start as a scheduled report")
	}

	id := createFromForm(t, f, reportForm(f))
	_, a := jsonCall(t, f.app, http.MethodGet, "/api/v1/automations/"+id, "", f.token)
	sched, cfg := a["schedule"].(map[string]any), a["config"].(map[string]any)
	if sched["kind"] != "daily" || sched["time"] != "09:00" || sched["timezone"] != "America/New_York" || len(sched) != 3 {
		t.Fatalf("stored schedule = %v", sched)
	}
	if cfg["level"] != "campaign" || cfg["period"] != "yesterday" || cfg["top"] != 3.0 || cfg["compare"] != true ||
		len(cfg["metrics"].([]any)) != 3 || a["destination_id"] != f.destID {
		t.Fatalf("stored automation = %v", a)
	}

	// The page shows the settings and the next 3 runs at 09:00 New York
	// time, and in the viewer's zone when the browser told it.
	f.app.Client.Jar.SetCookies(mustParse(t, f.app.URL), []*http.Cookie{{Name: "adpilot_tz", Value: "Asia/Tokyo"}})
	detail := f.app.Get("/automations/" + id).ExpectStatus(http.StatusOK)
	rows := detail.Doc().Find(`#schedule-preview tr[data-next-run]`)
	if rows.Length() != 3 {
		t.Fatalf("next runs shown: %d, want 3: %s", rows.Length(), detail.Text("#schedule-preview"))
	}
	rows.Each(func(_ int, s *goquery.Selection) {
		cells := s.Find("td")
		if !strings.Contains(cells.Eq(0).Text(), "09:00 E") || !strings.Contains(cells.Eq(1).Text(), "JST") {
			t.Errorf("a next run reads %q / %q, want 09:00 New York time and Tokyo time", cells.Eq(0).Text(), cells.Eq(1).Text())
		}
	})
	if !strings.Contains(detail.Text("main"), "Daily at 09:00, America/New_York") || !strings.Contains(detail.Text("main"), "3 by Spend") {
		t.Fatalf("the settings are not described: %s", detail.Text("dl.details"))
	}
	if list := f.app.Get("/automations").ExpectStatus(http.StatusOK); list.Doc().Find(`tr[data-automation="`+id+`"]`).Length() != 1 {
		t.Fatal("the list does not show the automation")
	}
}

func TestAutomationFormShowsErrorsBesideFields(t *testing.T) {
	f := browserSession(t, newAutomationFixture(t))
	form := url.Values{"type": {"alert"}, "name": {"CPA watch"}, "schedule.kind": {"daily"}, "schedule.time": {"25:00"},
		"schedule.tz_mode": {"team"}, "config.level": {"account"}, "config.window": {"today"}, "config.match": {"all"},
		"config.conditions.0.metric": {"cpa"}, "config.conditions.0.op": {">"}, "config.conditions.0.value": {"lots"},
		"config.cooldown_minutes": {"60"}, "config.action": {"pause"}}
	resp := destPost(t, f.app, "/automations", form).ExpectStatus(http.StatusUnprocessableEntity)
	for field, want := range map[string]string{
		"connections":               "Choose from 1 to 20 connections",
		"schedule.time":             "Use a time such as 09:00",
		"config.conditions.0.value": "Enter a number",
		"config.action":             "An account cannot be paused",
	} {
		got := resp.Text(`[data-error-for="` + field + `"]`)
		if !strings.Contains(got, want) {
			t.Errorf("beside %s: %q, want %q", field, got, want)
		}
	}
	// What was typed stays.
	if v, _ := resp.Doc().Find(`input[name=name]`).Attr("value"); v != "CPA watch" {
		t.Errorf("the name was lost: %q", v)
	}
	if v, _ := resp.Doc().Find(`input[name="config.conditions.0.value"]`).Attr("value"); v != "lots" {
		t.Errorf("the condition value was lost: %q", v)
	}
	if resp.Doc().Find(`#automation-form[data-type=alert]`).Length() != 1 {
		t.Error("the form came back as another type")
	}
	_, list := jsonCall(t, f.app, http.MethodGet, "/api/v1/automations", "", f.token)
	if n := len(list["automations"].([]any)); n != 0 {
		t.Fatalf("an invalid form stored %d automations", n)
	}
}

func TestAutomationTypeSwitchKeepsWhatWasTyped(t *testing.T) {
	f := browserSession(t, newAutomationFixture(t))
	q := url.Values{"type": {"alert"}, "name": {"Typed first"}, "connections": {f.connID}, "destination_id": {f.destID},
		"schedule.kind": {"weekly"}, "schedule.days": {"mon", "fri"}, "schedule.time": {"07:30"}, "config.level": {"ad"}}
	page := f.app.Get("/automations/new?"+q.Encode(), "HX-Request", "true").ExpectStatus(http.StatusOK)
	doc := page.Doc()
	if doc.Find(`[data-settings=alert]`).Length() != 1 || doc.Find(`[data-settings=scheduled_report]`).Length() != 0 {
		t.Fatal("the alert form was not swapped in")
	}
	if v, _ := doc.Find(`input[name=name]`).Attr("value"); v != "Typed first" {
		t.Errorf("name = %q after the switch", v)
	}
	if _, ok := doc.Find(`input[name=connections][value="` + f.connID + `"]`).Attr("checked"); !ok {
		t.Error("the chosen connection was unticked by the switch")
	}
	if _, ok := doc.Find(`input[name="schedule.days"][value=fri]`).Attr("checked"); !ok {
		t.Error("the schedule was reset by the switch")
	}
	if doc.Find("html").Length() != 0 && doc.Find("header nav").Length() != 0 {
		t.Error("an htmx switch answered a whole page")
	}
	// A nonsense type shows the default form instead of failing.
	f.app.Get("/automations/new?type=%00bogus").ExpectStatus(http.StatusOK)
}

func TestSchedulePreviewAcrossDST(t *testing.T) {
	f := browserSession(t, newAutomationFixture(t))
	q := url.Values{"schedule.kind": {"interval"}, "schedule.every_minutes": {"3"}, "schedule.tz_mode": {"team"}}
	bad := f.app.Get("/automations/schedule-preview?"+q.Encode(), "HX-Request", "true").ExpectStatus(http.StatusOK)
	if bad.Doc().Find(`[data-preview=invalid]`).Length() != 1 {
		t.Fatalf("an invalid schedule previews as %s", bad.Body)
	}
	q = url.Values{"schedule.kind": {"cron"}, "schedule.expr": {"30 2 * * *"}, "schedule.tz_mode": {"other"}, "schedule.timezone": {"Europe/Berlin"}}
	ok := f.app.Get("/automations/schedule-preview?"+q.Encode(), "HX-Request", "true").ExpectStatus(http.StatusOK)
	var prev time.Time
	ok.Doc().Find(`tr[data-next-run]`).Each(func(i int, s *goquery.Selection) {
		at, err := time.Parse(time.RFC3339, s.AttrOr("data-next-run", ""))
		if err != nil {
			t.Fatal(err)
		}
		if !prev.IsZero() && !at.After(prev) {
			t.Errorf("run %d (%s) is not after the one before (%s)", i, at, prev)
		}
		prev = at
	})
	if ok.Doc().Find(`tr[data-next-run]`).Length() != 3 {
		t.Fatalf("preview: %s", ok.Body)
	}
}

func TestAutomationActionsPauseResumeStopDuplicateDelete(t *testing.T) {
	f := browserSession(t, newAutomationFixture(t))
	id := createFromForm(t, f, reportForm(f))
	status := func() map[string]any {
		_, a := jsonCall(t, f.app, http.MethodGet, "/api/v1/automations/"+id, "", f.token)
		return a
	}
	destPost(t, f.app, "/automations/"+id+"/pause", nil).ExpectStatus(http.StatusSeeOther)
	if a := status(); a["status"] != "paused" {
		t.Fatalf("after pause: %v", a["status"])
	}
	// A long-overdue next run is counted from now on resume, not run at once.
	if _, err := testutilExec(t, f.app, `UPDATE automation SET next_run = now() - interval '3 days' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	destPost(t, f.app, "/automations/"+id+"/resume", nil).ExpectStatus(http.StatusSeeOther)
	a := status()
	next, _ := time.Parse(time.RFC3339Nano, a["next_run"].(string))
	if a["status"] != "active" || !next.After(time.Now()) {
		t.Fatalf("after resume: %v, next run %v", a["status"], a["next_run"])
	}
	destPost(t, f.app, "/automations/"+id+"/stop", nil).ExpectStatus(http.StatusSeeOther)
	if a := status(); a["status"] != "stopped" {
		t.Fatalf("after stop: %v", a["status"])
	}
	// A stopped automation does not run now: a clear 409.
	destPost(t, f.app, "/automations/"+id+"/run", nil).ExpectStatus(http.StatusConflict)

	resp := destPost(t, f.app, "/automations/"+id+"/duplicate", nil).ExpectStatus(http.StatusSeeOther)
	copyID := strings.TrimSuffix(strings.TrimPrefix(resp.Header.Get("Location"), "/automations/"), "/edit")
	_, cp := jsonCall(t, f.app, http.MethodGet, "/api/v1/automations/"+copyID, "", f.token)
	if cp["name"] != "Copy of Morning report" || cp["status"] != "paused" || cp["connections"].([]any)[0] != f.connID ||
		cp["destination_id"] != f.destID {
		t.Fatalf("the copy: %v", cp)
	}
	edit := f.app.Get("/automations/" + copyID + "/edit").ExpectStatus(http.StatusOK)
	if v, _ := edit.Doc().Find(`input[name="schedule.timezone"]`).Attr("value"); v != "America/New_York" {
		t.Errorf("the edit form's zone = %q", v)
	}
	if _, ok := edit.Doc().Find(`input[name="config.metrics"][value=cpa]`).Attr("checked"); !ok {
		t.Error("the edit form lost the metrics")
	}
	// Saving the edit form unchanged keeps the automation as it was.
	form := url.Values{}
	edit.Doc().Find("#automation-form input, #automation-form select").Each(func(_ int, s *goquery.Selection) {
		name, _ := s.Attr("name")
		switch typ, _ := s.Attr("type"); {
		case name == "" || name == "_csrf":
		case typ == "checkbox" || typ == "radio":
			if _, on := s.Attr("checked"); on {
				form.Add(name, s.AttrOr("value", "on"))
			}
		case goquery.NodeName(s) == "select":
			form.Add(name, s.Find("option[selected]").AttrOr("value", s.Find("option").First().AttrOr("value", "")))
		default:
			form.Add(name, s.AttrOr("value", ""))
		}
	})
	destPost(t, f.app, "/automations/"+copyID, form).ExpectStatus(http.StatusSeeOther)
	_, again := jsonCall(t, f.app, http.MethodGet, "/api/v1/automations/"+copyID, "", f.token)
	if string(mustJSON(again["config"])) != string(mustJSON(cp["config"])) || string(mustJSON(again["schedule"])) != string(mustJSON(cp["schedule"])) {
		t.Fatalf("saving the form unchanged changed the automation:\n%v\n%v", cp, again)
	}

	destPost(t, f.app, "/automations/"+copyID+"/delete", nil).ExpectStatus(http.StatusSeeOther)
	f.app.Get("/automations/" + copyID).ExpectStatus(http.StatusNotFound)
}

func TestAutomationRunNowAndRunHistoryPages(t *testing.T) {
	f := browserSession(t, newAutomationFixture(t))
	id := createFromForm(t, f, reportForm(f))

	// Preview in the page: computed, nothing sent.
	prev := destPost(t, f.app, "/automations/"+id+"/preview", nil, "HX-Request", "true").ExpectStatus(http.StatusOK)
	if prev.Doc().Find(`[data-preview-result]`).Length() != 1 || !strings.Contains(prev.Text("[data-preview-text]"), "Spend") {
		t.Fatalf("preview: %s", prev.Body)
	}
	if n := len(f.recv.Requests()); n != 0 {
		t.Fatalf("the preview delivered %d requests", n)
	}

	resp := destPost(t, f.app, "/automations/"+id+"/run", nil).ExpectStatus(http.StatusSeeOther)
	runPath := resp.Header.Get("Location")
	if !strings.HasPrefix(runPath, "/runs/") {
		t.Fatalf("run now redirected to %q", runPath)
	}
	f.waitRun(t, strings.TrimPrefix(runPath, "/runs/"))
	page := f.app.Get(runPath).ExpectStatus(http.StatusOK)
	detail := page.Doc().Find("#run-detail")
	if detail.AttrOr("data-status", "") != "completed" || detail.AttrOr("hx-trigger", "") != "" {
		t.Fatalf("the finished run page: status %q, still polling %q", detail.AttrOr("data-status", ""), detail.AttrOr("hx-trigger", ""))
	}
	if page.Doc().Find(`.run-logs tr`).Length() < 2 || page.Doc().Find(`.run-deliveries tr[data-delivery-status]`).Length() != 1 {
		t.Fatalf("the run page lacks steps or deliveries: %s", page.Text("#run-detail"))
	}
	if !strings.Contains(page.Text("[data-run-summary]"), "1 account") {
		t.Errorf("summary = %q", page.Text("[data-run-summary]"))
	}
	for _, path := range []string{"/runs", "/automations/" + id + "/runs", "/automations/" + id} {
		list := f.app.Get(path).ExpectStatus(http.StatusOK)
		row := list.Doc().Find(`tr[data-run="` + strings.TrimPrefix(runPath, "/runs/") + `"]`)
		if row.Length() != 1 || row.AttrOr("data-status", "") != "completed" || !strings.Contains(row.Text(), "manual") {
			t.Errorf("%s does not list the run: %s", path, list.Text("#run-table"))
		}
	}

	// A running run polls; its table polls too.
	if _, err := testutilExec(t, f.app, `UPDATE automation_run SET status = 'running', completed_at = NULL WHERE id = $1`,
		strings.TrimPrefix(runPath, "/runs/")); err != nil {
		t.Fatal(err)
	}
	live := f.app.Get(runPath).ExpectStatus(http.StatusOK)
	if live.Doc().Find(`#run-detail[hx-trigger="every 2s"]`).Length() != 1 {
		t.Fatal("a running run does not refresh itself")
	}
	if f.app.Get("/runs").Doc().Find(`#run-table[hx-trigger]`).Length() != 1 {
		t.Fatal("the history does not refresh while a run is running")
	}
}

func TestAutomationPagesForViewers(t *testing.T) {
	f := browserSession(t, newAutomationFixture(t))
	id := createFromForm(t, f, reportForm(f))
	addMember(t, f.app, "auto-team", "viewer@example.com", "viewer")
	signInBrowser(t, f.app, "viewer@example.com")
	page := f.app.Get("/automations/" + id).ExpectStatus(http.StatusOK)
	if page.Doc().Find(`[data-action]`).Length() != 0 {
		t.Fatal("a viewer sees the automation's action buttons")
	}
	f.app.Get("/automations/new").ExpectStatus(http.StatusForbidden)
	destPost(t, f.app, "/automations", reportForm(f)).ExpectStatus(http.StatusForbidden)
}

func TestAutomationRefusesConnectionsItsTypeCannotRead(t *testing.T) {
	f := browserSession(t, newAutomationFixture(t))
	ctx := context.Background()
	var tenantID, userID string
	if err := testutil.QueryRow(t, f.app, ctx, `SELECT tenant_id, id FROM app_user WHERE email = 'owner@example.com'`).Scan(&tenantID, &userID); err != nil {
		t.Fatal(err)
	}
	owner, err := f.app.Store.GetUser(ctx, tenantID, userID)
	if err != nil {
		t.Fatal(err)
	}
	pages, err := f.app.Store.ConnectAccounts(ctx, owner, "", []models.ConnectionInput{{Platform: "facebook", Kind: platforms.KindPage,
		AccountRef: "page_1", AccountName: "Shop Page", AccessToken: "page-token"}})
	if err != nil {
		t.Fatal(err)
	}
	resp, out := jsonCall(t, f.app, http.MethodPost, "/api/v1/automations", `{"name":"Page alert","type":"alert","connections":["`+pages[0].ID+`"],
		"schedule":{"kind":"hourly","minute":0},"config":{"level":"campaign","window":"today","conditions":[{"metric":"cpa","op":">","value":20}]}}`, f.token)
	resp.ExpectStatus(http.StatusUnprocessableEntity)
	if msg := out["fields"].(map[string]any)["connections"]; !strings.Contains(msg.(string), "Shop Page") {
		t.Fatalf("the refusal says %v", out)
	}
	// The form does not offer it.
	page := f.app.Get("/automations/new?type=alert").ExpectStatus(http.StatusOK)
	if page.Doc().Find(`input[name=connections][value="`+pages[0].ID+`"]`).Length() != 0 {
		t.Fatal("the alert form offers a Page")
	}
	// A data sync made in the browser stores its documented config.
	id := createFromForm(t, f, url.Values{"type": {"data_sync"}, "name": {"Nightly sync"}, "connections": {f.connID},
		"destination_id": {f.destID}, "schedule.kind": {"daily"}, "schedule.time": {"03:00"}, "schedule.tz_mode": {"account"},
		"config.level": {"ad"}, "config.metrics": {"spend", "clicks"}, "config.lookback_days": {"5"}})
	_, a := jsonCall(t, f.app, http.MethodGet, "/api/v1/automations/"+id, "", f.token)
	if got := string(mustJSON(a["config"])); got != `{"level":"ad","lookback_days":5,"metrics":["spend","clicks"]}` {
		t.Fatalf("sync config = %s", got)
	}
	if a["schedule"].(map[string]any)["timezone"] != "account" {
		t.Fatalf("sync schedule = %v", a["schedule"])
	}
}

func TestEventAutomationThroughTheAPI(t *testing.T) {
	f := newAutomationFixture(t)
	resp, out := jsonCall(t, f.app, http.MethodPost, "/api/v1/automations", `{"name":"Leads","type":"alert","destination_id":"`+f.destID+`",
		"config":{"trigger":"event","event":"facebook.leadgen","filters":{"page_id":"123","form_id":["77","78"]}}}`, f.token)
	resp.ExpectStatus(http.StatusCreated)
	if out["next_run"] != nil || len(out["connections"].([]any)) != 0 {
		t.Fatalf("an event automation was scheduled: %v", out)
	}
	resp, out = jsonCall(t, f.app, http.MethodPost, "/api/v1/automations", `{"name":"Leads","type":"alert",
		"config":{"trigger":"event","event":"facebook.everything","filters":{"form_id":"7 7"},"window":"today"}}`, f.token)
	resp.ExpectStatus(http.StatusUnprocessableEntity)
	if fields := out["fields"].(map[string]any); fields["config"] == nil {
		t.Fatalf("an unknown field of an event config passed: %v", out)
	}
	resp, out = jsonCall(t, f.app, http.MethodPost, "/api/v1/automations", `{"name":"Leads","type":"alert",
		"config":{"trigger":"event","event":"facebook.everything","filters":{"form_id":"7 7"}}}`, f.token)
	resp.ExpectStatus(http.StatusUnprocessableEntity)
	if fields := out["fields"].(map[string]any); fields["config.event"] == nil || fields["config.filters.form_id"] == nil {
		t.Fatalf("422 fields: %v", out)
	}
}

func TestEventAlertThroughTheForm(t *testing.T) {
	f := browserSession(t, newAutomationFixture(t))
	form := url.Values{"type": {"alert"}, "name": {"Lead forward"}, "destination_id": {f.destID}, "status": {"active"},
		"config.trigger": {"event"}, "config.event": {"facebook.leadgen"}, "config.filters.form_id": {"77, 78"},
		// The hidden metric and schedule fields are sent too, and ignored.
		"connections": {f.connID}, "schedule.kind": {"daily"}, "schedule.time": {"nonsense"}, "config.window": {"today"}}
	id := createFromForm(t, f, form)
	_, a := jsonCall(t, f.app, http.MethodGet, "/api/v1/automations/"+id, "", f.token)
	if got := string(mustJSON(a["config"])); got != `{"event":"facebook.leadgen","filters":{"form_id":["77","78"]},"trigger":"event"}` ||
		a["next_run"] != nil || len(a["connections"].([]any)) != 0 {
		t.Fatalf("stored event alert: %v", a)
	}
	page := f.app.Get("/automations/" + id).ExpectStatus(http.StatusOK)
	if !strings.Contains(page.Text("dl.details"), "a new lead from a Lead Ads form") || !strings.Contains(page.Text("dl.details"), "77, 78") ||
		page.Doc().Find("#schedule-preview").Length() != 0 {
		t.Fatalf("the event alert's page: %s", page.Text("main"))
	}
	edit := f.app.Get("/automations/" + id + "/edit").ExpectStatus(http.StatusOK)
	if _, ok := edit.Doc().Find(`input[name="config.trigger"][value=event]`).Attr("checked"); !ok {
		t.Fatal("the edit form lost the event trigger")
	}
	if v, _ := edit.Doc().Find(`input[name="config.filters.form_id"]`).Attr("value"); v != "77, 78" {
		t.Fatalf("form ids in the edit form: %q", v)
	}
	bad := url.Values{"type": {"alert"}, "name": {"Lead forward"}, "config.trigger": {"event"}, "config.event": {"facebook.nope"}}
	resp := destPost(t, f.app, "/automations", bad).ExpectStatus(http.StatusUnprocessableEntity)
	if !strings.Contains(resp.Text(`[data-error-for="config.event"]`), "Must be one of") {
		t.Fatalf("the unknown event's error: %s", resp.Text("#automation-form"))
	}
	if list := f.app.Get("/automations"); !strings.Contains(list.Text(`tr[data-automation="`+id+`"]`), "On each facebook.leadgen event") {
		t.Fatalf("the list row: %s", list.Text(`tr[data-automation="`+id+`"]`))
	}
}
