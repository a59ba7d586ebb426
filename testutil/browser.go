package testutil

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Browser is a headless Chromium tab that records console errors, uncaught
// exceptions and browser-reported problems (CSP violations, failed loads).
type Browser struct {
	t   testing.TB
	Ctx context.Context

	mu       sync.Mutex
	problems []string
}

// ChromiumPath finds Debian's Chromium (or CHROME_PATH).
func ChromiumPath() (string, error) {
	if p := os.Getenv("CHROME_PATH"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no Chromium found: run `make test` (it installs Debian's chromium), " +
		"or `apt-get install chromium`, or set CHROME_PATH")
}

// NewBrowser starts headless Chromium for this test and closes it afterwards.
func NewBrowser(t testing.TB) *Browser {
	t.Helper()
	path, err := ChromiumPath()
	if err != nil {
		t.Fatalf("browser tests need Chromium: %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox, // Chromium's sandbox cannot run as root, which CI does
		chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })

	b := &Browser{t: t, Ctx: ctx}
	// Console starts the browser and subscribes before any page loads, so no
	// message is lost.
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				b.mu.Lock()
				b.problems = append(b.problems, fmt.Sprintf("%s (%s:%d)", m.String(), m.URL, m.Line))
				b.mu.Unlock()
			}
		}
	}()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[int]("1")); err != nil {
		t.Fatalf("starting Chromium at %s: %v", path, err)
	}
	return b
}

// Run performs actions, failing the test on error.
func (b *Browser) Run(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.Ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v; console problems so far: %v", err, b.Problems())
	}
}

// Problems returns what the page reported as errors so far.
func (b *Browser) Problems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.problems...)
}

// Eval evaluates a JavaScript expression in the page; a promise is awaited.
func Eval[T any](b *Browser, expression string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.Ctx, chromedp.Evaluate[T](expression, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluating %q: %v", expression, err)
	}
	return v
}

// ExpectNoProblems fails the test if the page logged any error.
func (b *Browser) ExpectNoProblems() {
	b.t.Helper()
	// Messages arrive asynchronously: a round trip plus a moment lets the
	// ones already sent reach the collector.
	Eval[int](b, "1")
	time.Sleep(100 * time.Millisecond)
	if p := b.Problems(); len(p) > 0 {
		b.t.Fatalf("the page reported %d problem(s):\n  %s", len(p), strings.Join(p, "\n  "))
	}
}

// ClearProblems forgets what was reported so far, after a step that was
// meant to fail (a 4xx page makes Chromium log the status as an error).
func (b *Browser) ClearProblems() {
	b.t.Helper()
	Eval[int](b, "1")
	time.Sleep(100 * time.Millisecond)
	b.mu.Lock()
	b.problems = nil
	b.mu.Unlock()
}
