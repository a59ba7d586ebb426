package jobs_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"

	"adpilot/app"
	"adpilot/config"
	"adpilot/models"
	"adpilot/platforms"
	"adpilot/testutil"
)

// The workload of issue 6's benchmark: 10,000 active automations due at
// once, against a platform answering in 20 ms and a local webhook sink.
const (
	benchAutomations     = 10000
	benchTenants         = 100 // 100 automations each, one ad account and one webhook per tenant
	benchPlatformLatency = 20 * time.Millisecond
	// benchWorkers is AUTOMATION_WORKERS. A run holds its worker for the
	// 20 ms platform call, its end (written with the other runs ending at
	// that moment, in one statement), its webhook's first attempt and that
	// attempt's record (batched the same way): ~45-55 ms in all, so 64
	// workers give ~1,200-1,400 runs/s, about what 2 cores sustain (the
	// whole run costs ~1.4 ms of CPU, test process and PostgreSQL
	// together). Measured over 10,000 runs on 2 cores: 64 and 128 workers
	// gave the same runs/s (1,212 and 1,203: CPU is the limit); 128 only
	// made claim-to-delivered p99 longer (225 ms against 165 ms).
	benchWorkers = 64
	// benchDBConns is DB_MAX_OPEN_CONNS: the production default. PostgreSQL
	// on 2 cores gains nothing from more concurrent statements, and the
	// scheduler's hot writes use few connections: one claim at a time, and
	// at most two batches of run ends and two of delivery attempts in
	// flight.
	benchDBConns = 20
	// benchTimeout bounds one batch inside go test's 10-minute limit (a
	// batch takes about a minute on 2 cores; a busy machine may triple that).
	benchTimeout = 7 * time.Minute
)

// Targets of the issue.
const (
	benchTargetRunsPerSec = 1000
	benchTargetP99        = 30 * time.Second
)

// BenchmarkAutomationBatch runs the real scheduler (app.New: gocron tick,
// worker pool, ClaimAndStartDueRuns, engine.ExecuteClaimed with the
// scheduled_report runner, the first delivery attempt from the run's worker
// with the delivery queue behind it, and the webhook sender) over 10,000 due
// automations, each a campaign-level "yesterday" report of one Facebook
// ad account read through the real Graph client from testutil.FakeFacebook
// behind 20 ms of latency, delivered to a webhook sink on 127.0.0.1.
//
// It reports runs per second (due runs / time from the first claim to the
// last delivery received), claim-to-delivered p50 and p99 (claim: the
// moment the scheduler inserted the run row; delivered: the moment the sink
// received it), and peak memory. It fails on any duplicate or missing
// delivery, counted by X-Adpilot-Delivery and by run.
//
// ADPILOT_BENCH_AUTOMATIONS, ADPILOT_BENCH_WORKERS and ADPILOT_BENCH_DB_CONNS
// override the batch size, AUTOMATION_WORKERS and DB_MAX_OPEN_CONNS (for
// exploring; README figures use the defaults).
func BenchmarkAutomationBatch(b *testing.B) {
	n := benchEnvInt(b, "ADPILOT_BENCH_AUTOMATIONS", benchAutomations)
	workers := benchEnvInt(b, "ADPILOT_BENCH_WORKERS", benchWorkers)
	conns := benchEnvInt(b, "ADPILOT_BENCH_DB_CONNS", benchDBConns)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		env := newBenchEnv(b, n, workers, conns)
		b.StartTimer()
		fig := env.run(b)
		b.StopTimer()
		env.settle(b)
		env.report(b, fig)
		b.StartTimer()
	}
}

type benchEnv struct {
	n, workers int
	dbConns    int
	store      *models.Store
	db         *sql.DB
	app        *app.App
	sink       *testutil.BenchSink
	logs       *benchLogs
}

func newBenchEnv(b *testing.B, n, workers, dbConns int) *benchEnv {
	b.Helper()
	ctx := context.Background()
	dbURL := testutil.NewMigratedDatabase(b)
	store, err := models.Open(ctx, dbURL, models.PoolConfig{MaxOpenConns: dbConns, MaxIdleConns: dbConns, ConnMaxLifetime: 30 * time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	db, err := sql.Open("postgres", dbURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	// The claim moment of each run, stamped by PostgreSQL as the scheduler
	// inserts the run row (already running: the claim starts it). The
	// column exists in this throwaway database only; the store never
	// names it.
	if _, err := db.Exec(`ALTER TABLE automation_run ADD COLUMN bench_claimed_at timestamptz NOT NULL DEFAULT clock_timestamp()`); err != nil {
		b.Fatal(err)
	}

	fb := testutil.NewFakeFacebook(b)
	graph := httptest.NewServer(testutil.WithLatency(fb.Server.Config.Handler, benchPlatformLatency))
	b.Cleanup(graph.Close)
	sink := testutil.NewBenchSink(b)

	vars := map[string]string{
		"ENV":                       "test", // plain-http webhooks to 127.0.0.1 (prod wants https)
		"DATABASE_URL":              dbURL,
		"BASE_URL":                  "http://adpilot.bench",
		"LOG_LEVEL":                 "info",
		"MASTER_SECRET_KEY":         "bench-master-key-0123456789abcdefghijklmnop",
		"OAUTH_STATE_SECRET":        "bench-oauth-state-0123456789abcdefghijklmno",
		"DEMO_PLATFORM":             "false",
		"WEBHOOK_ALLOW_PRIVATE":     "true",
		"AUTOMATION_WORKERS":        strconv.Itoa(workers),
		"AUTOMATION_CHECK_INTERVAL": "1s",
		"DB_MAX_OPEN_CONNS":         strconv.Itoa(dbConns),
	}
	for k, v := range fb.Env() {
		vars[k] = v
	}
	vars["FB_GRAPH_URL"] = graph.URL
	cfg, err := config.FromMap(vars, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	logs := &benchLogs{}
	a, err := app.New(cfg, store, app.NewLogger(cfg, logs), "bench")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = a.Close() })

	env := &benchEnv{n: n, workers: workers, dbConns: dbConns, store: store, db: db, app: a, sink: sink, logs: logs}
	env.seed(b, fb.IssueToken("ads_read"))
	return env
}

// seed creates the tenants, each with one Facebook ad account and one
// webhook destination through the store (tokens and secrets are
// encrypted), then the automations in bulk SQL, all due a minute ago.
func (e *benchEnv) seed(b *testing.B, token string) {
	b.Helper()
	ctx := context.Background()
	tenants := min(benchTenants, e.n)
	var tenantIDs []string
	if err := e.db.QueryRow(`WITH t AS (INSERT INTO tenant (name, slug)
		SELECT 'Bench ' || g, 'bench-' || lpad(g::text, 4, '0') FROM generate_series(1, $1) g RETURNING id, slug)
		SELECT array_agg(id ORDER BY slug) FROM t`, tenants).
		Scan(pq.Array(&tenantIDs)); err != nil {
		b.Fatal(err)
	}
	connIDs := make([]string, tenants)
	destIDs := make([]string, tenants)
	for i, tenant := range tenantIDs {
		actor := models.User{TenantID: tenant}
		conns, err := e.store.ConnectAccounts(ctx, actor, "", []models.ConnectionInput{{Platform: platforms.Facebook,
			Kind: platforms.KindAdAccount, AccountRef: "act_111", AccountName: "Main Ads", AccessToken: token,
			Meta: map[string]any{"currency": "USD", "timezone_name": "America/New_York", "account_status": 1}}})
		if err != nil {
			b.Fatal(err)
		}
		dest, err := e.store.CreateDestination(ctx, actor, models.DestinationInput{Name: "Sink", Type: models.DestinationWebhook,
			Config: models.WebhookConfig{URL: e.sink.URL + "/hook"}, Secrets: &models.WebhookSecrets{SigningSecret: "whsec_bench"}}, "")
		if err != nil {
			b.Fatal(err)
		}
		connIDs[i], destIDs[i] = conns[0].ID, dest.ID
	}
	// The cheapest real automation: one Graph insights call (campaign level,
	// yesterday, no comparison, no chart) and one webhook delivery.
	if _, err := e.db.Exec(`WITH t AS (SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[]) WITH ORDINALITY AS t(tenant_id, conn_id, dest_id, i)),
		a AS (INSERT INTO automation (tenant_id, destination_id, name, type, status, schedule_config, automation_config, next_run)
			SELECT t.tenant_id, t.dest_id, 'Daily spend ' || g, 'scheduled_report', 'active',
				'{"kind":"daily","time":"09:00","timezone":"account"}',
				'{"level":"campaign","period":"yesterday","metrics":["spend","impressions","clicks","conversions","cpa"],"compare":false,"top":0,"chart":false}',
				now() - interval '1 minute'
			FROM generate_series(1, $4) g JOIN t ON t.i = 1 + g % $5
			RETURNING tenant_id, id)
		INSERT INTO automation_connection (tenant_id, automation_id, connection_id)
			SELECT a.tenant_id, a.id, t.conn_id FROM a JOIN t USING (tenant_id)`,
		pq.Array(tenantIDs), pq.Array(connIDs), pq.Array(destIDs), e.n, tenants); err != nil {
		b.Fatal(err)
	}
	if _, err := e.db.Exec(`ANALYZE`); err != nil { // as autovacuum would after a bulk load
		b.Fatal(err)
	}
}

// benchFigures is what one batch measured.
type benchFigures struct {
	wall       time.Duration // scheduler start to last delivery
	span       time.Duration // first claim to last delivery
	runsPerSec float64
	p50, p90   time.Duration
	p99, max   time.Duration
	// From the scheduler's start (every automation already due) to the
	// sink: the whole batch's view, queueing for a worker included.
	startP50, startP99 time.Duration
	started            time.Time
	mem                testutil.MemoryFigures
	received           []testutil.BenchDelivery
	timedOut           bool
	db0, db1           benchDBStats // the database's counters before and after the batch
	cpu                benchCPU
}

// benchCPU is where the CPU went during the batch, in cores (CPU seconds
// per second of wall time); ok is false where /proc cannot tell.
type benchCPU struct {
	ok                     bool
	self, backends, others float64
}

// cpuSnapshot is the CPU time used so far by this process, by the
// PostgreSQL backends serving the bench database, and by the whole machine.
type cpuSnapshot struct {
	at       time.Time
	self     time.Duration
	backends map[int]time.Duration
	machine  time.Duration
	ok       bool
}

func (e *benchEnv) cpuNow(b *testing.B) cpuSnapshot {
	b.Helper()
	c := cpuSnapshot{at: time.Now(), backends: map[int]time.Duration{}}
	var okSelf, okMachine bool
	c.self, okSelf = testutil.ProcessCPU(os.Getpid())
	c.machine, okMachine = testutil.MachineCPU()
	rows, err := e.db.Query(`SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	okBackends := false
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			b.Fatal(err)
		}
		if t, ok := testutil.ProcessCPU(pid); ok {
			c.backends[pid], okBackends = t, true
		}
	}
	c.ok = okSelf && okMachine && okBackends
	return c
}

func cpuBetween(a, z cpuSnapshot) benchCPU {
	wall := z.at.Sub(a.at).Seconds()
	if !a.ok || !z.ok || wall <= 0 {
		return benchCPU{}
	}
	var backends time.Duration
	for pid, t := range z.backends {
		backends += t - a.backends[pid] // a backend opened during the batch started at 0
	}
	self := z.self - a.self
	others := (z.machine - a.machine) - self - backends
	return benchCPU{ok: true, self: self.Seconds() / wall, backends: backends.Seconds() / wall, others: max(others.Seconds(), 0) / wall}
}

// benchDBStats are PostgreSQL's cumulative counters of the bench database.
type benchDBStats struct {
	commits, scans, inserted, updated int64
}

func readDBStats(b *testing.B, db *sql.DB) benchDBStats {
	b.Helper()
	var s benchDBStats
	// Backends publish their counters when idle, at most once a second.
	if _, err := db.Exec(`SELECT pg_stat_clear_snapshot()`); err != nil {
		b.Fatal(err)
	}
	if err := db.QueryRow(`SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()),
			COALESCE(sum(seq_scan + COALESCE(idx_scan, 0)), 0), COALESCE(sum(n_tup_ins), 0), COALESCE(sum(n_tup_upd), 0)
		FROM pg_stat_user_tables`).Scan(&s.commits, &s.scans, &s.inserted, &s.updated); err != nil {
		b.Fatal(err)
	}
	return s
}

// run starts the scheduler and waits until the sink has every delivery.
func (e *benchEnv) run(b *testing.B) benchFigures {
	b.Helper()
	e.sink.Expect(e.n)
	var fig benchFigures
	time.Sleep(1100 * time.Millisecond) // the seeding's counters are published
	fig.db0 = readDBStats(b, e.db)
	cpu0 := e.cpuNow(b)
	mem := testutil.SampleMemory(50 * time.Millisecond)
	start := time.Now()
	fig.started = start
	e.app.StartJobs()
	progress := time.NewTicker(10 * time.Second)
	defer progress.Stop()
	deadline := time.After(benchTimeout)
wait:
	for {
		select {
		case <-e.sink.Complete():
			break wait
		case <-progress.C:
			b.Logf("%s: %d of %d delivered", time.Since(start).Round(time.Second), e.sink.Count(), e.n)
		case <-deadline:
			fig.timedOut = true
			break wait
		}
	}
	fig.wall = time.Since(start)
	fig.mem = mem.Stop()
	fig.cpu = cpuBetween(cpu0, e.cpuNow(b))
	return fig
}

// settle waits until no run or delivery is open any more, so a late
// duplicate would be seen.
func (e *benchEnv) settle(b *testing.B) {
	b.Helper()
	// Late duplicates would arrive while runs or deliveries are still open.
	settle := time.Now().Add(10 * time.Second)
	for time.Now().Before(settle) {
		var open int
		if err := e.db.QueryRow(`SELECT (SELECT count(*) FROM automation_run WHERE status IN ('queued', 'running'))
			+ (SELECT count(*) FROM delivery WHERE status = 'pending')`).Scan(&open); err != nil {
			b.Fatal(err)
		}
		if open == 0 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(1100 * time.Millisecond) // a request in flight lands; counters are published
}

// report computes the figures, prints and reports them, and fails on any
// duplicate or missing delivery, by X-Adpilot-Delivery id and by run.
func (e *benchEnv) report(b *testing.B, fig benchFigures) {
	b.Helper()
	fig.received = e.sink.Received()
	fig.db1 = readDBStats(b, e.db)
	type run struct {
		id, automation string
		claimed        time.Time
		status         string
	}
	runs := map[string]run{}
	rows, err := e.db.Query(`SELECT id, automation_id, bench_claimed_at, status FROM automation_run`)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var r run
		if err := rows.Scan(&r.id, &r.automation, &r.claimed, &r.status); err != nil {
			b.Fatal(err)
		}
		runs[r.id] = r
	}
	rows.Close()
	deliveryRun := map[string]string{} // delivery id -> run id
	rows, err = e.db.Query(`SELECT id, run_id FROM delivery`)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var id string
		var runID sql.NullString
		if err := rows.Scan(&id, &runID); err != nil {
			b.Fatal(err)
		}
		deliveryRun[id] = runID.String
	}
	rows.Close()

	var problems []string
	problem := func(format string, args ...any) {
		if len(problems) < 20 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	if fig.timedOut {
		problem("timed out after %s with %d of %d deliveries", benchTimeout, len(fig.received), e.n)
	}
	// Every slot ran once: one run per automation, all completed.
	perAutomation := map[string]int{}
	for _, r := range runs {
		perAutomation[r.automation]++
		if r.status != models.RunCompleted {
			problem("run %s of automation %s ended %s", r.id, r.automation, r.status)
		}
	}
	if len(perAutomation) != e.n || len(runs) != e.n {
		problem("%d runs of %d automations, want %d of %d", len(runs), len(perAutomation), e.n, e.n)
	}
	// By delivery id and by run: each exactly once.
	byDelivery := map[string]int{}
	byRun := map[string]int{}
	var latencies, fromStart []time.Duration
	var firstClaim, lastDelivered time.Time
	for _, d := range fig.received {
		byDelivery[d.DeliveryID]++
		if byDelivery[d.DeliveryID] == 2 {
			problem("delivery %s received twice", d.DeliveryID)
		}
		runID, ok := deliveryRun[d.DeliveryID]
		if !ok {
			problem("received delivery %q is not in the delivery table", d.DeliveryID)
			continue
		}
		r, ok := runs[runID]
		if !ok {
			problem("delivery %s belongs to no run", d.DeliveryID)
			continue
		}
		if r.automation != d.AutomationID {
			problem("delivery %s of run %s names automation %q, the run's is %s", d.DeliveryID, runID, d.AutomationID, r.automation)
		}
		byRun[runID]++
		if byRun[runID] == 2 {
			problem("run %s delivered twice", runID)
		}
		if byDelivery[d.DeliveryID] == 1 && byRun[runID] == 1 {
			latencies = append(latencies, d.Received.Sub(r.claimed))
			fromStart = append(fromStart, d.Received.Sub(fig.started))
		}
		if d.Received.After(lastDelivered) {
			lastDelivered = d.Received
		}
	}
	for id, r := range runs {
		if byRun[id] == 0 {
			problem("run %s (automation %s) was never delivered", id, r.automation)
		}
		if firstClaim.IsZero() || r.claimed.Before(firstClaim) {
			firstClaim = r.claimed
		}
	}
	if len(deliveryRun) != len(runs) {
		problem("%d delivery rows for %d runs, want one each", len(deliveryRun), len(runs))
	}

	slices.Sort(latencies)
	slices.Sort(fromStart)
	pct := func(l []time.Duration, p float64) time.Duration {
		if len(l) == 0 {
			return 0
		}
		return l[min(len(l)-1, int(p*float64(len(l))))]
	}
	fig.p50, fig.p90, fig.p99 = pct(latencies, 0.50), pct(latencies, 0.90), pct(latencies, 0.99)
	fig.startP50, fig.startP99 = pct(fromStart, 0.50), pct(fromStart, 0.99)
	if len(latencies) > 0 {
		fig.max = latencies[len(latencies)-1]
	}
	if !firstClaim.IsZero() && lastDelivered.After(firstClaim) {
		fig.span = lastDelivered.Sub(firstClaim)
		fig.runsPerSec = float64(len(byRun)) / fig.span.Seconds()
	}

	b.ReportMetric(fig.runsPerSec, "runs/s")
	b.ReportMetric(float64(fig.p50.Milliseconds()), "p50-ms")
	b.ReportMetric(float64(fig.p99.Milliseconds()), "p99-ms")
	b.ReportMetric(float64(fig.startP99.Milliseconds()), "due-p99-ms")
	b.ReportMetric(float64(fig.mem.HeapInuse)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(fig.mem.RuntimeSys)/(1<<20), "peak-sys-MB")
	b.ReportMetric(float64(fig.mem.MaxRSS)/(1<<20), "maxrss-MB")
	b.ReportMetric(float64(e.workers), "workers")

	cpuLine := "not measured (needs Linux /proc and PostgreSQL on this machine)"
	if c := fig.cpu; c.ok {
		cpuLine = fmt.Sprintf("this process %.2f, its PostgreSQL backends %.2f, everything else on the machine %.2f (of %d)",
			c.self, c.backends, c.others, runtime.NumCPU())
		if len(byRun) > 0 {
			// Per run, so batches measured on a busy machine compare.
			perRunMS := func(cores float64) float64 { return cores * fig.wall.Seconds() / float64(len(byRun)) * 1000 }
			cpuLine += fmt.Sprintf("\n  CPU per run:      %.2f ms in this process (fakes and sink included) + %.2f ms in PostgreSQL",
				perRunMS(c.self), perRunMS(c.backends))
		}
	}
	perRun := func(v int64) float64 { return float64(v) / float64(max(len(runs), 1)) }
	met := func(ok bool) string {
		if ok {
			return "met"
		}
		return "NOT met"
	}
	summary := fmt.Sprintf(`automation batch: %d due automations, %d tenants, AUTOMATION_WORKERS=%d, DB_MAX_OPEN_CONNS=%d, GOMAXPROCS=%d
  platform: FakeFacebook via the real Graph client, %s added latency per call; sink: webhook on 127.0.0.1
  delivered:        %d runs, %d deliveries (duplicates: %d)
  runs per second:  %.0f (first claim to last delivery: %s; scheduler start to last delivery: %s)   target >= %d: %s
  claim→delivered:  p50 %s   p90 %s   p99 %s   max %s   target p99 < %s: %s
  due→delivered:    p50 %s   p99 %s   (from the scheduler's start, all %d already due: waiting to be claimed included)   p99 < %s: %s
  peak memory:      heap in use %.0f MiB, runtime total %.0f MiB, process max RSS %.0f MiB (whole test binary), %d goroutines
  database per run: %.1f commits, %.1f table scans, %.1f rows inserted, %.1f rows updated
  CPU (cores):      %s
  errors logged:    %d`,
		e.n, min(benchTenants, e.n), e.workers, e.dbConns, runtime.GOMAXPROCS(0),
		benchPlatformLatency,
		len(byRun), len(fig.received), len(fig.received)-len(byDelivery),
		fig.runsPerSec, fig.span.Round(time.Millisecond), fig.wall.Round(time.Millisecond), benchTargetRunsPerSec, met(fig.runsPerSec >= benchTargetRunsPerSec),
		fig.p50.Round(time.Millisecond), fig.p90.Round(time.Millisecond), fig.p99.Round(time.Millisecond), fig.max.Round(time.Millisecond),
		benchTargetP99, met(fig.p99 > 0 && fig.p99 < benchTargetP99),
		fig.startP50.Round(time.Millisecond), fig.startP99.Round(time.Millisecond), e.n, benchTargetP99, met(fig.startP99 > 0 && fig.startP99 < benchTargetP99),
		float64(fig.mem.HeapInuse)/(1<<20), float64(fig.mem.RuntimeSys)/(1<<20), float64(fig.mem.MaxRSS)/(1<<20), fig.mem.Goroutines,
		perRun(fig.db1.commits-fig.db0.commits), perRun(fig.db1.scans-fig.db0.scans),
		perRun(fig.db1.inserted-fig.db0.inserted), perRun(fig.db1.updated-fig.db0.updated),
		cpuLine,
		e.logs.errors())
	fmt.Fprintln(os.Stdout, summary)
	if first := e.logs.first(); first != "" {
		fmt.Fprintln(os.Stdout, "  first problems logged:\n"+first)
	}
	if len(problems) > 0 {
		b.Fatalf("the batch was not delivered exactly once:\n  %s", strings.Join(problems, "\n  "))
	}
}

// benchLogs keeps the first warnings and errors the app logs and counts them.
type benchLogs struct {
	mu    sync.Mutex
	n     int
	lines []string
}

func (l *benchLogs) Write(p []byte) (int, error) {
	s := string(p)
	if strings.Contains(s, "level=WARN") || strings.Contains(s, "level=ERROR") {
		l.mu.Lock()
		l.n++
		if len(l.lines) < 5 {
			l.lines = append(l.lines, "    "+strings.TrimSpace(s))
		}
		l.mu.Unlock()
	}
	return len(p), nil
}

func (l *benchLogs) errors() int { l.mu.Lock(); defer l.mu.Unlock(); return l.n }
func (l *benchLogs) first() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func benchEnvInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}
