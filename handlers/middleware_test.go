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
	app.Get("/static/../main.go").ExpectStatus(http.StatusNotFound)
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
	app := testutil.NewApp(t, testutil.WithRoutes(func(e *echo.Echo) {
		e.POST("/test/flash", func(c echo.Context) error {
			if err := handlers.AddFlash(c, "success", "Report scheduled."); err != nil {
				return err
			}
			return c.Redirect(http.StatusSeeOther, "/")
		})
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
	app := testutil.NewApp(t, testutil.WithRoutes(func(e *echo.Echo) {
		e.POST("/test/form", func(c echo.Context) error { return c.String(http.StatusOK, "accepted") })
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
