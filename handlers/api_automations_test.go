package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"adpilot/testutil"
)

// automationFixture: a team with demo connections, a webhook destination
// and a bearer token.
type automationFixture struct {
	app      *testutil.TestApp
	token    string
	recv     *testutil.WebhookReceiver
	destID   string
	connID   string
	otherIDs []string
}

func newAutomationFixture(t *testing.T, opts ...testutil.AppOption) *automationFixture {
	t.Helper()
	app := testutil.NewApp(t, append([]testutil.AppOption{testutil.WithEnv("DEMO_PLATFORM", "true")}, opts...)...)
	registerAPI(t, app, "owner@example.com", "Auto Team")
	token := loginAPI(t, app, `{"email":"owner@example.com","password":"`+strongPassword+`"}`)
	_, demo := jsonCall(t, app, http.MethodPost, "/api/v1/connections/demo", "", token)
	f := &automationFixture{app: app, token: token, recv: testutil.NewWebhookReceiver(t, "")}
	for _, c := range demo["connections"].([]any) {
		m := c.(map[string]any)
		if m["account_ref"] == "demo_act_1001" {
			f.connID = m["id"].(string)
		} else {
			f.otherIDs = append(f.otherIDs, m["id"].(string))
		}
	}
	resp, out := jsonCall(t, app, http.MethodPost, "/api/v1/destinations",
		`{"name":"Sink","type":"webhook","config":{"url":"`+f.recv.URL+`"}}`, token)
	resp.ExpectStatus(http.StatusCreated)
	f.destID = out["id"].(string)
	f.recv.SetSecret(out["signing_secret"].(string))
	return f
}

func (f *automationFixture) create(t *testing.T, body string) map[string]any {
	t.Helper()
	resp, out := jsonCall(t, f.app, http.MethodPost, "/api/v1/automations", body, f.token)
	resp.ExpectStatus(http.StatusCreated)
	return out
}

func (f *automationFixture) waitRun(t *testing.T, runID string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, run := jsonCall(t, f.app, http.MethodGet, "/api/v1/runs/"+runID, "", f.token)
		if run["status"] == "completed" || run["status"] == "failed" {
			return run
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s still %v", runID, run["status"])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestReportAutomationRunNowDeliversToAWebhook(t *testing.T) {
	f := newAutomationFixture(t)
	a := f.create(t, `{"name":"Daily spend","type":"scheduled_report","destination_id":"`+f.destID+`","connections":["`+f.connID+`"],
		"schedule":{"kind":"daily","time":"09:00","timezone":"account"},
		"config":{"level":"account","period":"yesterday","metrics":["spend","conversions","cpa"],"compare":true,"top":3,"top_by":"spend","chart":true}}`)
	if a["next_run"] == nil || a["status"] != "active" || len(a["connections"].([]any)) != 1 {
		t.Fatalf("created automation = %v", a)
	}
	id := a["id"].(string)

	resp, out := jsonCall(t, f.app, http.MethodPost, "/api/v1/automations/"+id+"/run", "", f.token)
	resp.ExpectStatus(http.StatusAccepted)
	run := f.waitRun(t, out["run_id"].(string))
	if run["status"] != "completed" || run["trigger"] != "manual" {
		t.Fatalf("run = %v", run)
	}
	dels := run["deliveries"].([]any)
	if len(dels) != 1 || dels[0].(map[string]any)["destination_id"] != f.destID {
		t.Fatalf("run deliveries = %v", dels)
	}
	// The delivery queue runs on the replica's jobs; this app's jobs are
	// not started, so the test sends the run's delivery as the queue would.
	// (The jobs-driven path is TestScheduledAutomationRunsFromTheTick.)
	var delivery string
	if err := testutil.QueryRow(t, f.app, context.Background(), `SELECT id FROM delivery WHERE run_id = $1`, run["id"]).Scan(&delivery); err != nil {
		t.Fatal(err)
	}
	if _, err := f.app.App.Dispatcher().RunDue(context.Background(), 10, 1); err != nil {
		t.Fatal(err)
	}
	got := f.recv.WaitFor(1, 5*time.Second)
	if len(got) != 1 || !got[0].SignatureValid || got[0].Event != "report" || got[0].DeliveryID != delivery {
		t.Fatalf("webhook received %+v", got)
	}
	var body struct {
		Data map[string]json.RawMessage `json:"data"`
	}
	_ = json.Unmarshal(got[0].Body, &body)
	for _, key := range []string{"automation", "period", "currency", "totals", "previous", "rows"} {
		if _, ok := body.Data[key]; !ok {
			t.Errorf("report data lacks %q: %s", key, got[0].Body)
		}
	}
	// The preview computes without delivering.
	resp, prev := jsonCall(t, f.app, http.MethodPost, "/api/v1/automations/"+id+"/preview", "", f.token)
	resp.ExpectStatus(http.StatusOK)
	if prev["message"] == nil || len(f.recv.Requests()) != 1 {
		t.Fatalf("preview = %v (webhook requests %d)", prev, len(f.recv.Requests()))
	}
	_, runs := jsonCall(t, f.app, http.MethodGet, "/api/v1/automations/"+id+"/runs", "", f.token)
	if n := len(runs["runs"].([]any)); n != 1 {
		t.Fatalf("%d runs listed after one run and a preview, want 1", n)
	}
}

func TestAutomationAPIValidation(t *testing.T) {
	f := newAutomationFixture(t)
	cases := map[string]struct{ body, field string }{
		"bad type":        {`{"name":"x","type":"nope","connections":["` + f.connID + `"],"schedule":{"kind":"hourly","minute":0},"config":{}}`, "type"},
		"no connections":  {`{"name":"x","type":"scheduled_report","connections":[],"schedule":{"kind":"hourly","minute":0},"config":{"level":"account","period":"yesterday","metrics":["spend"]}}`, "connections"},
		"bad time":        {`{"name":"x","type":"scheduled_report","connections":["` + f.connID + `"],"schedule":{"kind":"daily","time":"25:00"},"config":{"level":"account","period":"yesterday","metrics":["spend"]}}`, "schedule.time"},
		"too frequent":    {`{"name":"x","type":"data_sync","connections":["` + f.connID + `"],"schedule":{"kind":"interval","every_minutes":1},"config":{"level":"account","lookback_days":3}}`, "schedule.every_minutes"},
		"bad metric":      {`{"name":"x","type":"scheduled_report","connections":["` + f.connID + `"],"schedule":{"kind":"hourly","minute":0},"config":{"level":"account","period":"yesterday","metrics":["likes_per_hour"]}}`, "config.metrics"},
		"unknown field":   {`{"name":"x","type":"scheduled_report","connections":["` + f.connID + `"],"schedule":{"kind":"hourly","minute":0},"config":{"level":"account","period":"yesterday","metrics":["spend"],"colour":"red"}}`, "config"},
		"bad destination": {`{"name":"x","type":"data_sync","destination_id":"not-a-uuid","connections":["` + f.connID + `"],"schedule":{"kind":"hourly","minute":0},"config":{"level":"account","lookback_days":3}}`, "destination_id"},
		"bad connection":  {`{"name":"x","type":"data_sync","connections":["x'; DROP"],"schedule":{"kind":"hourly","minute":0},"config":{"level":"account","lookback_days":3}}`, "connections"},
		"alert condition": {`{"name":"x","type":"alert","connections":["` + f.connID + `"],"schedule":{"kind":"hourly","minute":0},"config":{"level":"campaign","window":"today","match":"all","conditions":[{"metric":"cpa","op":"!=","value":1}],"action":"notify"}}`, "config.conditions.0.op"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			resp, out := jsonCall(t, f.app, http.MethodPost, "/api/v1/automations", tc.body, f.token)
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("%d %v", resp.StatusCode, out)
			}
			fields, _ := out["fields"].(map[string]any)
			if _, ok := fields[tc.field]; !ok {
				t.Fatalf("no error on %q: %v", tc.field, fields)
			}
		})
	}
	call(t, f.app, http.MethodPost, "/api/v1/automations", `{"name":`, f.token).ExpectStatus(http.StatusBadRequest)
	call(t, f.app, http.MethodGet, "/api/v1/automations/not-an-id", "", f.token).ExpectStatus(http.StatusNotFound)
	call(t, f.app, http.MethodPost, "/api/v1/automations/00000000-0000-0000-0000-000000000000/run", "", f.token).ExpectStatus(http.StatusNotFound)

	// Another tenant's connection is refused; PATCH keeps what it omits.
	registerAPI(t, f.app, "rival@example.com", "Rival Team")
	rival := loginAPI(t, f.app, `{"email":"rival@example.com","password":"`+strongPassword+`"}`)
	_, rivalDemo := jsonCall(t, f.app, http.MethodPost, "/api/v1/connections/demo", "", rival)
	rivalConn := rivalDemo["connections"].([]any)[0].(map[string]any)["id"].(string)
	resp, out := jsonCall(t, f.app, http.MethodPost, "/api/v1/automations", `{"name":"x","type":"scheduled_report","connections":["`+rivalConn+`"],
		"schedule":{"kind":"hourly","minute":0},"config":{"level":"account","period":"yesterday","metrics":["spend"]}}`, f.token)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(resp.Body, "connections") {
		t.Fatalf("another tenant's connection: %d %v", resp.StatusCode, out)
	}
	a := f.create(t, `{"name":"Sync","type":"data_sync","connections":["`+f.connID+`"],"schedule":{"kind":"hourly","minute":5},"config":{"level":"campaign","lookback_days":3}}`)
	resp, out = jsonCall(t, f.app, http.MethodPatch, "/api/v1/automations/"+a["id"].(string), `{"status":"paused"}`, f.token)
	resp.ExpectStatus(http.StatusOK)
	if out["status"] != "paused" || out["name"] != "Sync" || string(mustJSON(out["schedule"])) != string(mustJSON(a["schedule"])) {
		t.Fatalf("patched = %v", out)
	}
	resp, _ = jsonCall(t, f.app, http.MethodPatch, "/api/v1/automations/"+a["id"].(string), `{"type":"alert"}`, f.token)
	resp.ExpectStatus(http.StatusUnprocessableEntity)
	call(t, f.app, http.MethodDelete, "/api/v1/automations/"+a["id"].(string), "", rival).ExpectStatus(http.StatusNotFound)
	call(t, f.app, http.MethodGet, "/api/v1/automations/"+a["id"].(string)+"/runs", "", rival).ExpectStatus(http.StatusNotFound)
	call(t, f.app, http.MethodDelete, "/api/v1/automations/"+a["id"].(string), "", f.token).ExpectStatus(http.StatusNoContent)
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

// A due automation runs from the jobs' tick (fake clock) and its output
// goes through the delivery queue to the webhook.
func TestScheduledAutomationRunsFromTheTick(t *testing.T) {
	clock := clockwork.NewFakeClockAt(time.Now())
	f := newAutomationFixture(t, testutil.WithJobs(clock), testutil.WithEnv("AUTOMATION_CHECK_INTERVAL", "10s"))
	a := f.create(t, `{"name":"Hourly sync","type":"data_sync","destination_id":"`+f.destID+`","connections":["`+f.connID+`"],
		"schedule":{"kind":"hourly","minute":0},"config":{"level":"account","lookback_days":3}}`)
	// Make it due now.
	if _, err := testutilExec(t, f.app, `UPDATE automation SET next_run = now() - interval '1 minute' WHERE id = $1`, a["id"]); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(f.recv.Requests()) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no delivery from the scheduled run; logs:\n%s", f.app.Logs())
		}
		clock.Advance(10 * time.Second)
		time.Sleep(50 * time.Millisecond)
	}
	_, runs := jsonCall(t, f.app, http.MethodGet, "/api/v1/automations/"+a["id"].(string)+"/runs", "", f.token)
	list := runs["runs"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["trigger"] != "schedule" || list[0].(map[string]any)["status"] != "completed" {
		t.Fatalf("runs = %v", list)
	}
	got := f.recv.Requests()[0]
	if got.Event != "data_sync" || !got.SignatureValid {
		t.Fatalf("delivery = %+v", got)
	}
}

func testutilExec(t *testing.T, app *testutil.TestApp, q string, args ...any) (int64, error) {
	t.Helper()
	var n int64
	err := testutil.QueryRow(t, app, context.Background(), "WITH x AS ("+q+" RETURNING 1) SELECT count(*) FROM x", args...).Scan(&n)
	return n, err
}

func TestDestinationByIDThroughTheAPI(t *testing.T) {
	f := newAutomationFixture(t)
	path := "/api/v1/destinations/" + f.destID
	resp, out := jsonCall(t, f.app, http.MethodGet, path, "", f.token)
	resp.ExpectStatus(http.StatusOK)
	if out["type"] != "webhook" || out["signing_secret"] != nil {
		t.Fatalf("GET = %v", out)
	}
	resp, out = jsonCall(t, f.app, http.MethodPatch, path, `{"name":"Renamed","config":{"headers":{"X-Api-Key":"k-123"}}}`, f.token)
	resp.ExpectStatus(http.StatusOK)
	cfg := out["config"].(map[string]any)
	if out["name"] != "Renamed" || cfg["url"] != f.recv.URL || cfg["header_names"].([]any)[0] != "X-Api-Key" {
		t.Fatalf("PATCH = %v", out)
	}
	resp, out = jsonCall(t, f.app, http.MethodPatch, path, `{"config":{"url":"ftp://nope"}}`, f.token)
	if resp.StatusCode != http.StatusUnprocessableEntity || out["fields"].(map[string]any)["url"] == nil {
		t.Fatalf("bad PATCH: %d %v", resp.StatusCode, out)
	}
	// In use by an automation: 409; then deletable.
	a := f.create(t, `{"name":"Uses it","type":"data_sync","destination_id":"`+f.destID+`","connections":["`+f.connID+`"],
		"schedule":{"kind":"hourly","minute":0},"config":{"level":"account","lookback_days":3}}`)
	call(t, f.app, http.MethodDelete, path, "", f.token).ExpectStatus(http.StatusConflict)
	call(t, f.app, http.MethodDelete, "/api/v1/automations/"+a["id"].(string), "", f.token).ExpectStatus(http.StatusNoContent)
	call(t, f.app, http.MethodDelete, path, "", f.token).ExpectStatus(http.StatusNoContent)
	call(t, f.app, http.MethodGet, path, "", f.token).ExpectStatus(http.StatusNotFound)
}
