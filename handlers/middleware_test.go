package handlers_test

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"adpilot/handlers"
	"adpilot/static"
	"adpilot/testutil"
)

func TestSecurityHeaders(t *testing.T) {
	app := testutil.NewApp(t)
	resp := app.Get("/").ExpectStatus(http.StatusOK)
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "object-src 'none'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP allows inline or eval: %q", csp)
	}
	for header, want := range map[string]string{
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
		"Referrer-Policy":        "strict-origin-when-cross-origin",
	} {
		if got := resp.Header.Get(header); got != want {
			t.Errorf("%s = %q, want %q", header, got, want)
		}
	}
	if resp.Header.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id")
	}
	if resp.Header.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS sent over plain http")
	}
	// The page itself carries no inline script or style for the CSP to block.
	doc := resp.Doc()
	if n := doc.Find("script:not([src]), style, [style]").Length(); n != 0 {
		t.Errorf("%d inline script/style elements on the landing page", n)
	}
}

func TestStaticAssetsAreCachedByContentHash(t *testing.T) {
	app := testutil.NewApp(t)
	versioned := static.URL("vendor/htmx.min.js")
	resp := app.Get(versioned).ExpectStatus(http.StatusOK)
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Errorf("versioned asset Cache-Control = %q", cc)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, "javascript") {
		t.Errorf("Content-Type = %q", ct)
	}
	if !strings.Contains(resp.Body, "htmx") {
		t.Error("served htmx.min.js is not htmx")
	}
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	app.Get(versioned, "If-None-Match", etag).ExpectStatus(http.StatusNotModified)

	plain := strings.SplitN(versioned, "?", 2)[0]
	if cc := app.Get(plain).ExpectStatus(http.StatusOK).Header.Get("Cache-Control"); strings.Contains(cc, "immutable") {
		t.Errorf("unversioned asset cached as immutable: %q", cc)
	}
	app.Get("/static/vendor/nope.js").ExpectStatus(http.StatusNotFound)
	if c := resp.Header.Get("Set-Cookie"); c != "" {
		t.Errorf("a publicly cached asset sets a cookie: %q", c)
	}
	// Byte ranges come back uncompressed, so Content-Range matches the body.
	ranged := app.Get(versioned, "Range", "bytes=0-99", "Accept-Encoding", "gzip").ExpectStatus(http.StatusPartialContent)
	if ranged.Header.Get("Content-Encoding") != "" || len(ranged.Body) != 100 {
		t.Errorf("range response: Content-Encoding %q, %d bytes", ranged.Header.Get("Content-Encoding"), len(ranged.Body))
	}
}

func TestResponsesAreGzipped(t *testing.T) {
	app := testutil.NewApp(t)
	req, _ := http.NewRequest(http.MethodGet, app.URL+static.URL("css/app.css"), nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding = %q", resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(zr)
	if !strings.Contains(string(b), ".flash") {
		t.Fatal("gzipped body is not app.css")
	}
}

func TestFlashShowsOnceOnTheNextPage(t *testing.T) {
	app := testutil.NewApp(t, testutil.WithRoutes(func(e *echo.Echo, browser []echo.MiddlewareFunc) {
		e.POST("/test/flash", func(c echo.Context) error {
			if err := handlers.AddFlash(c, "success", "Report scheduled."); err != nil {
				return err
			}
			return c.Redirect(http.StatusSeeOther, "/")
		}, browser...)
	}))
	// A first GET gives the client its CSRF cookie and token.
	page := app.Get("/").ExpectStatus(http.StatusOK)
	token := csrfFromPage(t, page)
	app.PostForm("/test/flash", url.Values{"_csrf": {token}}).ExpectStatus(http.StatusSeeOther)

	first := app.Get("/").ExpectStatus(http.StatusOK)
	if got := first.Text("#notices .flash-success"); got != "Report scheduled." {
		t.Fatalf("flash = %q", got)
	}
	if got := app.Get("/").Text("#notices"); got != "" {
		t.Fatalf("flash shown twice: %q", got)
	}
}

func TestCSRF(t *testing.T) {
	app := testutil.NewApp(t, testutil.WithRoutes(func(e *echo.Echo, browser []echo.MiddlewareFunc) {
		e.POST("/test/form", func(c echo.Context) error { return c.String(http.StatusOK, "accepted") }, browser...)
	}))
	token := csrfFromPage(t, app.Get("/").ExpectStatus(http.StatusOK))

	app.PostForm("/test/form", url.Values{"_csrf": {token}}).ExpectStatus(http.StatusOK)
	app.PostForm("/test/form", url.Values{}, "X-CSRF-Token", token).ExpectStatus(http.StatusOK)
	app.PostForm("/test/form", url.Values{}).ExpectStatus(http.StatusBadRequest)
	app.PostForm("/test/form", url.Values{"_csrf": {"forged"}}).ExpectStatus(http.StatusForbidden)
	// A browser posting from another site is refused by Sec-Fetch-Site, token or not.
	app.PostForm("/test/form", url.Values{"_csrf": {token}}, "Sec-Fetch-Site", "cross-site").ExpectStatus(http.StatusForbidden)
	app.PostForm("/test/form", url.Values{}, "Sec-Fetch-Site", "same-origin").ExpectStatus(http.StatusOK)
}

// csrfFromPage reads the token the layout hands to htmx.
func csrfFromPage(t *testing.T, page *testutil.Response) string {
	t.Helper()
	raw, ok := page.Doc().Find("body").Attr("hx-headers")
	if !ok {
		t.Fatal("body has no hx-headers")
	}
	_, after, found := strings.Cut(raw, `"X-CSRF-Token":"`)
	token, _, _ := strings.Cut(after, `"`)
	if !found || token == "" {
		t.Fatalf("no CSRF token in hx-headers %q", raw)
	}
	return token
}

func TestHeadAndWrongMethods(t *testing.T) {
	app := testutil.NewApp(t)
	for _, path := range []string{"/", "/health", "/health/ready", static.URL("css/app.css")} {
		if resp := app.Do(http.MethodHead, path, nil).ExpectStatus(http.StatusOK); resp.Body != "" {
			t.Errorf("HEAD %s returned a body", path)
		}
	}
	// An unknown path or method is a 404 or 405, not a CSRF complaint.
	app.PostForm("/", url.Values{}).ExpectStatus(http.StatusMethodNotAllowed)
	app.PostForm("/no/such/form", url.Values{}).ExpectStatus(http.StatusNotFound)
}

func TestStaleSessionCookieStartsAFreshSession(t *testing.T) {
	app := testutil.NewApp(t, testutil.WithRoutes(func(e *echo.Echo, browser []echo.MiddlewareFunc) {
		e.POST("/test/flash", func(c echo.Context) error {
			if err := handlers.AddFlash(c, "info", "Saved."); err != nil {
				return err
			}
			return c.Redirect(http.StatusSeeOther, "/")
		}, browser...)
	}))
	// As after MASTER_SECRET_KEY changed: the cookie no longer decodes.
	stale := "adpilot_session=MTcwMDAwMDAwMHxnYXJiYWdlfA=="
	app.Get("/", "Cookie", stale).ExpectStatus(http.StatusOK)
	resp := app.PostForm("/test/flash", url.Values{}, "Cookie", stale, "Sec-Fetch-Site", "same-origin").ExpectStatus(http.StatusSeeOther)
	if !strings.Contains(resp.Header.Get("Set-Cookie"), "adpilot_session=") {
		t.Fatal("the stale cookie was not replaced")
	}
}

func TestRequestIDFromProxyIsKeptOnlyWhenPlain(t *testing.T) {
	app := testutil.NewApp(t)
	if got := app.Get("/health", "X-Request-Id", "lb-1234.abc").Header.Get("X-Request-Id"); got != "lb-1234.abc" {
		t.Errorf("a plain upstream request ID was replaced: %q", got)
	}
	got := app.Get("/no/page", "X-Request-Id", `forged"id<b>`).ExpectStatus(http.StatusNotFound)
	if id := got.Header.Get("X-Request-Id"); id == "" || strings.ContainsAny(id, `"<>`) {
		t.Errorf("X-Request-Id = %q", id)
	}
	if strings.Contains(got.Body, "forged") {
		t.Error("the forged request ID reached the page")
	}
}

func TestPartialAndFullPages(t *testing.T) {
	app := testutil.NewApp(t)
	full := app.Get("/").ExpectStatus(http.StatusOK)
	partial := app.Get("/", "HX-Request", "true").ExpectStatus(http.StatusOK)
	boosted := app.Get("/", "HX-Request", "true", "HX-Boosted", "true").ExpectStatus(http.StatusOK)
	for name, r := range map[string]*testutil.Response{"full": full, "partial": partial, "boosted": boosted} {
		if vary := strings.Join(r.Header.Values("Vary"), ", "); !strings.Contains(vary, "HX-Request") {
			t.Errorf("%s: Vary = %q, want HX-Request", name, vary)
		}
		if cc := r.Header.Get("Cache-Control"); !strings.Contains(cc, "private") {
			t.Errorf("%s: Cache-Control = %q", name, cc)
		}
	}
	if !strings.Contains(full.Body, "<html") || !strings.Contains(boosted.Body, "<html") {
		t.Error("full and boosted requests must get the whole page")
	}
	if strings.Contains(partial.Body, "<html") || !strings.Contains(partial.Body, "hero-title") {
		t.Errorf("an htmx request must get the content alone:\n%.300s", partial.Body)
	}
}

func TestClientIPComesOnlyFromTrustedProxies(t *testing.T) {
	echoIP := testutil.WithRoutes(func(e *echo.Echo, _ []echo.MiddlewareFunc) {
		e.GET("/test/ip", func(c echo.Context) error { return c.String(http.StatusOK, c.RealIP()) })
	})
	direct := testutil.NewApp(t, echoIP)
	if got := direct.Get("/test/ip", "X-Forwarded-For", "203.0.113.9").Body; got != "127.0.0.1" {
		t.Errorf("without TRUSTED_PROXIES the client IP is %q, want the peer 127.0.0.1", got)
	}
	proxied := testutil.NewApp(t, echoIP, testutil.WithEnv("TRUSTED_PROXIES", "127.0.0.0/8"))
	if got := proxied.Get("/test/ip", "X-Forwarded-For", "203.0.113.9").Body; got != "203.0.113.9" {
		t.Errorf("behind a trusted proxy the client IP is %q, want 203.0.113.9", got)
	}
}
