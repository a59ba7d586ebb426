package handlers_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"adpilot/testutil"
)

// Issue 7's benchmark: signed Facebook leadgen deliveries against the
// running server, next to PostgreSQL's own single-row insert rate.
const (
	// benchIngestClients is the closed loop's concurrency, for the server
	// and for the insert loop alike. The app's pool holds benchPoolOpen
	// connections, so at least that many requests must be in flight to
	// keep every connection busy; a request also spends part of its time
	// outside the database (HTTP, HMAC, JSON), so 32 (~3× the pool) keeps
	// the pool saturated while the rest queue briefly for a connection. On
	// 2 cores, 16, 32 and 64 clients gave the same ratio within noise
	// (0.55, 0.58-0.60, 0.56: the CPU shared by PostgreSQL, server and
	// generator is the limit); more only lengthens the queue.
	// ADPILOT_BENCH_CLIENTS overrides it, ADPILOT_BENCH_RATE the open
	// loop's rate (for exploring; README figures use the defaults).
	benchIngestClients = 32
	// benchPoolOpen and benchPoolIdle are the pool of the server under
	// test: testutil.NewApp opens its store with testutil.OpenStore, 10
	// open and 10 idle connections (production's DB_MAX_OPEN_CONNS and
	// DB_MAX_IDLE_CONNS defaults are 20). The insert loop gets the same pool; the benchmark checks in
	// pg_stat_activity that the server never held more.
	benchPoolOpen = 10
	benchPoolIdle = 10

	benchRounds      = 3               // closed-loop rounds, ingest and insert alternating
	benchRound       = 3 * time.Second // per round and side
	benchWarmup      = time.Second     // per side, before measuring
	benchOpenRate    = 1000            // requests per second, open loop
	benchOpenRunTime = 10 * time.Second

	// The targets.
	benchTargetRatio = 0.35
	benchTargetP99   = 50 * time.Millisecond

	benchAppSecret = "fb-app-secret-for-the-ingest-benchmark"
)

// BenchmarkFacebookWebhookIngest measures POST /api/webhooks/facebook on
// the whole server (testutil.NewApp: middleware, signature check, parsing,
// one INSERT … ON CONFLICT DO NOTHING per delivery before the 200) on a
// real PostgreSQL, driven over HTTP from this process. Every delivery is a
// new lead: one entry, one leadgen change, a unique leadgen_id.
//
//   - events/s: accepted deliveries per second, closed loop with
//     benchIngestClients clients;
//   - insert/s: single-row INSERT … ON CONFLICT DO NOTHING statements per
//     second into a copy of webhook_event (LIKE … INCLUDING ALL: same
//     columns, defaults, checks and indexes), each its own transaction,
//     from the same number of goroutines over a pool of the server's size;
//     ingest and insert run in alternating rounds, so a neighbour's load on
//     the shared server falls on both;
//   - ratio: events/s ÷ insert/s (target ≥ 0.35);
//   - p50/p99 at 1,000 req/s: open loop for 10 s, latency from each
//     request's scheduled send time (target p99 < 50 ms).
//
// It fails when any request got anything but a 200 saying one new event,
// or when the stored events are not exactly the accepted deliveries.
// Targets missed are reported, not failed (the machine is shared).
// Run alone: go test -run '^$' -bench FacebookWebhookIngest ./handlers/
func BenchmarkFacebookWebhookIngest(b *testing.B) {
	clients := benchIngestClients
	if v := os.Getenv("ADPILOT_BENCH_CLIENTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("ADPILOT_BENCH_CLIENTS=%q: want a positive number", v)
		}
		clients = n
	}
	rate := benchOpenRate
	if v := os.Getenv("ADPILOT_BENCH_RATE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("ADPILOT_BENCH_RATE=%q: want a positive number", v)
		}
		rate = n
	}
	for i := 0; i < b.N; i++ { // one full run per iteration; b.N is 1 (a run takes ~30 s)
		runIngestBenchmark(b, clients, rate)
	}
}

func runIngestBenchmark(b *testing.B, clients, rate int) {
	b.StopTimer()
	ctx := b.Context()
	app := testutil.NewApp(b, testutil.WithEnv("FB_APP_ID", "1234567890", "FB_APP_SECRET", benchAppSecret, "LOG_LEVEL", "warn"))
	gen := newLeadgenGenerator(app.URL, clients)
	pg := newInsertBaseline(b, app.Config.DatabaseURL)
	mon := openBenchDB(b, app.Config.DatabaseURL, "adpilot-bench-monitor", 1, 1)
	b.StartTimer()
	wallStart := time.Now()

	// Warm both sides up (connections, caches, the server's pools).
	mustClean(b, "warm-up ingest", testutil.ClosedLoop(ctx, clients, benchWarmup, gen.post))
	mustClean(b, "warm-up insert", testutil.ClosedLoop(ctx, clients, benchWarmup, pg.insert))

	// (a) Max accepted events/s vs the insert rate, closed loop, alternating.
	var ingest, insert testutil.ClosedLoopResult
	peak := &poolPeak{}
	for r := range benchRounds {
		sides := []func(){
			func() {
				stop := peak.sample(ctx, mon)
				ingest = ingest.Add(mustClean(b, "ingest", testutil.ClosedLoop(ctx, clients, benchRound, gen.post)))
				stop()
			},
			func() {
				insert = insert.Add(mustClean(b, "insert", testutil.ClosedLoop(ctx, clients, benchRound, pg.insert)))
			},
		}
		if r%2 == 1 {
			sides[0], sides[1] = sides[1], sides[0]
		}
		sides[0]()
		sides[1]()
	}

	// (b) Latency at a constant 1,000 req/s, open loop.
	sessionsBefore := dbSessions(b, mon)
	open := testutil.OpenLoop(ctx, rate, benchOpenRunTime, gen.post)
	newConns := dbSessions(b, mon) - sessionsBefore
	wall := time.Since(wallStart)
	b.StopTimer()

	// Every request got a 200 saying one new event …
	if open.Failed > 0 {
		b.Fatalf("open loop: %d of %d requests failed, first: %v", open.Failed, open.Sent, open.FirstErr)
	}
	// … and the stored events are exactly the accepted deliveries, once each.
	var rows, distinct, leads int64
	if err := mon.QueryRowContext(ctx, `SELECT count(*), count(DISTINCT dedupe_key),
			count(*) FILTER (WHERE event_type = 'facebook.leadgen' AND dedupe_key LIKE 'leadgen:%' AND status = 'received')
		FROM webhook_event`).Scan(&rows, &distinct, &leads); err != nil {
		b.Fatal(err)
	}
	accepted := gen.accepted.Load()
	if accepted != gen.sent.Load() || rows != accepted || distinct != rows || leads != rows {
		b.Fatalf("not stored exactly once: %d posted, %d accepted, %d rows, %d distinct dedupe keys, %d received leadgen events",
			gen.sent.Load(), accepted, rows, distinct, leads)
	}
	if peak.max() > benchPoolOpen {
		b.Fatalf("the server held %d database connections, more than the %d the insert loop was given: the comparison is unfair",
			peak.max(), benchPoolOpen)
	}

	eventsPerSec, insertsPerSec := ingest.PerSecond(), insert.PerSecond()
	ratio := eventsPerSec / insertsPerSec
	p50, p99, pMax := open.Latencies.Percentile(50), open.Latencies.Percentile(99), open.Latencies.Percentile(100)
	b.ReportMetric(0, "ns/op") // one run of fixed length: ns/op means nothing
	b.ReportMetric(eventsPerSec, "events/s")
	b.ReportMetric(insertsPerSec, "insert/s")
	b.ReportMetric(ratio, "ratio")
	b.ReportMetric(ms(p50), "p50_ms")
	b.ReportMetric(ms(p99), "p99_ms")
	b.ReportMetric(float64(clients), "clients")
	b.ReportMetric(float64(benchPoolOpen), "pool")
	met := func(ok bool) string {
		if ok {
			return "met"
		}
		return "MISSED"
	}
	b.Logf("webhook ingest: %.0f events/s vs PostgreSQL %.0f single-row inserts/s = %.2f (target ≥ %.2f: %s); "+
		"%d req/s open loop for %s: p50 %.1f ms, p99 %.1f ms, max %.1f ms (target p99 < %s: %s); "+
		"%d clients, pool %d (server peak %d, %d active; %d connections opened during the open loop), %d events stored once each, wall %s",
		eventsPerSec, insertsPerSec, ratio, benchTargetRatio, met(ratio >= benchTargetRatio),
		rate, benchOpenRunTime, ms(p50), ms(p99), ms(pMax), benchTargetP99, met(p99 < benchTargetP99),
		clients, benchPoolOpen, peak.max(), peak.maxActive(), newConns, rows, wall.Round(100*time.Millisecond))
	if open.MaxLag > 10*time.Millisecond {
		b.Logf("note: the generator started a request up to %s late (counted in the latencies)", open.MaxLag.Round(time.Millisecond))
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// mustClean fails the benchmark when any call of a closed loop failed.
func mustClean(b *testing.B, what string, r testutil.ClosedLoopResult) testutil.ClosedLoopResult {
	b.Helper()
	if r.Failed > 0 {
		b.Fatalf("%s: %d of %d calls failed, first: %v", what, r.Failed, r.OK+r.Failed, r.FirstErr)
	}
	return r
}

// leadgenGenerator posts signed Facebook leadgen deliveries, each a new lead.
type leadgenGenerator struct {
	url      string
	client   *http.Client
	nextLead atomic.Int64
	sent     atomic.Int64
	accepted atomic.Int64 // answered 200 with one new event
	bufs     sync.Pool
}

func newLeadgenGenerator(baseURL string, clients int) *leadgenGenerator {
	g := &leadgenGenerator{url: baseURL + "/api/webhooks/facebook", client: testutil.NewLoadClient(max(clients, 256))}
	g.nextLead.Store(1_200_000_000_000_000) // Facebook lead ids are 16-digit numbers
	g.bufs.New = func() any { return new([]byte) }
	return g
}

// body is a delivery as Facebook sends it for one new lead: object page,
// one entry for the Page, one leadgen change.
func leadgenBody(buf []byte, lead int64, now int64) []byte {
	page := 104_000_000_000_000 + lead%8 // a few Pages, forms and ads
	return fmt.Appendf(buf[:0], `{"object":"page","entry":[{"id":"%d","time":%d,"changes":[{"field":"leadgen","value":`+
		`{"ad_id":"%d","form_id":"%d","leadgen_id":"%d","created_time":%d,"page_id":"%d"}}]}]}`,
		page, now, 238_000_000_000_000+lead%32, 918_000_000_000_000+lead%16, lead, now, page)
}

func (g *leadgenGenerator) post(ctx context.Context) error {
	bp := g.bufs.Get().(*[]byte)
	defer g.bufs.Put(bp)
	*bp = leadgenBody(*bp, g.nextLead.Add(1), time.Now().Unix())
	mac := hmac.New(sha256.New, []byte(benchAppSecret))
	mac.Write(*bp)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.url, bytes.NewReader(*bp))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	g.sent.Add(1)
	resp, err := g.client.Do(req)
	if err != nil {
		return err
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	switch {
	case err != nil:
		return err
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("status %d: %.300s", resp.StatusCode, answer)
	case !bytes.Contains(answer, []byte(`"new":1`)):
		return fmt.Errorf("answer %.300s, want one new event", answer)
	}
	g.accepted.Add(1)
	return nil
}

// insertBaseline is PostgreSQL's own rate for what the webhook path does:
// one single-row INSERT … ON CONFLICT DO NOTHING per event, autocommitted,
// into a table shaped like webhook_event, through lib/pq with the server's
// pool size.
type insertBaseline struct {
	db   *sql.DB
	next atomic.Int64
}

func newInsertBaseline(b *testing.B, dbURL string) *insertBaseline {
	db := openBenchDB(b, dbURL, "adpilot-bench-insert", benchPoolOpen, benchPoolIdle)
	if _, err := db.ExecContext(b.Context(), `CREATE TABLE bench_pg_insert (LIKE webhook_event INCLUDING ALL)`); err != nil {
		b.Fatal(err)
	}
	return &insertBaseline{db: db}
}

func (p *insertBaseline) insert(ctx context.Context) error {
	lead := 1_200_000_000_000_000 + p.next.Add(1)
	now := time.Now()
	page := 104_000_000_000_000 + lead%8
	payload := fmt.Sprintf(`{"ad_id":"%d","form_id":"%d","leadgen_id":"%d","created_time":%d,"page_id":"%d"}`,
		238_000_000_000_000+lead%32, 918_000_000_000_000+lead%16, lead, now.Unix(), page)
	res, err := p.db.ExecContext(ctx, `INSERT INTO bench_pg_insert (platform, event_type, dedupe_key, object_id, payload, occurred_at)
		VALUES ('facebook', 'facebook.leadgen', $1, $2, $3::jsonb, $4)
		ON CONFLICT (platform, dedupe_key) DO NOTHING`, "leadgen:"+strconv.FormatInt(lead, 10), strconv.FormatInt(page, 10), payload, now)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("inserted %d rows (%v), want 1", n, err)
	}
	return nil
}

// openBenchDB opens a pool on the app's database named in pg_stat_activity
// as app, so it can be told apart from the server's connections.
func openBenchDB(b *testing.B, dbURL, app string, open, idle int) *sql.DB {
	u, err := url.Parse(dbURL)
	if err != nil {
		b.Fatal(err)
	}
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	db, err := sql.Open("postgres", u.String())
	if err != nil {
		b.Fatal(err)
	}
	db.SetMaxOpenConns(open)
	db.SetMaxIdleConns(idle)
	db.SetConnMaxLifetime(time.Minute) // as testutil.OpenStore
	b.Cleanup(func() { db.Close() })
	if err := db.PingContext(b.Context()); err != nil {
		b.Fatal(err)
	}
	return db
}

// dbSessions is how many connections were ever opened to the database.
func dbSessions(b *testing.B, mon *sql.DB) int64 {
	var n int64
	if err := mon.QueryRowContext(b.Context(), `SELECT sessions FROM pg_stat_database WHERE datname = current_database()`).Scan(&n); err != nil {
		b.Fatal(err)
	}
	return n
}

// poolPeak samples how many connections the server holds on its database
// (those without an application name: lib/pq sets none).
type poolPeak struct {
	mu            sync.Mutex
	conns, active int
}

func (p *poolPeak) sample(ctx context.Context, mon *sql.DB) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			var conns, active int
			if err := mon.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE state = 'active')
				FROM pg_stat_activity WHERE datname = current_database() AND application_name = ''`).Scan(&conns, &active); err == nil {
				p.mu.Lock()
				p.conns, p.active = max(p.conns, conns), max(p.active, active)
				p.mu.Unlock()
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() { cancel(); <-done }
}

func (p *poolPeak) max() int       { p.mu.Lock(); defer p.mu.Unlock(); return p.conns }
func (p *poolPeak) maxActive() int { p.mu.Lock(); defer p.mu.Unlock(); return p.active }
