package main

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"adpilot/migrations"
	"adpilot/testutil"
)

// helperEnv makes the test binary act as `adpilot serve` with one extra, slow
// route: the shutdown test runs it as a real process and signals it.
const helperEnv = "ADPILOT_SERVE_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		os.Exit(run([]string{"serve"}, os.Stdout, os.Stderr, mountSlowRoute))
	}
	os.Exit(testutil.Main(m))
}

// mountSlowRoute adds /test/slow: it sends its headers at once, then the body
// after two seconds, so the test knows the request is in flight.
func mountSlowRoute(e *echo.Echo) {
	e.GET("/test/slow", func(c echo.Context) error {
		c.Response().WriteHeader(http.StatusOK)
		c.Response().Flush()
		time.Sleep(2 * time.Second)
		_, err := io.WriteString(c.Response(), "finished")
		return err
	})
}

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut, nil)
	return code, out.String(), errOut.String()
}

func TestCommandLine(t *testing.T) {
	cases := []struct {
		args       []string
		code       int
		wantStdout string
		wantStderr string
	}{
		{[]string{"bogus"}, 2, "", `unknown command or flag "bogus"`},
		{[]string{"--port=80"}, 2, "", `unknown command or flag "--port=80"`},
		{[]string{"serve", "--verbose"}, 2, "", "unexpected arguments"},
		{[]string{"keygen", "extra"}, 2, "", "unexpected arguments"},
		{[]string{"migrate"}, 2, "", "expected one of up, down, status"},
		{[]string{"migrate", "sideways"}, 2, "", `unknown direction "sideways"`},
		{[]string{"keys"}, 2, "", "expected rotate"},
		{[]string{"keys", "spin"}, 2, "", "expected rotate"},
		{[]string{"help"}, 0, "Usage:", ""},
		{[]string{"--help"}, 0, "Usage:", ""},
		{[]string{"serve", "-h"}, 0, "Usage:", ""},
		{[]string{"migrate", "--help"}, 0, "Usage:", ""},
		{[]string{"version"}, 0, "dev", ""},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit code %d, want %d; stderr: %s", code, tc.code, stderr)
			}
			if !strings.Contains(stdout, tc.wantStdout) || !strings.Contains(stderr, tc.wantStderr) {
				t.Fatalf("stdout %q (want %q), stderr %q (want %q)", stdout, tc.wantStdout, stderr, tc.wantStderr)
			}
			if tc.code == 2 && !strings.Contains(stderr, "Usage:") {
				t.Fatalf("usage error without the usage text: %q", stderr)
			}
		})
	}
}

func TestKeygenPrintsFreshStrongSecrets(t *testing.T) {
	_, first, _ := runCLI(t, "keygen")
	_, second, _ := runCLI(t, "keygen")
	first, second = strings.TrimSpace(first), strings.TrimSpace(second)
	if len(first) < 40 || first == second {
		t.Fatalf("keygen printed %q then %q", first, second)
	}
}

func TestMigrateDownThenUp(t *testing.T) {
	t.Setenv("ENV", "test")
	t.Setenv("DATABASE_URL", testutil.NewDatabase(t))

	all, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil || len(all) < 2 {
		t.Fatalf("embedded migrations: %v, %v", all, err)
	}
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"migrate", "status"}, "0001_initial.sql"},
		{[]string{"migrate", "up"}, fmt.Sprintf("applied %d migration(s)", len(all))},
		{[]string{"migrate", "status"}, "applied 20"},
		{[]string{"migrate", "down"}, "rolled back 1 migration(s)"},
		{[]string{"migrate", "status"}, "pending"},
		{[]string{"migrate", "up"}, "applied 1 migration(s)"},
		{[]string{"migrate", "up"}, "applied 0 migration(s)"},
	}
	for _, s := range steps {
		code, stdout, stderr := runCLI(t, s.args...)
		if code != 0 || !strings.Contains(stdout, s.want) {
			t.Fatalf("%v: exit %d, stdout %q (want %q), stderr %q", s.args, code, stdout, s.want, stderr)
		}
	}
}

func TestBadConfigurationStopsStartup(t *testing.T) {
	t.Setenv("ENV", "test")
	t.Setenv("AUTOMATION_CHECK_INTERVAL", "soon")
	t.Setenv("LISTEN_ADDR", "127.0.0.1:1") // never reached: nothing may listen
	code, _, stderr := runCLI(t, "serve")
	if code != 1 {
		t.Fatalf("exit code %d, want 1", code)
	}
	if !strings.Contains(stderr, "AUTOMATION_CHECK_INTERVAL") || strings.Count(stderr, "invalid configuration") != 1 {
		t.Fatalf("stderr does not name the variable once: %q", stderr)
	}
}

func TestProdRefusesMissingSecretsInOneError(t *testing.T) {
	t.Setenv("ENV", "prod")
	t.Setenv("BASE_URL", "https://ads.example.com")
	t.Setenv("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
	t.Setenv("MASTER_SECRET_KEY", "")
	t.Setenv("OAUTH_STATE_SECRET", "")
	code, _, stderr := runCLI(t, "serve")
	if code != 1 || !strings.Contains(stderr, "MASTER_SECRET_KEY, OAUTH_STATE_SECRET") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

func TestSIGTERMLetsInFlightRequestFinish(t *testing.T) {
	addr := freeAddr(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		helperEnv+"=1",
		"ENV=test",
		"DATABASE_URL="+testutil.NewMigratedDatabase(t),
		"LISTEN_ADDR="+addr,
		"BASE_URL=http://"+addr,
		"LOG_LEVEL=info",
		"SHUTDOWN_DRAIN_DELAY=700ms",
	)
	var logs testutil.LogBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	base := "http://" + addr
	waitReady(t, base+"/health/ready", &logs)

	resp, err := http.Get(base + "/test/slow")
	if err != nil {
		t.Fatalf("slow request: %v", err)
	}
	defer resp.Body.Close()
	// The headers are in: the request is in flight. Now ask the server to stop.
	signalled := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// While draining, the server still answers but tells load balancers to go.
	if ready := waitStatus(base+"/health/ready", http.StatusServiceUnavailable, 600*time.Millisecond); !ready {
		t.Errorf("/health/ready did not turn 503 while draining\nlogs:\n%s", logs.String())
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil || string(body) != "finished" {
		t.Fatalf("in-flight request cut short: body %q, err %v\nlogs:\n%s", body, err, logs.String())
	}

	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("server exited with %v\nlogs:\n%s", err, logs.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("server still running 10s after SIGTERM\nlogs:\n%s", logs.String())
	}
	t.Logf("exited 0, %s after SIGTERM", time.Since(signalled).Round(time.Millisecond))
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatal("the port still accepts connections after exit")
	}
	if !strings.Contains(logs.String(), "shutting down") || !strings.Contains(logs.String(), "stopped") {
		t.Fatalf("shutdown not logged:\n%s", logs.String())
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitReady(t *testing.T, url string, logs fmt.Stringer) {
	t.Helper()
	if !waitStatus(url, http.StatusOK, 20*time.Second) {
		t.Fatalf("server not ready after 20s\nlogs:\n%s", logs.String())
	}
}

// waitStatus polls url until it answers status, for at most d.
func waitStatus(url string, status int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == status {
				return true
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}
