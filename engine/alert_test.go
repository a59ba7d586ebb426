package engine_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"adpilot/connections"
	"adpilot/engine"
	"adpilot/models"
	"adpilot/notify"
	"adpilot/platforms"
	"adpilot/reports"
	"adpilot/testutil"
	"adpilot/vault"
)

// alertResult is the run result as stored (JSON).
type alertResult struct {
	Window   reports.Period `json:"window"`
	Checked  int            `json:"checked"`
	Fired    []string       `json:"fired"`
	Resolved []string       `json:"resolved"`
	Paused   []string       `json:"paused"`
	Guarded  int            `json:"guarded"`
}

// alertEnv is one tenant with one connection (Demo Shop unless told) and
// one alert automation, on its own database.
type alertEnv struct {
	t        *testing.T
	store    *models.Store
	db       *sql.DB
	reg      *platforms.Registry
	runner   engine.Runner
	tenantID string
	autoID   string
	conn     models.Connection
	ref      string

	mu  sync.Mutex
	now time.Time
}

func (e *alertEnv) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

// alertSetup builds the env; settings (optional) configure the registry
// and input the connection (default: the first demo account).
func alertSetup(t *testing.T, config string, now time.Time, settings *platforms.Settings, input *models.ConnectionInput) *alertEnv {
	t.Helper()
	ctx := context.Background()
	store, dbURL := testutil.NewStore(t)
	k, err := vault.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	store.SetVault(k)
	db, err := sql.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	e := &alertEnv{t: t, store: store, db: db, now: now}
	s := platforms.Settings{}
	if settings != nil {
		s = *settings
	}
	s.Now = e.clock
	e.reg = platforms.NewRegistry(s, true)
	if err := db.QueryRow(`INSERT INTO tenant (name, slug) VALUES ('Alert Co', 'alert-co') RETURNING id`).Scan(&e.tenantID); err != nil {
		t.Fatal(err)
	}
	if input == nil {
		acc := e.reg.Demo.DemoAccounts()[0]
		input = &models.ConnectionInput{Platform: platforms.Demo, Kind: acc.Kind, AccountRef: acc.Ref, AccountName: acc.Name,
			AccessToken: platforms.DemoToken(acc.Ref), Meta: acc.Meta}
	}
	e.ref = input.AccountRef
	conns, err := store.ConnectAccounts(ctx, models.User{TenantID: e.tenantID}, "", []models.ConnectionInput{*input})
	if err != nil {
		t.Fatal(err)
	}
	e.conn = conns[0]
	if err := db.QueryRow(`INSERT INTO automation (tenant_id, name, type, automation_config) VALUES ($1, 'Spend watch', 'alert', $2) RETURNING id`,
		e.tenantID, config).Scan(&e.autoID); err != nil {
		t.Fatal(err)
	}
	if err := store.SetAutomationConnections(ctx, e.tenantID, e.autoID, []string{e.conn.ID}); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	e.runner = engine.NewAlertRunner(engine.Deps{Store: store, Platforms: e.reg, Connections: connections.New(store, e.reg, logger, "https://x"),
		Logger: logger, BaseURL: "https://x"})
	return e
}

// run runs the alert at now.
func (e *alertEnv) run(now time.Time, dry bool) (engine.Output, alertResult, error) {
	e.t.Helper()
	e.mu.Lock()
	e.now = now
	e.mu.Unlock()
	ctx := context.Background()
	a, err := e.store.GetAutomation(ctx, e.tenantID, e.autoID)
	if err != nil {
		e.t.Fatal(err)
	}
	tenant, err := e.store.GetTenant(ctx, e.tenantID)
	if err != nil {
		e.t.Fatal(err)
	}
	conns, creds, err := e.store.AutomationConnections(ctx, e.tenantID, e.autoID)
	if err != nil {
		e.t.Fatal(err)
	}
	out, err := e.runner.Run(ctx, engine.Job{Automation: a, Tenant: tenant, Connections: conns, Credentials: creds, Now: now, DryRun: dry, Log: &engine.Log{}})
	if err == nil && !dry {
		// The engine commits what the runner decided with the run's end.
		if serr := e.store.SaveRunEffects(ctx, e.tenantID, e.autoID, now, out.Effects); serr != nil {
			e.t.Fatal(serr)
		}
	}
	var res alertResult
	if err == nil {
		raw, merr := json.Marshal(out.Result)
		if merr != nil {
			e.t.Fatal(merr)
		}
		if uerr := json.Unmarshal(raw, &res); uerr != nil {
			e.t.Fatalf("result %s: %v", raw, uerr)
		}
	}
	return out, res, err
}

func (e *alertEnv) states() map[string]json.RawMessage {
	e.t.Helper()
	s, err := e.store.AlertStates(context.Background(), e.tenantID, e.autoID)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// alertSpikeDay finds, scanning back from a fixed date, a day on which one
// campaign of the first demo account spikes while its day before and after
// are normal and no other campaign has an anomaly on those three days.
func alertSpikeDay(t *testing.T, reg *platforms.Registry) (day time.Time, campaign platforms.DemoEntity) {
	t.Helper()
	ref := reg.Demo.DemoAccounts()[0].Ref
	camps := reg.Demo.Entities(ref, platforms.LevelCampaign)
	start := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range 2000 {
		d := start.AddDate(0, 0, -i)
	next:
		for _, c := range camps {
			if platforms.DemoAnomaly(ref, c.ID, d) != "spike" {
				continue
			}
			for _, o := range camps {
				for _, dd := range []time.Time{d.AddDate(0, 0, -1), d, d.AddDate(0, 0, 1)} {
					if (o.ID != c.ID || !dd.Equal(d)) && platforms.DemoAnomaly(ref, o.ID, dd) != "" {
						continue next
					}
				}
			}
			return d, c
		}
	}
	t.Fatal("no suitable spike day in the demo data")
	return
}

// alertNoon is noon in New York (Demo Shop's zone) on day's date.
func alertNoon(day time.Time) time.Time {
	ny, _ := time.LoadLocation("America/New_York")
	return time.Date(day.Year(), day.Month(), day.Day(), 12, 0, 0, 0, ny)
}

func alertKeys(v any) []string {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// alertCheckData checks the webhook payload has exactly the documented keys.
func alertCheckData(t *testing.T, data any) map[string]any {
	t.Helper()
	raw, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	want := func(what string, v any, keys ...string) {
		t.Helper()
		slices.Sort(keys)
		if got := alertKeys(v); !slices.Equal(got, keys) {
			t.Fatalf("%s keys = %v, want %v (%s)", what, got, keys, raw)
		}
	}
	want("data", m, "automation", "window", "fired", "resolved")
	want("automation", m["automation"], "id", "name")
	want("window", m["window"], "name", "since", "until")
	for _, f := range m["fired"].([]any) {
		want("fired", f, "connection_id", "entity_id", "entity_name", "level", "conditions", "action", "paused")
		for _, c := range f.(map[string]any)["conditions"].([]any) {
			want("condition", c, "metric", "op", "value", "actual")
		}
	}
	for _, r := range m["resolved"].([]any) {
		want("resolved", r, "connection_id", "entity_id", "entity_name")
	}
	return m
}

const alertSpikeConfig = `{"level":"campaign","window":"yesterday","conditions":[{"metric":"spend","op":"change_pct>","value":50}],
	"min":{"spend":1},"cooldown_minutes":60,"notify_resolved":true}`

func TestAlertFiresCoolsDownAndResolves(t *testing.T) {
	reg := platforms.NewRegistry(platforms.Settings{}, true)
	day, camp := alertSpikeDay(t, reg)
	now := alertNoon(day.AddDate(0, 0, 1)) // "yesterday" is the spike day
	e := alertSetup(t, alertSpikeConfig, now, nil, nil)
	key := engine.AlertEntityKey(e.conn.ID, platforms.LevelCampaign, camp.ID)

	out, res, err := e.run(now, false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Fired, []string{key}) || res.Checked != 4 || res.Guarded != 0 || len(res.Paused) != 0 {
		t.Fatalf("result = %+v, want %s fired of 4", res, key)
	}
	if res.Window.Since.Format(time.DateOnly) != day.Format(time.DateOnly) {
		t.Fatalf("window = %v, want %s", res.Window, day.Format(time.DateOnly))
	}
	m := out.Message
	if m == nil || m.Title != "Alert: Spend watch" || m.Event != "alert" {
		t.Fatalf("message = %+v", m)
	}
	if !strings.Contains(m.TelegramHTML, "<b>"+notify.EscapeHTML(camp.Name)+"</b> (Demo Shop (USD)): Spend +") ||
		!strings.Contains(m.Text, camp.Name) || !strings.Contains(m.HTML, "<strong>") {
		t.Fatalf("message text:\n%s\n%s", m.TelegramHTML, m.Text)
	}
	data := alertCheckData(t, m.Data)
	fired := data["fired"].([]any)
	if len(fired) != 1 || fired[0].(map[string]any)["entity_id"] != camp.ID || fired[0].(map[string]any)["action"] != "notify" {
		t.Fatalf("fired = %v", fired)
	}
	if m.Buttons != nil {
		t.Fatal("buttons without an AlertButtons hook")
	}
	var st reports.State
	if err := json.Unmarshal(e.states()[key], &st); err != nil || !st.Firing || st.LastFiredAt == nil {
		t.Fatalf("stored state %+v (%v)", st, err)
	}

	// Within the cooldown: quiet.
	out, res, err = e.run(now.Add(30*time.Minute), false)
	if err != nil || out.Message != nil || len(res.Fired) != 0 {
		t.Fatalf("within cooldown: message %+v, result %+v, err %v", out.Message, res, err)
	}
	// After it (same day, same window): a reminder.
	out, res, err = e.run(now.Add(2*time.Hour), false)
	if err != nil || out.Message == nil || !slices.Equal(res.Fired, []string{key}) {
		t.Fatalf("after cooldown: message %+v, result %+v, err %v", out.Message, res, err)
	}
	// Next day the spike is over: resolved.
	out, res, err = e.run(now.AddDate(0, 0, 1), false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Resolved, []string{key}) || len(res.Fired) != 0 {
		t.Fatalf("resolve result = %+v", res)
	}
	m = out.Message
	if m == nil || m.Title != "Resolved: Spend watch" || m.Event != "alert.resolved" || !strings.Contains(m.TelegramHTML, "Resolved") {
		t.Fatalf("resolved message = %+v", m)
	}
	data = alertCheckData(t, m.Data)
	if r := data["resolved"].([]any); len(r) != 1 || r[0].(map[string]any)["entity_id"] != camp.ID {
		t.Fatalf("resolved = %v", r)
	}
	// And quiet afterwards.
	if out, _, err := e.run(now.AddDate(0, 0, 1).Add(time.Hour), false); err != nil || out.Message != nil {
		t.Fatalf("after resolve: %+v, %v", out.Message, err)
	}
}

func TestAlertGuardHoldsBackSmallSamples(t *testing.T) {
	reg := platforms.NewRegistry(platforms.Settings{}, true)
	day, _ := alertSpikeDay(t, reg)
	now := alertNoon(day.AddDate(0, 0, 1))
	e := alertSetup(t, `{"level":"campaign","window":"yesterday","conditions":[{"metric":"spend","op":"change_pct>","value":50}],
		"min":{"spend":1e9}}`, now, nil, nil)
	out, res, err := e.run(now, false)
	if err != nil {
		t.Fatal(err)
	}
	if out.Message != nil || len(res.Fired) != 0 || res.Guarded != 4 || res.Checked != 4 {
		t.Fatalf("guarded run: message %+v, result %+v", out.Message, res)
	}
	if s := e.states(); len(s) != 0 {
		t.Fatalf("guarded run stored state %v", s)
	}
}

func TestAlertPausesAndAudits(t *testing.T) {
	reg := platforms.NewRegistry(platforms.Settings{}, true)
	day, camp := alertSpikeDay(t, reg)
	now := alertNoon(day.AddDate(0, 0, 1))
	e := alertSetup(t, `{"level":"campaign","window":"yesterday","conditions":[{"metric":"spend","op":"change_pct>","value":50}],
		"cooldown_minutes":360,"action":"pause"}`, now, nil, nil)
	key := engine.AlertEntityKey(e.conn.ID, platforms.LevelCampaign, camp.ID)
	status := func() string {
		for _, c := range e.reg.Demo.Entities(e.ref, platforms.LevelCampaign) {
			if c.ID == camp.ID {
				return c.Status
			}
		}
		return ""
	}

	// A dry run (Preview) shows the notice but acts on nothing, stores nothing.
	out, res, err := e.run(now, true)
	if err != nil {
		t.Fatal(err)
	}
	if out.Message == nil || !strings.Contains(out.Message.Text, "Would be paused") || len(res.Paused) != 0 {
		t.Fatalf("dry run: message %+v, result %+v", out.Message, res)
	}
	if status() != "active" || len(e.states()) != 0 {
		t.Fatalf("dry run acted: status %s, states %v", status(), e.states())
	}

	out, res, err = e.run(now, false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Paused, []string{key}) || status() != "paused" {
		t.Fatalf("pause: result %+v, status %s", res, status())
	}
	if !strings.Contains(out.Message.TelegramHTML, "Paused") {
		t.Fatalf("message lacks the outcome: %s", out.Message.TelegramHTML)
	}
	data := alertCheckData(t, out.Message.Data)
	if f := data["fired"].([]any)[0].(map[string]any); f["paused"] != true || f["action"] != "pause" {
		t.Fatalf("fired = %v", f)
	}
	audit, n, err := e.store.ListAudit(context.Background(), e.tenantID, models.AuditFilter{Action: "alert.pause"})
	if err != nil || n != 1 {
		t.Fatalf("audit: %d rows (%v)", n, err)
	}
	if a := audit[0]; a.ActorLabel != "alert: Spend watch" || a.TargetType != "campaign" || a.TargetID != camp.ID ||
		!strings.Contains(a.After, `"ok": true`) && !strings.Contains(a.After, `"ok":true`) {
		t.Fatalf("audit row %+v", a)
	}
}

func TestAlertInvalidConnectionFailsRun(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	e := alertSetup(t, alertSpikeConfig, now, nil, nil)
	if _, err := e.db.Exec(`UPDATE ad_token SET is_valid = false, invalid_reason = 'token revoked', invalidated_at = now() WHERE id = $1`, e.conn.ID); err != nil {
		t.Fatal(err)
	}
	_, _, err := e.run(now, false)
	if err == nil || !strings.Contains(err.Error(), "needs to be reconnected") {
		t.Fatalf("err = %v, want a reconnect error", err)
	}
}

func TestAlertButtonsHook(t *testing.T) {
	reg := platforms.NewRegistry(platforms.Settings{}, true)
	day, _ := alertSpikeDay(t, reg)
	now := alertNoon(day.AddDate(0, 0, 1))
	// Every ad with spend fires: more than the 5 entities that get buttons.
	e := alertSetup(t, `{"level":"ad","window":"yesterday","conditions":[{"metric":"spend","op":">","value":0}]}`, now, nil, nil)
	var canPause []bool
	engine.AlertButtons = func(automationID, entityKey string, pause bool) [][]notify.Button {
		if automationID != e.autoID || !strings.HasPrefix(entityKey, e.conn.ID+":ad:") {
			t.Errorf("hook called with %q, %q", automationID, entityKey)
		}
		canPause = append(canPause, pause)
		return [][]notify.Button{{{Text: "Snooze 24h", CallbackData: "s"}, {Text: "Acknowledge", CallbackData: "a"}}}
	}
	t.Cleanup(func() { engine.AlertButtons = nil })
	out, res, err := e.run(now, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Fired) <= 5 || out.Message == nil || len(out.Message.Buttons) != 5 || len(canPause) != 5 || !canPause[0] {
		t.Fatalf("%d fired, buttons %v, canPause %v", len(res.Fired), out.Message, canPause)
	}
	alertCheckData(t, out.Message.Data)
}

// TestAlertFacebookEscapesAndReportsPauseFailure runs against the fake
// Graph API: an entity name needing escapes, and a pause the platform refuses.
func TestAlertFacebookEscapesAndReportsPauseFailure(t *testing.T) {
	fake := testutil.NewFakeFacebook(t)
	env := fake.Env()
	settings := &platforms.Settings{FacebookAppID: env["FB_APP_ID"], FacebookAppSecret: env["FB_APP_SECRET"],
		GraphURL: env["FB_GRAPH_URL"], DialogURL: env["FB_DIALOG_URL"], GraphVersion: env["FB_GRAPH_VERSION"], CallTimeout: 5 * time.Second,
		Retry: platforms.Retry{Attempts: 1}}
	now := time.Date(2025, 3, 20, 12, 0, 0, 0, time.UTC)
	row := func(date, spend string) map[string]any {
		return map[string]any{"account_id": "111", "account_name": "Main Ads", "account_currency": "USD", "date_start": date, "date_stop": date,
			"campaign_id": "999", "campaign_name": "<Sale & Co>", "spend": spend, "impressions": "1000", "clicks": "10"}
	}
	fake.SetInsightRows("111", []map[string]any{row("2025-03-18", "100"), row("2025-03-19", "300")})
	e := alertSetup(t, `{"level":"campaign","window":"yesterday","conditions":[{"metric":"spend","op":"change_pct>","value":50}],"action":"pause"}`,
		now, settings, &models.ConnectionInput{Platform: platforms.Facebook, Kind: platforms.KindAdAccount, AccountRef: "act_111",
			AccountName: "Main & Ads", AccessToken: fake.IssueToken(), Meta: map[string]any{"timezone_name": "America/New_York", "currency": "USD"}})
	out, res, err := e.run(now, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Fired) != 1 || len(res.Paused) != 0 || out.Message == nil {
		t.Fatalf("result %+v, message %v", res, out.Message)
	}
	m := out.Message
	if !strings.Contains(m.TelegramHTML, "<b>&lt;Sale &amp; Co&gt;</b> (Main &amp; Ads): Spend +200% (100.00 → 300.00 USD) &gt; +50%") ||
		!strings.Contains(m.TelegramHTML, "Pause failed: ") || strings.Contains(m.TelegramHTML, "<Sale") {
		t.Fatalf("telegram html:\n%s", m.TelegramHTML)
	}
	if strings.Contains(m.HTML, "<Sale") || !strings.Contains(m.Text, "<Sale & Co> (Main & Ads)") {
		t.Fatalf("html/text:\n%s\n%s", m.HTML, m.Text)
	}
	data := alertCheckData(t, m.Data)
	f := data["fired"].([]any)[0].(map[string]any)
	c := f["conditions"].([]any)[0].(map[string]any)
	if f["paused"] != false || f["entity_name"] != "<Sale & Co>" || c["actual"] != 200.0 || c["value"] != 50.0 || c["op"] != "change_pct>" {
		t.Fatalf("fired = %v", f)
	}
	audit, n, err := e.store.ListAudit(context.Background(), e.tenantID, models.AuditFilter{Action: "alert.pause"})
	if err != nil || n != 1 || !strings.Contains(strings.ReplaceAll(audit[0].After, " ", ""), `"ok":false`) ||
		!strings.Contains(audit[0].After, "error") {
		t.Fatalf("audit %+v (%v)", audit, err)
	}
}
