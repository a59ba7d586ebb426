package testutil

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/jonboulle/clockwork"
	"github.com/labstack/echo/v4"

	"adpilot/app"
	"adpilot/config"
	"adpilot/jobs"
	"adpilot/models"
)

// TestApp is the whole adpilot server running on httptest against its own
// fresh database, with a cookie-keeping client.
type TestApp struct {
	t      testing.TB
	URL    string
	Server *httptest.Server
	Client *http.Client
	Store  *models.Store
	Config *config.Config
	App    *app.App
	logs   *LogBuffer
	db     *sql.DB // opened on first QueryRow
}

// AppOption customises NewApp.
type AppOption func(*appOptions)

type appOptions struct {
	jobs   []jobs.Option
	start  bool
	vars   map[string]string
	routes []func(e *echo.Echo, browser []echo.MiddlewareFunc)
}

// WithEnv sets configuration variables, as the environment would.
func WithEnv(kv ...string) AppOption {
	return func(o *appOptions) {
		for i := 0; i+1 < len(kv); i += 2 {
			o.vars[kv[i]] = kv[i+1]
		}
	}
}

// WithJobs runs the background jobs on clock, which the test moves by hand.
func WithJobs(clock clockwork.Clock) AppOption {
	return func(o *appOptions) {
		o.jobs = append(o.jobs, jobs.WithClock(clock))
		o.start = true
	}
}

// WithRoutes mounts extra routes, for tests that need a handler of their own
// (a panic, a slow request, a flash). Pass browser to a route to give it the
// session and CSRF middleware that pages get.
func WithRoutes(mount func(e *echo.Echo, browser []echo.MiddlewareFunc)) AppOption {
	return func(o *appOptions) { o.routes = append(o.routes, mount) }
}

// NewApp starts the server on a fresh migrated database. Everything stops
// when the test ends.
func NewApp(t testing.TB, opts ...AppOption) *TestApp {
	t.Helper()
	o := &appOptions{vars: map[string]string{}}
	for _, opt := range opts {
		opt(o)
	}
	store, dbURL := NewStore(t)

	srv := httptest.NewUnstartedServer(nil)
	baseURL := "http://" + srv.Listener.Addr().String()
	vars := map[string]string{
		"ENV":                "test",
		"DATABASE_URL":       dbURL,
		"BASE_URL":           baseURL,
		"LOG_LEVEL":          "debug",
		"MASTER_SECRET_KEY":  "test-master-key-0123456789abcdefghijklmnop",
		"OAUTH_STATE_SECRET": "test-oauth-state-0123456789abcdefghijklmno",
	}
	for k, v := range o.vars {
		vars[k] = v
	}
	logs := &LogBuffer{}
	cfg, err := config.FromMap(vars, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatalf("test configuration: %v", err)
	}
	logger := app.NewLogger(cfg, logs)
	a, err := app.New(cfg, store, logger, "test", o.jobs...)
	if err != nil {
		t.Fatalf("building app: %v", err)
	}
	t.Cleanup(func() { _ = a.Close() })
	if o.start {
		a.StartJobs()
	}
	for _, mount := range o.routes {
		mount(a.Echo(), a.Browser())
	}
	srv.Config.Handler = a.Handler()
	srv.Start()
	t.Cleanup(srv.Close)

	jar, _ := cookiejar.New(nil)
	client := &http.Client{
		Jar: jar,
		// Tests look at redirects themselves.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &TestApp{t: t, URL: baseURL, Server: srv, Client: client, Store: store, Config: cfg, App: a, logs: logs}
}

// Logs returns everything the server logged so far.
func (a *TestApp) Logs() string { return a.logs.String() }

// Get requests path with optional headers given as name, value pairs.
func (a *TestApp) Get(path string, headers ...string) *Response {
	a.t.Helper()
	return a.Do(http.MethodGet, path, nil, headers...)
}

// PostForm posts url-encoded form values.
func (a *TestApp) PostForm(path string, form url.Values, headers ...string) *Response {
	a.t.Helper()
	headers = append(headers, "Content-Type", "application/x-www-form-urlencoded")
	return a.Do(http.MethodPost, path, strings.NewReader(form.Encode()), headers...)
}

// Do sends a request and reads the whole response.
func (a *TestApp) Do(method, path string, body io.Reader, headers ...string) *Response {
	a.t.Helper()
	req, err := http.NewRequest(method, a.URL+path, body)
	if err != nil {
		a.t.Fatalf("building request: %v", err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := a.Client.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return &Response{t: a.t, Response: resp, Body: string(b)}
}

// Response is a fully read HTTP response with HTML helpers.
type Response struct {
	*http.Response
	t    testing.TB
	Body string
	doc  *goquery.Document
}

// Doc parses the body as HTML.
func (r *Response) Doc() *goquery.Document {
	r.t.Helper()
	if r.doc == nil {
		doc, err := goquery.NewDocumentFromReader(strings.NewReader(r.Body))
		if err != nil {
			r.t.Fatalf("parsing HTML: %v", err)
		}
		r.doc = doc
	}
	return r.doc
}

// Text returns the trimmed text of the elements matching selector.
func (r *Response) Text(selector string) string {
	r.t.Helper()
	return strings.TrimSpace(r.Doc().Find(selector).Text())
}

// ExpectStatus fails the test unless the status is want.
func (r *Response) ExpectStatus(want int) *Response {
	r.t.Helper()
	if r.StatusCode != want {
		r.t.Fatalf("%s %s: status %d, want %d; body:\n%.2000s", r.Request.Method, r.Request.URL.Path, r.StatusCode, want, r.Body)
	}
	return r
}

// LogBuffer is a goroutine-safe sink for logs and process output.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// QueryRow runs SQL against the app's database directly, for test set-up
// and for checks the HTTP surface does not show.
func QueryRow(t testing.TB, a *TestApp, ctx context.Context, query string, args ...any) *sql.Row {
	t.Helper()
	if a.db == nil {
		db, err := sql.Open("postgres", a.Config.DatabaseURL)
		if err != nil {
			t.Fatalf("opening the app's database: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		a.db = db
	}
	return a.db.QueryRowContext(ctx, query, args...)
}

// With returns the same app reporting failures to t: inside a fuzz target
// or a subtest, requests must fail that test, not the parent.
func (a *TestApp) With(t testing.TB) *TestApp {
	c := *a
	c.t = t
	return &c
}
