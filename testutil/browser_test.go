package testutil_test

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/labstack/echo/v4"

	"adpilot/testutil"
)

func TestMain(m *testing.M) { os.Exit(testutil.Main(m)) }

// The browser harness must report what a broken page does, or the
// "no console errors" checks elsewhere prove nothing.
func TestBrowserReportsPageProblems(t *testing.T) {
	app := testutil.NewApp(t, testutil.WithRoutes(func(e *echo.Echo, _ []echo.MiddlewareFunc) {
		e.GET("/test/broken", func(c echo.Context) error {
			return c.HTML(http.StatusOK, `<!DOCTYPE html><html lang="en"><head><title>broken</title>
<script src="/test/broken.js"></script></head><body><h1>broken</h1>
<script>document.title = "inline ran"</script><img src="/static/missing.png" alt=""></body></html>`)
		})
		e.GET("/test/broken.js", func(c echo.Context) error {
			return c.Blob(http.StatusOK, "text/javascript", []byte(`console.error("logged-failure"); throw new Error("thrown-failure");`))
		})
	}))
	b := testutil.NewBrowser(t)
	b.Run(chromedp.Navigate(app.URL+"/test/broken"), chromedp.WaitVisible(chromedp.CSS("h1")))
	testutil.Eval[int](b, "1")

	want := map[string]string{
		"console.error":  "logged-failure",
		"exception":      "thrown-failure",
		"CSP violation":  "Content Security Policy",
		"failed request": "404",
	}
	deadline := 50
	for name, text := range want {
		found := false
		for range deadline { // messages arrive asynchronously
			if strings.Contains(strings.Join(b.Problems(), "\n"), text) {
				found = true
				break
			}
			testutil.Eval[int](b, "1")
		}
		if !found {
			t.Errorf("%s (%q) not reported; got:\n%s", name, text, strings.Join(b.Problems(), "\n"))
		}
	}
	if title := testutil.Eval[string](b, "document.title"); title == "inline ran" {
		t.Error("the CSP let an inline script run")
	}
}
