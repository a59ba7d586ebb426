package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"adpilot/testutil"
)

// idRoute is a route that takes the ID of a tenant-owned object. Every such
// route belongs in isolationRoutes: later features add theirs.
type idRoute struct {
	method, path string // path holds {id}
	form         url.Values
	object       string // which fixture object the {id} names
}

var isolationRoutes = []idRoute{
	{http.MethodPatch, "/api/v1/destinations/{id}", nil, "destination"},
	{http.MethodDelete, "/api/v1/destinations/{id}", nil, "destination"},
	{http.MethodPatch, "/api/v1/automations/{id}", nil, "automation"},
	{http.MethodDelete, "/api/v1/automations/{id}", nil, "automation"},
	{http.MethodPost, "/api/v1/automations/{id}/run", nil, "automation"},
	{http.MethodPost, "/api/v1/automations/{id}/preview", nil, "automation"},
	{http.MethodPost, "/settings/members/{id}/role", url.Values{"role": {"viewer"}}, "member"},
	{http.MethodPost, "/settings/members/{id}/deactivate", nil, "member"},
	{http.MethodPost, "/settings/members/{id}/activate", nil, "member"},
	{http.MethodPost, "/connections/{id}/check", nil, "connection"},
	{http.MethodPost, "/connections/{id}/disconnect", nil, "connection"},
	{http.MethodPost, "/connections/{id}/settings", url.Values{"conversion_actions": {"purchase"}}, "connection"},
	{http.MethodPost, "/api/v1/connections/{id}/check", nil, "connection"},
	{http.MethodDelete, "/api/v1/connections/{id}", nil, "connection"},
	{http.MethodGet, "/destinations/{id}/edit", nil, "destination"},
	{http.MethodPost, "/destinations/{id}", url.Values{"name": {"Renamed"}, "url": {"http://127.0.0.1:9/x"}}, "destination"},
	{http.MethodPost, "/destinations/{id}/test", nil, "destination"},
	{http.MethodPost, "/destinations/{id}/rotate-secret", nil, "destination"},
	{http.MethodPost, "/destinations/{id}/deactivate", nil, "destination"},
	{http.MethodPost, "/destinations/{id}/activate", nil, "destination"},
	{http.MethodPost, "/destinations/{id}/delete", nil, "destination"},
	{http.MethodPost, "/api/v1/destinations/{id}/test", nil, "destination"},
	// {id} is "<destination>/deliveries/<delivery>": the route takes both.
	{http.MethodPost, "/destinations/{id}/retry", nil, "delivery"},
	{http.MethodGet, "/destinations/telegram/{id}/status", nil, "telegram link"},
	{http.MethodGet, "/automations/{id}/edit", nil, "automation"},
	{http.MethodPost, "/automations/{id}", url.Values{"name": {"Renamed"}, "schedule.kind": {"hourly"}}, "automation"},
	{http.MethodPost, "/automations/{id}/run", nil, "automation"},
	{http.MethodPost, "/automations/{id}/preview", nil, "automation"},
	{http.MethodPost, "/automations/{id}/pause", nil, "automation"},
	{http.MethodPost, "/automations/{id}/stop", nil, "automation"},
	{http.MethodPost, "/automations/{id}/resume", nil, "automation"},
	{http.MethodPost, "/automations/{id}/duplicate", nil, "automation"},
	{http.MethodPost, "/automations/{id}/delete", nil, "automation"},
}

// isolationReadRoutes are ID routes every member of the tenant may read
// (viewers included), and no other tenant.
var isolationReadRoutes = []idRoute{
	{http.MethodGet, "/api/v1/automations/{id}", nil, "automation"},
	{http.MethodGet, "/api/v1/automations/{id}/runs", nil, "automation"},
	{http.MethodGet, "/automations/{id}", nil, "automation"},
	{http.MethodGet, "/automations/{id}/runs", nil, "automation"},
	{http.MethodGet, "/api/v1/runs/{id}", nil, "run"},
	{http.MethodGet, "/runs/{id}", nil, "run"},
	{http.MethodGet, "/destinations/{id}", nil, "destination"},
	{http.MethodGet, "/api/v1/destinations/{id}", nil, "destination"},
	{http.MethodGet, "/api/v1/destinations/{id}/deliveries", nil, "destination"},
}

// isolationFixture is two tenants: A with an admin, a viewer and a member
// whose objects the routes name; B with an admin who must see none of A.
type isolationFixture struct {
	app     *testutil.TestApp
	objects map[string]string         // object kind -> ID in tenant A
	jars    map[string]http.CookieJar // one session per user: log-ins are rate-limited
}

func newIsolationFixture(t *testing.T) *isolationFixture {
	app := testutil.NewApp(t, testutil.WithEnv("DEMO_PLATFORM", "true"))
	registerAPI(t, app, "admin-a@example.com", "Tenant A")
	registerAPI(t, app, "admin-b@example.com", "Tenant B")
	addMember(t, app, "tenant-a", "viewer-a@example.com", "viewer")
	member := addMember(t, app, "tenant-a", "member-a@example.com", "user")
	token := loginAPI(t, app, `{"email":"admin-a@example.com","password":"`+strongPassword+`"}`)
	_, demo := jsonCall(t, app, http.MethodPost, "/api/v1/connections/demo", "", token)
	connection := demo["connections"].([]any)[0].(map[string]any)["id"].(string)
	// A webhook with a delivery (to a closed port: it stays pending), and an
	// "Add Telegram chat" code of admin A.
	_, dest := jsonCall(t, app, http.MethodPost, "/api/v1/destinations", `{"name":"Hook A","type":"webhook","url":"http://127.0.0.1:9/a"}`, token)
	destination := dest["id"].(string)
	_, delivery := jsonCall(t, app, http.MethodPost, "/api/v1/destinations/"+destination+"/test", "", token)
	var link string
	if err := testutil.QueryRow(t, app, context.Background(), `INSERT INTO telegram_link (tenant_id, user_id, code_hash, expires_at)
		SELECT tenant_id, id, '\x01', now() + interval '15 minutes' FROM app_user WHERE email = 'admin-a@example.com' RETURNING id`).Scan(&link); err != nil {
		t.Fatal(err)
	}
	_, auto := jsonCall(t, app, http.MethodPost, "/api/v1/automations", `{"name":"Sync A","type":"data_sync","connections":["`+connection+`"],
		"schedule":{"kind":"hourly","minute":0},"config":{"level":"account","lookback_days":3}}`, token)
	automation := auto["id"].(string)
	_, run := jsonCall(t, app, http.MethodPost, "/api/v1/automations/"+automation+"/run", "", token)
	return &isolationFixture{app: app, objects: map[string]string{"member": member, "connection": connection, "destination": destination,
		"delivery": destination + "/deliveries/" + delivery["id"].(string), "telegram link": link, "automation": automation,
		"run": run["run_id"].(string)},
		jars: map[string]http.CookieJar{}}
}

// signInAs switches to email's browser session, logging in the first time.
func (f *isolationFixture) signInAs(t *testing.T, email string) {
	t.Helper()
	if jar, ok := f.jars[email]; ok {
		f.app.Client.Jar = jar
		return
	}
	f.app.Client.Jar = newJar(t)
	f.app.PostForm("/auth/login", url.Values{"login": {email}, "password": {strongPassword}},
		"Sec-Fetch-Site", "same-origin").ExpectStatus(http.StatusSeeOther)
	f.jars[email] = f.app.Client.Jar
}

func TestTenantIsolation(t *testing.T) {
	f := newIsolationFixture(t)
	for _, r := range isolationRoutes {
		path := strings.ReplaceAll(r.path, "{id}", f.objects[r.object])
		t.Run(r.method+" "+r.path, func(t *testing.T) {
			f.signInAs(t, "admin-b@example.com")
			f.app.Do(r.method, path, strings.NewReader(r.form.Encode()), "Content-Type", "application/x-www-form-urlencoded",
				"Sec-Fetch-Site", "same-origin").ExpectStatus(http.StatusNotFound)

			f.signInAs(t, "viewer-a@example.com")
			f.app.Do(r.method, path, strings.NewReader(r.form.Encode()), "Content-Type", "application/x-www-form-urlencoded",
				"Sec-Fetch-Site", "same-origin").ExpectStatus(http.StatusForbidden)
		})
	}
	for _, r := range isolationReadRoutes {
		path := strings.ReplaceAll(r.path, "{id}", f.objects[r.object])
		t.Run(r.method+" "+r.path, func(t *testing.T) {
			f.signInAs(t, "admin-b@example.com")
			f.app.Do(r.method, path, nil, "Sec-Fetch-Site", "same-origin").ExpectStatus(http.StatusNotFound)
			f.signInAs(t, "viewer-a@example.com")
			f.app.Do(r.method, path, nil, "Sec-Fetch-Site", "same-origin").ExpectStatus(http.StatusOK)
		})
	}
	// Nothing above changed tenant A's member.
	f.signInAs(t, "admin-a@example.com")
	_, members := jsonCall(t, f.app, http.MethodGet, "/api/tenants/current/members", "", "")
	for _, m := range members["members"].([]any) {
		if mm := m.(map[string]any); mm["email"] == "member-a@example.com" && (mm["role"] != "user" || mm["is_active"] != true) {
			t.Fatalf("another tenant changed the member: %v", mm)
		}
	}
	_, conns := jsonCall(t, f.app, http.MethodGet, "/api/v1/connections", "", "")
	if n := len(conns["connections"].([]any)); n != 3 {
		t.Fatalf("tenant A has %d connections after the other tenant's attempts, want 3", n)
	}
	_, autos := jsonCall(t, f.app, http.MethodGet, "/api/v1/automations", "", "")
	if list := autos["automations"].([]any); len(list) != 1 || list[0].(map[string]any)["name"] != "Sync A" || list[0].(map[string]any)["status"] != "active" {
		t.Fatalf("tenant A's automations after the other tenant's attempts: %v", list)
	}
	_, dests := jsonCall(t, f.app, http.MethodGet, "/api/v1/destinations", "", "")
	if list := dests["destinations"].([]any); len(list) != 1 || list[0].(map[string]any)["name"] != "Hook A" || list[0].(map[string]any)["is_active"] != true {
		t.Fatalf("tenant A's destinations after the other tenant's attempts: %v", list)
	}
}
