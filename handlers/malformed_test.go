package handlers_test

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"adpilot/testutil"
)

// TestMalformedInputNeverA500 walks every route of the router (so a new
// route is covered without editing this test) with garbage: path
// parameters that are not IDs, IDs that do not exist and real IDs; empty,
// huge, NUL-laden, invalid-UTF-8, repeated-key and multipart-broken form
// bodies; truncated, mistyped, array, null and deeply nested JSON; absurd
// query strings; with and without HX-Request; as the operator's browser
// session and as the operator's bearer token. No answer may be a 5xx,
// except the 502/503 a handler deliberately gives for a platform this
// server has not configured (malformedAllowed). Every failure is collected
// and reported at the end.
func TestMalformedInputNeverA500(t *testing.T) {
	start := time.Now()
	f := newMalformedFixture(t)
	routes := f.routes(t)

	var safe, last []sweepRoute
	for _, r := range routes {
		if r.destructive() {
			last = append(last, r)
		} else {
			safe = append(safe, r)
		}
	}
	// Destructive routes go last, one at a time: reversible ones (pause,
	// deactivate) first, so they still find the real objects, then
	// deletions, then logging out.
	sort.SliceStable(last, func(i, j int) bool { return last[i].destructiveRank() < last[j].destructiveRank() })

	res := &sweepResults{}
	// The API allows 300 calls a minute per user; the sweep makes many
	// more, so the counters are cleared all along (a 429 would hide a 500).
	stop := f.clearRateLimitsEvery(50 * time.Millisecond)
	defer stop()
	// Non-destructive routes in parallel (each route's requests in order).
	work := make(chan sweepRoute)
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range work {
				f.sweep(r, res)
			}
		}()
	}
	for _, r := range safe {
		if !r.sequential() {
			work <- r
		}
	}
	close(work)
	wg.Wait()
	// Routes that may end or replace the browser session: one at a time,
	// signing in again when the session is gone.
	for _, r := range append(sequentialOf(safe), last...) {
		f.sweep(r, res)
		f.ensureSession(t)
	}

	t.Logf("swept %d routes with %d requests in %s (%d transport errors, e.g. a connection closed after a 413)",
		len(routes), res.requests, time.Since(start).Round(time.Millisecond), res.transport)
	// What the requests got, to show the sweep reached the handlers (a
	// sweep answered only 401/403 would prove nothing).
	for _, m := range sortedKeys(res.byMode) {
		t.Logf("  %-13s %s", m, histogram(res.byMode[m]))
	}
	if os.Getenv("ADPILOT_SWEEP_DETAIL") != "" {
		for _, k := range sortedKeys(res.byRoute) {
			t.Logf("  %-55s %s", k, histogram(res.byRoute[k]))
		}
	}
	if len(res.allowed) > 0 {
		t.Logf("deliberate 502/503 answers seen (allowed):")
		for _, k := range sortedKeys(res.allowed) {
			t.Logf("  %s ×%d", k, res.allowed[k])
		}
	}
	// Errors the server logged on the way (a handler that swallows a
	// failure into a 4xx may still log it).
	var errs []string
	seenErr := map[string]bool{}
	for _, line := range strings.Split(f.app.Logs(), "\n") {
		if !strings.Contains(line, "level=ERROR") && !strings.Contains(line, `"level":"ERROR"`) {
			continue
		}
		if strings.Contains(line, "msg=request ") {
			continue // the access log line of an (allowed) 503
		}
		msg := line
		if i := strings.Index(line, "msg="); i >= 0 {
			msg = line[i:]
		}
		if j := strings.Index(msg, " request_id="); j >= 0 {
			msg = msg[:j]
		}
		if !seenErr[msg] {
			seenErr[msg] = true
			errs = append(errs, msg)
		}
	}
	if len(errs) > 0 {
		t.Logf("the server logged %d distinct errors:", len(errs))
		for _, e := range errs {
			t.Logf("  %.400s", e)
		}
	}
	if len(res.failures) == 0 {
		return
	}
	// Grouped first (route and status), then every request.
	groups := map[string]int{}
	for _, fl := range res.failures {
		groups[fmt.Sprintf("%d %s %s", fl.status, fl.method, fl.route)]++
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d requests answered 5xx, on %d route/status pairs:\n", len(res.failures), len(groups))
	for _, k := range sortedKeys(groups) {
		fmt.Fprintf(&b, "  %s ×%d\n", k, groups[k])
	}
	b.WriteString("every request:\n")
	for _, fl := range res.failures {
		fmt.Fprintf(&b, "  %d %s %s [%s] body=%s -> %s\n", fl.status, fl.method, fl.url, fl.mode, quoteShort(fl.body, 160),
			quoteShort(fl.answer, 200))
	}
	t.Error(b.String())
}

// malformedAllowed: the only 5xx a handler gives on purpose under this
// test's configuration. Telegram and TikTok for Business are not
// configured: "Add Telegram chat" is a 503 page (destination_telegram.go)
// and the TikTok for Business connect flow answers 503 "Not set up yet"
// (oauth.go, oauth_callback.go). An OAuth callback whose platform fails
// answers 502 (oauth_callback.go); garbage never carries a valid state, so
// it should not get that far, but the answer would be deliberate.
var malformedAllowed = map[string][]int{
	"POST /destinations/telegram":     {503},
	"GET /oauth/tiktok-ads/authorize": {503},
	"GET /oauth/tiktok-ads/callback":  {502, 503},
	"GET /oauth/facebook/callback":    {502},
	"GET /oauth/tiktok/callback":      {502},
}

const (
	malformedFBSecret     = "fb-app-secret-for-the-malformed-sweep"
	malformedTikTokSecret = "tiktok-secret-for-the-malformed-sweep"
)

type malformedFixture struct {
	app     *testutil.TestApp
	token   string
	jar     http.CookieJar
	objects map[string]string // kind -> real id
	bodies  []payload
}

func newMalformedFixture(t *testing.T) *malformedFixture {
	t.Helper()
	// Facebook and TikTok (Login Kit) are configured, pointing at a closed
	// port, so webhooks and compliance callbacks parse what they get;
	// TikTok for Business and Telegram are not.
	closed := "http://127.0.0.1:9"
	app := testutil.NewApp(t, testutil.WithEnv("DEMO_PLATFORM", "true",
		"FB_APP_ID", "1234567890", "FB_APP_SECRET", malformedFBSecret, "FB_GRAPH_URL", closed, "FB_DIALOG_URL", closed,
		"FACEBOOK_WEBHOOK_VERIFY_TOKEN", "verify-me",
		"TIKTOK_CLIENT_KEY", "tiktok-key", "TIKTOK_CLIENT_SECRET", malformedTikTokSecret,
		"TIKTOK_AUTH_URL", closed, "TIKTOK_API_URL", closed, "TIKTOK_BUSINESS_URL", closed, "TELEGRAM_API_URL", closed))
	registerAPI(t, app, "operator@example.com", "Operator Co") // the first user: platform operator
	registerAPI(t, app, "other@example.com", "Other Co")
	member := addMember(t, app, "operator-co", "member@example.com", "user")
	token := loginAPI(t, app, `{"email":"operator@example.com","password":"`+strongPassword+`"}`)

	_, demo := jsonCall(t, app, http.MethodPost, "/api/v1/connections/demo", "", token)
	connection := demo["connections"].([]any)[0].(map[string]any)["id"].(string)
	resp, dest := jsonCall(t, app, http.MethodPost, "/api/v1/destinations", `{"name":"Hook","type":"webhook","url":"http://127.0.0.1:9/hook"}`, token)
	resp.ExpectStatus(http.StatusCreated)
	destination := dest["id"].(string)
	_, delivery := jsonCall(t, app, http.MethodPost, "/api/v1/destinations/"+destination+"/test", "", token)
	resp, auto := jsonCall(t, app, http.MethodPost, "/api/v1/automations", `{"name":"Sync","type":"data_sync","connections":["`+connection+`"],
		"schedule":{"kind":"hourly","minute":0},"config":{"level":"account","lookback_days":3}}`, token)
	resp.ExpectStatus(http.StatusCreated)
	automation := auto["id"].(string)
	_, run := jsonCall(t, app, http.MethodPost, "/api/v1/automations/"+automation+"/run", "", token)

	ctx := context.Background()
	var tenant, otherTenant, otherUser, link, event, outbox string
	if err := testutil.QueryRow(t, app, ctx, `SELECT t.id, o.id, u.id FROM tenant t, tenant o JOIN app_user u ON u.tenant_id = o.id
		WHERE t.slug = 'operator-co' AND o.slug = 'other-co'`).Scan(&tenant, &otherTenant, &otherUser); err != nil {
		t.Fatal(err)
	}
	if err := testutil.QueryRow(t, app, ctx, `INSERT INTO telegram_link (tenant_id, user_id, code_hash, expires_at)
		SELECT tenant_id, id, '\x01', now() + interval '15 minutes' FROM app_user WHERE email = 'operator@example.com' RETURNING id`).Scan(&link); err != nil {
		t.Fatal(err)
	}
	// An event that came through the tenant's connection and set off the run.
	if err := testutil.QueryRow(t, app, ctx, `WITH e AS (INSERT INTO webhook_event (platform, event_type, dedupe_key, object_id, payload, status, processed_at)
		VALUES ('facebook', 'facebook.leadgen', 'leadgen:1', 'page-1', '{"entry":[{"access_token":"EAAsecretsecretsecretsecretsecret"}]}', 'processed', now()) RETURNING id)
		INSERT INTO webhook_event_match (tenant_id, event_id, connection_id, status, data, run_ids, processed_at)
		SELECT $1, e.id, $2, 'processed', '{"field_data":[{"name":"email","values":["a@b.c"]}]}', ARRAY[$3::uuid], now() FROM e
		RETURNING event_id`, tenant, connection, run["run_id"]).Scan(&event); err != nil {
		t.Fatal(err)
	}
	// A firing alert of the automation (its state half-garbage, as an old
	// version might have left it) for acknowledge and snooze.
	var n int
	if err := testutil.QueryRow(t, app, ctx, `WITH i AS (INSERT INTO alert_state (tenant_id, automation_id, entity_key, state)
		VALUES ($1, $2, 'k1', '{"firing":true,"since":"not a time","snoozed_until":12}') RETURNING 1) SELECT count(*) FROM i`,
		tenant, automation).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if err := testutil.QueryRow(t, app, ctx, `SELECT id FROM email_outbox ORDER BY created_at LIMIT 1`).Scan(&outbox); err != nil {
		t.Fatal(err)
	}
	signInBrowser(t, app, "operator@example.com")
	f := &malformedFixture{app: app, token: token, jar: app.Client.Jar, objects: map[string]string{
		"member": member, "connection": connection, "destination": destination, "delivery": delivery["id"].(string),
		"automation": automation, "run": run["run_id"].(string), "event": event, "telegram": link, "outbox": outbox,
		"tenant": otherTenant, "user": otherUser, "static": "css/app.css"}}
	f.bodies = payloads(f.objects)
	return f
}

// ensureSession signs the operator's browser in again if a route ended the
// session (log-out, a log-in attempt, a password form).
func (f *malformedFixture) ensureSession(t *testing.T) {
	t.Helper()
	f.clearRateLimits(t)
	req, _ := http.NewRequest(http.MethodGet, f.app.URL+"/auth/me", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := (&http.Client{Jar: f.jar, CheckRedirect: noRedirect}).Do(req)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return
		}
	}
	signInBrowser(t, f.app, "operator@example.com")
	f.jar = f.app.Client.Jar
}

func (f *malformedFixture) clearRateLimitsEvery(d time.Duration) (stop func()) {
	db, err := sql.Open("postgres", f.app.Config.DatabaseURL)
	if err != nil {
		panic(err)
	}
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(d)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				_, _ = db.Exec(`DELETE FROM rate_limit`)
			}
		}
	}()
	return func() { close(done); <-finished; db.Close() }
}

func (f *malformedFixture) clearRateLimits(t *testing.T) {
	var n int
	if err := testutil.QueryRow(t, f.app, context.Background(),
		`WITH d AS (DELETE FROM rate_limit RETURNING 1) SELECT count(*) FROM d`).Scan(&n); err != nil {
		t.Fatal(err)
	}
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// sweepRoute is one registered route with the ways to fill its parameters.
type sweepRoute struct {
	method, path string
	paths        []string // concrete paths: garbage, missing UUID, real id
}

func (r sweepRoute) key() string { return r.method + " " + r.path }

// destructive routes may delete or disable the fixture: they run last.
func (r sweepRoute) destructive() bool {
	if r.method == http.MethodDelete || r.logsOut() {
		return true
	}
	for _, end := range []string{"/delete", "/deactivate", "/disconnect", "/stop", "/pause"} {
		if strings.HasSuffix(r.path, end) {
			return true
		}
	}
	return false
}

func (r sweepRoute) logsOut() bool { return r.path == "/auth/logout" }

func (r sweepRoute) destructiveRank() int {
	switch {
	case r.logsOut():
		return 2
	case r.method == http.MethodDelete || strings.HasSuffix(r.path, "/delete") || strings.HasSuffix(r.path, "/disconnect"):
		return 1
	}
	return 0
}

// sequential routes touch the session itself.
func (r sweepRoute) sequential() bool {
	return strings.HasPrefix(r.path, "/auth/") && r.method != http.MethodGet && r.method != http.MethodHead
}

func sequentialOf(rs []sweepRoute) []sweepRoute {
	var out []sweepRoute
	for _, r := range rs {
		if r.sequential() {
			out = append(out, r)
		}
	}
	return out
}

// paramObject names the fixture object a route's parameter stands for.
func paramObject(path, param string) string {
	switch {
	case param == ":delivery":
		return "delivery"
	case param == "*":
		return "static"
	case strings.HasPrefix(path, "/settings/members/"):
		return "member"
	case strings.HasPrefix(path, "/connections/pick/"), strings.HasPrefix(path, "/oauth/"):
		return "" // a pending pick or a deletion code: none exists
	case strings.Contains(path, "/connections/"):
		return "connection"
	case strings.HasPrefix(path, "/destinations/telegram/"):
		return "telegram"
	case strings.Contains(path, "/destinations/"):
		return "destination"
	case strings.Contains(path, "/automations/"):
		return "automation"
	case strings.Contains(path, "/runs/"):
		return "run"
	case strings.Contains(path, "/events/"):
		return "event"
	case strings.HasPrefix(path, "/admin/outbox/"):
		return "outbox"
	case strings.HasPrefix(path, "/admin/tenants/"):
		return "tenant"
	case strings.HasPrefix(path, "/admin/users/"):
		return "user"
	}
	return ""
}

func randomUUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// routes lists every registered route with its concrete paths.
func (f *malformedFixture) routes(t *testing.T) []sweepRoute {
	t.Helper()
	var out []sweepRoute
	seen := map[string]bool{}
	for _, r := range f.app.App.Echo().Routes() {
		if r.Method == "echo_route_any" || seen[r.Method+" "+r.Path] {
			continue
		}
		seen[r.Method+" "+r.Path] = true
		sr := sweepRoute{method: r.Method, path: r.Path}
		parts := strings.Split(r.Path, "/")
		hasParam := false
		for _, p := range parts {
			hasParam = hasParam || strings.HasPrefix(p, ":") || p == "*"
		}
		if !hasParam {
			sr.paths = []string{r.Path}
		} else {
			for _, variant := range []string{"garbage", "uuid", "real"} {
				filled := make([]string, len(parts))
				ok := true
				for i, p := range parts {
					filled[i] = p
					if !strings.HasPrefix(p, ":") && p != "*" {
						continue
					}
					switch variant {
					case "garbage":
						filled[i] = "%00nope"
					case "uuid":
						filled[i] = randomUUID()
					case "real":
						id := f.objects[paramObject(r.Path, p)]
						if id == "" {
							ok = false
						}
						filled[i] = id
					}
				}
				if ok {
					sr.paths = append(sr.paths, strings.Join(filled, "/"))
				}
			}
		}
		out = append(out, sr)
	}
	if len(out) < 100 {
		t.Fatalf("found only %d routes: the walk is broken", len(out))
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].key() < out[j].key() })
	return out
}

// payload is one request body with its content type.
type payload struct {
	name, contentType, body string
}

// formFields are every field name the forms read, plus a few nobody does.
var formFields = []string{"name", "type", "url", "headers", "clear_headers", "role", "email", "password", "current_password",
	"new_password", "login", "username", "tenant_name", "tenant", "token", "code", "next", "return", "user_id", "addresses",
	"connections", "destination_id", "status", "schedule.kind", "schedule.time", "schedule.timezone", "schedule.tz_mode",
	"schedule.minute", "schedule.days", "schedule.expr", "config.level", "config.period", "config.metrics", "config.compare",
	"config.top", "config.top_by", "config.chart", "config.lookback_days", "config.metric", "config.operator", "config.threshold",
	"config.window", "config.match", "config.trigger", "config.event", "config.action", "config.notify_resolved",
	"config.filters.page_id", "config.filters.form_id", "config.filters.ad_id", "automation_id", "key", "conversion_actions",
	"accounts", "signed_request", "id", "_method", "chat_id", "secret", "is_active", "unknown_field", "config.unknown"}

func formOf(value func(field string) []string) string {
	v := url.Values{}
	for _, k := range formFields {
		v[k] = value(k)
	}
	return v.Encode()
}

// payloads are the garbage bodies sent to every non-GET route. real fills
// the plausible variant with the fixture's ids.
func payloads(objects map[string]string) []payload {
	const form = "application/x-www-form-urlencoded"
	const js = "application/json"
	huge := strings.Repeat("A", 8<<10)
	deep := strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000)
	deepArr := `{"name":"x","config":` + strings.Repeat("[", 50000) + strings.Repeat("]", 50000) + `}`
	wrongTypes := `{"name":123,"type":[],"url":{},"connections":"nope","destination_id":7,"status":{"a":1},"role":[1],` +
		`"email":false,"password":12,"tenant_name":null,"schedule":"daily","config":[1,2],"headers":"x","events":"x",` +
		`"conversion_actions":"purchase","is_active":"yes","lookback_days":"x","minute":"x","page":"x","accounts":{"x":1}}`
	nested := `{"name":"x","type":"scheduled_report","connections":[{"id":1}],"schedule":{"kind":["daily"],"time":12,` +
		`"timezone":{"x":1},"minute":-99999999999,"days":"mon"},"config":{"level":{},"metrics":[[[]]],"top":1e400,` +
		`"threshold":"x","filters":[1],"lookback_days":-1e30}}`
	real := url.Values{"automation_id": {objects["automation"]}, "key": {"k1"}, "destination_id": {objects["destination"]},
		"connections": {objects["connection"], "%00nope", randomUUID()}, "user_id": {objects["user"]}, "id": {objects["run"]},
		"type": {"scheduled_report"}, "name": {"x"}, "schedule.kind": {"daily"}, "schedule.time": {"25:99"},
		"schedule.timezone": {"Mars/Olympus"}, "config.level": {"campaign"}, "config.metrics": {"nope"}, "role": {"owner"},
		"config.top": {"-5"}, "config.threshold": {"NaN"}, "config.window": {"99999999999999999999"}, "accounts": {"%00nope"},
		"url": {"http://[::1"}, "headers": {"X: \x00\r\nY"}, "status": {"paused"}}
	return []payload{
		{"no body", "", ""},
		{"empty form", form, ""},
		{"huge form", form, formOf(func(string) []string { return []string{huge} })},
		{"NUL form", form, formOf(func(string) []string { return []string{"a\x00b"} })},
		{"invalid UTF-8 form", form, formOf(func(string) []string { return []string{"\xff\xfe\xc3("} }) + "&%FF%FE=%C3%28"},
		{"repeated keys", form, formOf(func(string) []string { return []string{"1", "abc", "-1", ""} })},
		{"wrong types form", form, formOf(func(k string) []string {
			return []string{"-99999999999999999999", "2024-13-45T99:99", "nope", "%00nope", "<script>x</script>", "true\x00"}
		})},
		{"broken encoding", form, "a=%zz&&&=&%&b=%e2%28&" + strings.Repeat("x", 100) + "=" + "&name"},
		{"plausible form", form, real.Encode()},
		{"broken multipart", "multipart/form-data; boundary=xyz", "--xyz\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nval"},
		{"multipart no boundary", "multipart/form-data", "garbage"},
		{"text/plain", "text/plain", "\x00\xff garbage"},
		{"truncated JSON", js, `{"name":"x","type":`},
		{"wrong types JSON", js, wrongTypes},
		{"nested wrong types JSON", js, nested},
		{"array JSON", js, `[1,"two",{"three":3}]`},
		{"null JSON", js, `null`},
		{"string JSON", js, `"just a string"`},
		{"deep JSON", js, deep},
		{"deep array JSON", js, deepArr},
		{"NUL JSON", js, `{"name":"a\u0000b","email":"\u0000@x","url":"http://x/\u0000","password":"\u0000","login":"\u0000","tenant_name":"\u0000"}`},
		{"invalid UTF-8 JSON", js, "{\"name\":\"\xff\xfe\",\"email\":\"\xc3(\"}"},
		{"JSON numbers", js, `{"page":99999999999999999999,"minute":1e400,"lookback_days":-1,"is_active":1}`},
		{"JSON with form type", form, `{"name":"x"}`},
		// Otherwise valid, naming objects that do not exist (or belong to
		// another tenant: the store cannot tell them apart).
		{"foreign ids form", form, url.Values{"name": {"Foreign"}, "type": {"data_sync"}, "destination_id": {randomUUID()},
			"connections": {randomUUID()}, "automation_id": {randomUUID()}, "key": {"k1"}, "status": {"active"},
			"schedule.kind": {"hourly"}, "schedule.minute": {"0"}, "config.level": {"account"}, "config.lookback_days": {"3"},
			"conversion_actions": {"purchase"}, "accounts": {randomUUID()}, "user_id": {randomUUID()}}.Encode()},
		{"foreign ids JSON", js, `{"name":"Foreign","type":"data_sync","destination_id":"` + randomUUID() + `","connections":["` +
			randomUUID() + `"],"schedule":{"kind":"hourly","minute":0},"config":{"level":"account","lookback_days":3},"status":"active"}`},
		{"real ids JSON", js, `{"name":"Real","type":"data_sync","destination_id":"` + objects["destination"] + `","connections":["` +
			objects["connection"] + `"],"schedule":{"kind":"hourly","minute":0},"config":{"level":"account","lookback_days":3}}`},
		{"JSON charset odd", "application/json; charset=ebcdic", `{"name":"x"}`},
	}
}

// queries are the garbage query strings sent to every GET route (and a
// few to the others).
var queries = []string{
	"",
	"page=-1&limit=-1&offset=-1&days=-1",
	"page=999999999999&limit=999999999999&offset=999999999999&days=999999999999",
	"page=9223372036854775807&limit=9223372036854775807&offset=9223372036854775807&days=9223372036854775807",
	"page=abc&days=abc&from=abc&to=abc&limit=abc&offset=abc&v=abc",
	"status=%3Cscript%3Ealert(1)%3C/script%3E&type=%3Cscript%3E&q=%3Cscript%3E&action=%00&actor=%00&platform=zz&tenant=%00nope&connection=%00nope",
	"from=2024-13-45&to=0000-00-00&days=1e9&page=1e3&page=2&status=&status=failed",
	"q=%00%ff%fe&search=%00&tenant=" + "%FF%FE" + "&connection=00000000-0000-4000-8000-000000000000&type=..%2F..%2Fetc",
	"next=//evil.example&return=javascript:alert(1)&token=%00&code=%00&state=%00&error=x&error_description=%00&auth_code=%00",
	"schedule.kind=cron&schedule.expr=*+*+*+*+*+*+*&schedule.timezone=Mars/Olympus&schedule.time=99:99&schedule.days=zz&schedule.minute=-1&type=zz",
	"hub.mode=subscribe&hub.verify_token=%00&hub.challenge=%3Cscript%3E",
	"a=%zz&%=&&=&page=%",
	"from=" + url.QueryEscape(strings.Repeat("9", 5000)) + "&q=" + strings.Repeat("x", 5000),
}

// sweepResults collects the outcome of every request.
type sweepResults struct {
	mu                  sync.Mutex
	requests, transport int
	failures            []sweepFailure
	allowed             map[string]int
	byMode              map[string]map[int]int // mode -> status -> count
	byRoute             map[string]map[int]int // route -> status -> count
}

type sweepFailure struct {
	status                                 int
	method, route, url, mode, body, answer string
}

func (res *sweepResults) add(r sweepRoute, u, mode string, p payload, status int, answer string, err error) {
	res.mu.Lock()
	defer res.mu.Unlock()
	res.requests++
	if res.byMode == nil {
		res.byMode, res.byRoute = map[string]map[int]int{}, map[string]map[int]int{}
	}
	if res.byMode[mode] == nil {
		res.byMode[mode] = map[int]int{}
	}
	if res.byRoute[r.key()] == nil {
		res.byRoute[r.key()] = map[int]int{}
	}
	res.byMode[mode][status]++
	res.byRoute[r.key()][status]++
	if err != nil {
		res.transport++
		return
	}
	if status < 500 {
		return
	}
	for _, ok := range malformedAllowed[r.key()] {
		if ok == status {
			if res.allowed == nil {
				res.allowed = map[string]int{}
			}
			res.allowed[fmt.Sprintf("%d %s", status, r.key())]++
			return
		}
	}
	res.failures = append(res.failures, sweepFailure{status: status, method: r.method, route: r.path, url: u, mode: mode,
		body: p.name + ": " + p.body, answer: answer})
}

// sweep sends every garbage request to one route.
func (f *malformedFixture) sweep(r sweepRoute, res *sweepResults) {
	browser := &http.Client{Jar: f.jar, CheckRedirect: noRedirect, Timeout: 20 * time.Second}
	bearer := &http.Client{CheckRedirect: noRedirect, Timeout: 20 * time.Second}
	withBody := r.method != http.MethodGet && r.method != http.MethodHead
	bodies := []payload{{"no body", "", ""}}
	qs := queries
	if withBody {
		bodies = f.bodies
		qs = []string{"", queries[3], queries[5]}
	}
	type mode struct {
		name   string
		client *http.Client
		hx     bool
	}
	modes := []mode{{"session", browser, false}, {"session+htmx", browser, true}, {"bearer", bearer, false}, {"bearer+htmx", bearer, true}}
	for _, path := range r.paths {
		for _, m := range modes {
			for qi, q := range qs {
				for bi, p := range bodies {
					if withBody && qi > 0 && bi > 0 {
						continue // garbage queries with no body only
					}
					u := path
					if q != "" {
						u += "?" + q
					}
					status, answer, err := f.send(m.client, r, u, p, m.hx, m.client == bearer)
					res.add(r, u, m.name, p, status, answer, err)
				}
			}
		}
	}
	// Over the 1 MiB body limit: 413, never a 500 (one path, two modes).
	if withBody {
		path := r.paths[len(r.paths)-1]
		for _, p := range []payload{
			{"oversized form", "application/x-www-form-urlencoded", "name=" + strings.Repeat("A", 1200<<10)},
			{"oversized JSON", "application/json", `{"name":"` + strings.Repeat("A", 1200<<10) + `"}`},
		} {
			status, answer, err := f.send(browser, r, path, p, false, false)
			res.add(r, path, "session", p, status, answer, err)
			status, answer, err = f.send(bearer, r, path, p, false, true)
			res.add(r, path, "bearer", p, status, answer, err)
		}
	}
	// Signed garbage for the platform webhooks, so the parsers see it.
	if r.method == http.MethodPost && (r.path == "/api/webhooks/facebook" || r.path == "/api/webhooks/tiktok") {
		for _, p := range f.bodies {
			status, answer, err := f.sendSigned(r.path, p)
			res.add(r, r.path, "signed", p, status, answer, err)
		}
	}
}

func (f *malformedFixture) send(client *http.Client, r sweepRoute, u string, p payload, hx, bearer bool) (int, string, error) {
	var body io.Reader
	if p.body != "" || p.contentType != "" {
		body = strings.NewReader(p.body)
	}
	req, err := http.NewRequest(r.method, f.app.URL+u, body)
	if err != nil {
		return 0, "", err
	}
	if p.contentType != "" {
		req.Header.Set("Content-Type", p.contentType)
	}
	if bearer {
		req.Header.Set("Authorization", "Bearer "+f.token)
	} else {
		req.Header.Set("Sec-Fetch-Site", "same-origin") // a same-origin form: CSRF passes
	}
	if hx {
		req.Header.Set("HX-Request", "true")
		req.Header.Set("HX-Target", "%00nope")
		req.Header.Set("HX-Current-URL", "javascript:%00")
	}
	return do(client, req)
}

func (f *malformedFixture) sendSigned(path string, p payload) (int, string, error) {
	req, err := http.NewRequest(http.MethodPost, f.app.URL+path, strings.NewReader(p.body))
	if err != nil {
		return 0, "", err
	}
	if p.contentType != "" {
		req.Header.Set("Content-Type", p.contentType)
	}
	if path == "/api/webhooks/facebook" {
		mac := hmac.New(sha256.New, []byte(malformedFBSecret))
		mac.Write([]byte(p.body))
		req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	} else {
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		mac := hmac.New(sha256.New, []byte(malformedTikTokSecret))
		mac.Write([]byte(ts + "." + p.body))
		req.Header.Set("TikTok-Signature", "t="+ts+",s="+hex.EncodeToString(mac.Sum(nil)))
	}
	return do(&http.Client{Timeout: 20 * time.Second}, req)
}

func do(client *http.Client, req *http.Request) (int, string, error) {
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(b), nil
}

func histogram(m map[int]int) string {
	codes := make([]int, 0, len(m))
	for c := range m {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	var parts []string
	for _, c := range codes {
		parts = append(parts, fmt.Sprintf("%d×%d", c, m[c]))
	}
	return strings.Join(parts, " ")
}

func quoteShort(s string, n int) string {
	if len(s) > n {
		s = s[:n] + fmt.Sprintf("…(%d bytes)", len(s))
	}
	return strconv.Quote(s)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
