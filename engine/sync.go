package engine

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"adpilot/connections"
	"adpilot/models"
	"adpilot/notify"
	"adpilot/platforms"
	"adpilot/reports"
)

// SyncConfig is the data_sync automation config (a public contract).
type SyncConfig struct {
	Level        string   `json:"level"`         // account, campaign, adset or ad
	Metrics      []string `json:"metrics"`       // pushed metrics; empty: all of reports.Metrics
	LookbackDays int      `json:"lookback_days"` // 1–28 days synced again for late conversions
}

// Sync limits.
const (
	SyncMaxLookback = 28
	// SyncFirstDays is how many days (today included) a first sync pulls.
	SyncFirstDays = 30
	// SyncBatchSize is the most rows one message carries.
	SyncBatchSize = 500
	// EventSync is the event of a data sync's messages.
	EventSync = "data_sync"
)

// Validate returns field errors keyed by JSON field name, nil when valid.
func (c SyncConfig) Validate() map[string]string {
	errs := map[string]string{}
	if !platforms.Level(c.Level).Valid() {
		errs["level"] = "must be one of account, campaign, adset, ad"
	}
	seen := map[string]bool{}
	for _, m := range c.Metrics {
		if !reports.ValidMetric(m) {
			errs["metrics"] = fmt.Sprintf("unknown metric %q (valid: %s)", m, strings.Join(reports.Metrics, ", "))
			break
		}
		if seen[m] {
			errs["metrics"] = fmt.Sprintf("metric %q is listed twice", m)
			break
		}
		seen[m] = true
	}
	if c.LookbackDays < 1 || c.LookbackDays > SyncMaxLookback {
		errs["lookback_days"] = fmt.Sprintf("must be between 1 and %d", SyncMaxLookback)
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

func (c SyncConfig) metrics() []string {
	if len(c.Metrics) == 0 {
		return reports.Metrics
	}
	return c.Metrics
}

func parseSyncConfig(raw json.RawMessage) (SyncConfig, error) {
	var c SyncConfig
	if len(raw) == 0 {
		return c, errors.New("the data sync has no config")
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, fmt.Errorf("invalid data sync config: %w", err)
	}
	if errs := c.Validate(); errs != nil {
		return c, errors.New("invalid data sync config: " + rsJoinErrors(errs))
	}
	return c, nil
}

// NewSyncRunner returns the data_sync runner.
func NewSyncRunner(d Deps) Runner { return &syncRunner{d: d} }

type syncRunner struct{ d Deps }

type syncResult struct {
	Connections int    `json:"connections"`
	RowsFetched int    `json:"rows_fetched"`
	RowsChanged int    `json:"rows_changed"`
	Since       string `json:"since"`
	Until       string `json:"until"`
}

// Run pulls daily rows of every connection, upserts them as snapshots and
// pushes the ones that are new or changed for this automation.
//
// Each automation keeps its own cursor per connection and level (the
// snapshots are shared: two syncs of one connection must not hide rows
// from each other): the day it last synced up to, and a hash of every row
// it pushed. The range: until is today in the account's zone (partial, and
// synced again next time); since is the cursor's day minus the lookback,
// or, on a first sync, the last SyncFirstDays days (never further back).
// A row is pushed when its hash differs from the one this automation
// pushed, or when the fetch changed the stored snapshot. The cursor moves
// only when the run completes (the engine commits Output.Effects with the
// run's deliveries).
func (r *syncRunner) Run(ctx context.Context, job Job) (Output, error) {
	cfg, err := parseSyncConfig(job.Automation.AutomationConfig)
	if err != nil {
		return Output{}, err
	}
	if len(job.Connections) == 0 {
		return Output{}, errors.New("the data sync has no connections: choose at least one account")
	}
	if err := rsRequireValid(job); err != nil {
		return Output{}, err
	}
	tenantID := job.Automation.TenantID
	if tenantID == "" {
		tenantID = job.Tenant.ID
	}
	level := platforms.Level(cfg.Level)
	res := syncResult{}
	var changed []models.Snapshot
	var effects models.RunEffects
	var minSince, maxUntil time.Time
	for i, conn := range job.Connections {
		name := rsConnName(conn)
		if conn.Kind == platforms.KindCreator {
			job.Log.Warn(job.Now, name+": creator accounts have no daily insights to sync; skipped")
			continue
		}
		client, ok := r.d.Platforms.Client(conn.Platform)
		if !ok || client == nil {
			return Output{}, fmt.Errorf("%s: unknown platform %q", name, conn.Platform)
		}
		res.Connections++
		y, m, d := job.Now.In(job.Location(i)).Date()
		today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		earliest := today.AddDate(0, 0, 1-SyncFirstDays)
		cursor, err := r.d.Store.GetSyncCursor(ctx, tenantID, job.Automation.ID, conn.ID, cfg.Level, earliest)
		if err != nil {
			return Output{}, fmt.Errorf("reading the sync cursor: %w", err)
		}
		since := earliest
		if cursor.Day.IsZero() {
			job.Log.Info(job.Now, fmt.Sprintf("%s: first sync of this automation, pulling the last %d days", name, SyncFirstDays))
		} else if s := cursor.Day.AddDate(0, 0, -cfg.LookbackDays); s.After(earliest) {
			since = s
		}
		if minSince.IsZero() || since.Before(minSince) {
			minSince = since
		}
		if today.After(maxUntil) {
			maxUntil = today
		}
		rows, err := client.Insights(ctx, job.Cred(i), connections.InsightsQuery(conn, level, since, today))
		if err != nil {
			return Output{}, rsCallError(ctx, r.d, job, conn, "insights", err)
		}
		snaps := syncSnapshots(conn, level, rows)
		res.RowsFetched += len(snaps)
		var stored []models.Snapshot
		if job.DryRun {
			stored, err = r.wouldChange(ctx, tenantID, conn.ID, cfg.Level, since, today, snaps)
		} else {
			stored, err = r.d.Store.SaveSnapshots(ctx, tenantID, snaps)
		}
		if err != nil {
			return Output{}, fmt.Errorf("storing snapshots of %s: %w", name, err)
		}
		storeChanged := make(map[string]bool, len(stored))
		for _, s := range stored {
			storeChanged[models.SyncCursorKey(s.EntityID, s.Day)] = true
		}
		var ch []models.Snapshot
		var hashes []models.SyncRowHash
		for _, s := range snaps {
			key, h := models.SyncCursorKey(s.EntityID, s.Day), syncHash(s)
			if cursor.Hashes[key] != h || storeChanged[key] {
				ch = append(ch, s)
				hashes = append(hashes, models.SyncRowHash{EntityID: s.EntityID, Day: s.Day, Hash: h})
			}
		}
		if !job.DryRun {
			effects.SyncCursors = append(effects.SyncCursors, models.SyncCursorWrite{ConnectionID: conn.ID, Level: cfg.Level,
				Day: today, Rows: hashes, PruneBefore: earliest})
		}
		verb := "changed"
		if job.DryRun {
			verb = "would change (preview, nothing stored)"
		}
		job.Log.Info(job.Now, fmt.Sprintf("fetched %d %s rows for %s (%s..%s); %d new or %s",
			len(snaps), level, name, since.Format(time.DateOnly), today.Format(time.DateOnly), len(ch), verb))
		changed = append(changed, ch...)
	}
	res.RowsChanged = len(changed)
	if !minSince.IsZero() {
		res.Since, res.Until = minSince.Format(time.DateOnly), maxUntil.Format(time.DateOnly)
	}
	out := Output{Result: res, Effects: effects}
	if len(changed) == 0 {
		return out, nil
	}
	msgs := syncMessages(job, cfg, changed, res)
	out.Message = &msgs[0]
	out.Extra = msgs[1:]
	return out, nil
}

// syncHash is what identifies a pushed row's content.
func syncHash(s models.Snapshot) string {
	sum := sha256.Sum256([]byte(strings.Join([]string{s.EntityName, s.Currency, s.Spend.StringFixed(4),
		strconv.FormatInt(s.Impressions, 10), strconv.FormatInt(s.Clicks, 10), s.Conversions.StringFixed(4),
		s.Revenue.StringFixed(4)}, "\x00")))
	return hex.EncodeToString(sum[:16])
}

// syncSnapshots converts rows, ordered by day then entity (stable keys and
// batches).
func syncSnapshots(conn models.Connection, level platforms.Level, rows []platforms.InsightRow) []models.Snapshot {
	out := make([]models.Snapshot, 0, len(rows))
	for _, r := range rows {
		out = append(out, models.Snapshot{ConnectionID: conn.ID, Level: string(level), EntityID: r.EntityID,
			EntityName: r.EntityName, Day: r.Date.UTC().Truncate(24 * time.Hour), Currency: r.Currency, Spend: r.Spend,
			Impressions: r.Impressions, Clicks: r.Clicks, Conversions: r.Conversions, Revenue: r.Revenue})
	}
	slices.SortStableFunc(out, func(a, b models.Snapshot) int {
		if c := a.Day.Compare(b.Day); c != 0 {
			return c
		}
		return cmp.Compare(a.EntityID, b.EntityID)
	})
	return out
}

// wouldChange is SaveSnapshots' answer without writing: the rows that are
// new or differ from the stored ones (a Preview).
func (r *syncRunner) wouldChange(ctx context.Context, tenantID, connID, level string, since, until time.Time, rows []models.Snapshot) ([]models.Snapshot, error) {
	stored, err := r.d.Store.Snapshots(ctx, tenantID, connID, level, since, until)
	if err != nil {
		return nil, err
	}
	have := make(map[string]models.Snapshot, len(stored))
	for _, s := range stored {
		have[s.EntityID+"\x00"+s.Day.Format(time.DateOnly)] = s
	}
	var out []models.Snapshot
	for _, s := range rows {
		o, ok := have[s.EntityID+"\x00"+s.Day.Format(time.DateOnly)]
		if !ok || !o.Spend.Equal(s.Spend) || o.Impressions != s.Impressions || o.Clicks != s.Clicks ||
			!o.Conversions.Equal(s.Conversions) || !o.Revenue.Equal(s.Revenue) {
			out = append(out, s)
		}
	}
	return out, nil
}

// SyncRowKey is the stable key of a synced row:
// "<connection_id>:<level>:<entity_id>:<YYYY-MM-DD>".
func SyncRowKey(s models.Snapshot) string {
	return s.ConnectionID + ":" + s.Level + ":" + s.EntityID + ":" + s.Day.Format(time.DateOnly)
}

func syncTotals(s models.Snapshot) reports.Totals {
	return reports.Totals{Spend: s.Spend, Revenue: s.Revenue, Conversions: s.Conversions,
		Impressions: s.Impressions, Clicks: s.Clicks, Currency: s.Currency}
}

func syncDataRow(s models.Snapshot, metrics []string) map[string]any {
	row := map[string]any{"key": SyncRowKey(s), "connection_id": s.ConnectionID, "entity_id": s.EntityID,
		"entity_name": s.EntityName, "date": s.Day.Format(time.DateOnly), "currency": s.Currency}
	t := syncTotals(s)
	for _, m := range metrics {
		row[m] = rsNumber(t.Metric(m), t.Defined(m))
	}
	return row
}

type syncData struct {
	Automation rsAutomationRef  `json:"automation"`
	Level      string           `json:"level"`
	Batch      int              `json:"batch"`
	Batches    int              `json:"batches"`
	Rows       []map[string]any `json:"rows"`
}

// syncMessages shape the changed rows for the destination. A webhook gets
// JSON batches of at most SyncBatchSize rows, each row with its stable key
// and no attachment (receivers upsert by key). Email and Telegram get one
// message: the summary, with every changed row in one CSV attachment. With
// no destination (computed and stored only; a Preview), the webhook form.
func syncMessages(job Job, cfg SyncConfig, changed []models.Snapshot, res syncResult) []notify.Message {
	metrics := cfg.metrics()
	names := map[string]string{}
	for _, c := range job.Connections {
		names[c.ID] = rsConnName(c)
	}
	perConn := map[string]int{}
	var order []string
	for _, s := range changed {
		if perConn[s.ConnectionID] == 0 {
			order = append(order, s.ConnectionID)
		}
		perConn[s.ConnectionID]++
	}
	var summary strings.Builder
	fmt.Fprintf(&summary, "%d new or changed daily %s rows (%s to %s).\n", len(changed), cfg.Level, res.Since, res.Until)
	for _, id := range order {
		fmt.Fprintf(&summary, "%s: %d rows\n", names[id], perConn[id])
	}
	title := fmt.Sprintf("%s: %d rows synced", job.Automation.Name, len(changed))
	text := strings.TrimRight(summary.String(), "\n")
	ref := rsAutomationRef{job.Automation.ID, job.Automation.Name}
	if d := job.Destination; d != nil && (d.Type == models.DestinationEmail || d.Type == models.DestinationTelegram) {
		csvFile := notify.Attachment{Name: "sync-" + res.Until + ".csv", ContentType: "text/csv", Data: syncCSV(changed, metrics)}
		return []notify.Message{{Event: EventSync, Title: title, Text: text + "\nAll rows are in the attached CSV.",
			Files: []notify.Attachment{csvFile}}}
	}
	n := (len(changed) + SyncBatchSize - 1) / SyncBatchSize
	msgs := make([]notify.Message, 0, n)
	for k := range n {
		part := changed[k*SyncBatchSize : min((k+1)*SyncBatchSize, len(changed))]
		rows := make([]map[string]any, len(part))
		for i, s := range part {
			rows[i] = syncDataRow(s, metrics)
		}
		m := notify.Message{Event: EventSync, Title: title, Text: text,
			Data: syncData{Automation: ref, Level: cfg.Level, Batch: k + 1, Batches: n, Rows: rows}}
		if n > 1 {
			m.Title += fmt.Sprintf(" (batch %d of %d)", k+1, n)
			m.Text += fmt.Sprintf("\nBatch %d of %d: %d rows.", k+1, n, len(part))
		}
		msgs = append(msgs, m)
	}
	return msgs
}

// syncCSV is every changed row with a header.
func syncCSV(rows []models.Snapshot, metrics []string) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(append([]string{"key", "connection_id", "entity_id", "entity_name", "date", "currency"}, metrics...))
	for _, s := range rows {
		t := syncTotals(s)
		rec := []string{SyncRowKey(s), s.ConnectionID, s.EntityID, s.EntityName, s.Day.Format(time.DateOnly), s.Currency}
		for _, m := range metrics {
			v := ""
			if t.Defined(m) {
				v = t.Metric(m).String()
			}
			rec = append(rec, v)
		}
		_ = w.Write(rec)
	}
	w.Flush()
	return buf.Bytes()
}
