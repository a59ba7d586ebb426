package config_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"adpilot/config"
)

const defaultDevDatabaseURL = "postgres://postgres@127.0.0.1:5432/adpilot?sslmode=disable"

func TestDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		vars    func(t *testing.T) map[string]string
		wantEnv string
	}{
		{"dev", func(t *testing.T) map[string]string { return devVars(t) }, config.EnvDev},
		{"test", func(*testing.T) map[string]string { return testVars() }, config.EnvTest},
		{"ENV unset means dev", func(t *testing.T) map[string]string { return with(devVars(t), "ENV", unset) }, config.EnvDev},
		{"empty ENV means dev", func(t *testing.T) map[string]string { return devVars(t, "ENV", "") }, config.EnvDev},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := mustLoad(t, tt.vars(t))

			strs := []struct{ name, got, want string }{
				{"Env", cfg.Env, tt.wantEnv},
				{"ListenAddr", cfg.ListenAddr, ":8000"},
				{"BaseURL", cfg.BaseURL, "http://localhost:8000"},
				{"DatabaseURL", cfg.DatabaseURL, defaultDevDatabaseURL},
				{"LogLevel", cfg.LogLevel, "info"},
				{"LogFormat", cfg.LogFormat, "text"},
			}
			for _, s := range strs {
				if s.got != s.want {
					t.Errorf("%s = %q, want %q", s.name, s.got, s.want)
				}
			}
			durations := []struct {
				name      string
				got, want time.Duration
			}{
				{"AutomationCheckInterval", cfg.AutomationCheckInterval.Duration(), 60 * time.Second},
				{"TokenRefreshInterval", cfg.TokenRefreshInterval.Duration(), time.Hour},
				{"CleanupInterval", cfg.CleanupInterval.Duration(), 24 * time.Hour},
				{"RunRetention", cfg.RunRetention.Duration(), 90 * 24 * time.Hour},
				{"ShutdownTimeout", cfg.ShutdownTimeout.Duration(), 25 * time.Second},
				{"DBConnMaxLifetime", cfg.DBConnMaxLifetime.Duration(), 30 * time.Minute},
			}
			for _, d := range durations {
				if d.got != d.want {
					t.Errorf("%s = %v, want %v", d.name, d.got, d.want)
				}
			}
			if cfg.DBMaxOpenConns != 20 || cfg.DBMaxIdleConns != 20 {
				t.Errorf("DB pool = %d open / %d idle, want 20 / 20", cfg.DBMaxOpenConns, cfg.DBMaxIdleConns)
			}
			if len(cfg.TrustedProxies) != 0 {
				t.Errorf("TrustedProxies = %q, want none", cfg.TrustedProxies)
			}
			if cfg.IsProd() || cfg.SecureCookies() {
				t.Errorf("IsProd() = %v, SecureCookies() = %v, want false for both", cfg.IsProd(), cfg.SecureCookies())
			}
			if cfg.IsDev() != (tt.wantEnv == config.EnvDev) {
				t.Errorf("IsDev() = %v for ENV=%s", cfg.IsDev(), cfg.Env)
			}
			if cfg.MasterSecretKey == "" || cfg.OAuthStateSecret == "" {
				t.Error("missing secrets were not filled in")
			}
		})
	}
}

func TestDataDirDefault(t *testing.T) {
	t.Parallel()
	// ENV=test never writes DATA_DIR, so the default can be read safely.
	cfg := mustLoad(t, testVars())
	if cfg.DataDir != ".data" {
		t.Errorf("DataDir = %q, want .data", cfg.DataDir)
	}
}

func TestValidValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		vars  map[string]string
		check func(t *testing.T, cfg *config.Config)
	}{
		{
			"LISTEN_ADDR with host",
			testVars("LISTEN_ADDR", "127.0.0.1:9000"),
			func(t *testing.T, cfg *config.Config) {
				if cfg.ListenAddr != "127.0.0.1:9000" {
					t.Errorf("ListenAddr = %q", cfg.ListenAddr)
				}
			},
		},
		{
			"BASE_URL trailing slash is trimmed",
			testVars("BASE_URL", "https://adpilot.example.com/"),
			func(t *testing.T, cfg *config.Config) {
				if cfg.BaseURL != "https://adpilot.example.com" {
					t.Errorf("BaseURL = %q", cfg.BaseURL)
				}
				if !cfg.SecureCookies() {
					t.Error("SecureCookies() = false for an https BASE_URL")
				}
			},
		},
		{
			"LOG_LEVEL is case-insensitive",
			testVars("LOG_LEVEL", "DEBUG"),
			func(t *testing.T, cfg *config.Config) {
				if !strings.EqualFold(cfg.LogLevel, "debug") {
					t.Errorf("LogLevel = %q", cfg.LogLevel)
				}
			},
		},
		{
			"LOG_FORMAT json",
			testVars("LOG_FORMAT", "json"),
			func(t *testing.T, cfg *config.Config) {
				if cfg.LogFormat != "json" {
					t.Errorf("LogFormat = %q", cfg.LogFormat)
				}
			},
		},
		{
			"DATABASE_URL is kept",
			testVars("DATABASE_URL", "postgres://u@h/db"),
			func(t *testing.T, cfg *config.Config) {
				if cfg.DatabaseURL != "postgres://u@h/db" {
					t.Errorf("DatabaseURL = %q", cfg.DatabaseURL)
				}
			},
		},
		{
			"TRUSTED_PROXIES list",
			testVars("TRUSTED_PROXIES", "10.0.0.0/8, 192.168.0.0/16,fd00::/8"),
			func(t *testing.T, cfg *config.Config) {
				if len(cfg.TrustedProxies) != 3 {
					t.Errorf("TrustedProxies = %q, want 3 ranges", cfg.TrustedProxies)
				}
			},
		},
		{
			"DB pool settings",
			testVars("DB_MAX_OPEN_CONNS", "5", "DB_MAX_IDLE_CONNS", "0", "DB_CONN_MAX_LIFETIME", "300"),
			func(t *testing.T, cfg *config.Config) {
				if cfg.DBMaxOpenConns != 5 || cfg.DBMaxIdleConns != 0 || cfg.DBConnMaxLifetime.Duration() != 5*time.Minute {
					t.Errorf("DB pool = %d/%d/%v", cfg.DBMaxOpenConns, cfg.DBMaxIdleConns, cfg.DBConnMaxLifetime)
				}
			},
		},
		{
			"RUN_RETENTION and SHUTDOWN_TIMEOUT",
			testVars("RUN_RETENTION", "720h", "SHUTDOWN_TIMEOUT", "10"),
			func(t *testing.T, cfg *config.Config) {
				if cfg.RunRetention.Duration() != 30*24*time.Hour || cfg.ShutdownTimeout.Duration() != 10*time.Second {
					t.Errorf("RunRetention = %v, ShutdownTimeout = %v", cfg.RunRetention, cfg.ShutdownTimeout)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.check(t, mustLoad(t, tt.vars))
		})
	}
}

func TestValidationErrorNamesVariable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, value string
		// also lists other text the problem must contain, such as a hint
		// at what is accepted.
		also []string
	}{
		{"ENV", "staging", []string{"staging", "dev", "test", "prod"}},
		{"LOG_LEVEL", "loud", []string{"loud", "debug"}},
		{"LOG_FORMAT", "xml", []string{"xml", "text", "json"}},
		{"BASE_URL", "not-a-url", []string{"not-a-url", "http"}},
		{"BASE_URL", "ftp://example.com", []string{"http"}},
		{"LISTEN_ADDR", "8000", []string{":8000"}},
		{"LISTEN_ADDR", "localhost:", nil},
		{"TRUSTED_PROXIES", "bogus", []string{"bogus", "CIDR"}},
		{"TRUSTED_PROXIES", "10.0.0.0/8,10.0.0.1", []string{"10.0.0.1", "CIDR"}},
		{"DB_MAX_OPEN_CONNS", "0", []string{"at least 1"}},
		{"DB_MAX_OPEN_CONNS", "abc", []string{"abc"}},
		{"DB_MAX_IDLE_CONNS", "-1", nil},
		{"DB_MAX_IDLE_CONNS", "x", nil},
		{"AUTOMATION_CHECK_INTERVAL", "0", []string{"at least"}},
		{"TOKEN_REFRESH_INTERVAL", "30s", []string{"at least"}},
		{"CLEANUP_INTERVAL", "59", []string{"at least"}},
		{"RUN_RETENTION", "1h", []string{"at least"}},
		{"SHUTDOWN_TIMEOUT", "0", []string{"at least"}},
		{"DB_CONN_MAX_LIFETIME", "0", []string{"at least"}},
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			t.Parallel()
			e := mustFail(t, testVars(tt.name, tt.value))
			p := problemNaming(e, tt.name)
			if p == "" {
				t.Fatalf("no problem names %s; got:\n%v", tt.name, e)
			}
			for _, want := range tt.also {
				if !strings.Contains(p, want) {
					t.Errorf("problem %q does not mention %q", p, want)
				}
			}
			if strings.Contains(e.Error(), "parse error on field") {
				t.Errorf("error uses the env library's wording, naming a Go field:\n%v", e)
			}
		})
	}
}

func TestParseErrorNamesVariableNotField(t *testing.T) {
	t.Parallel()
	e := mustFail(t, testVars("DB_MAX_OPEN_CONNS", "abc"))
	requireNamed(t, e, "DB_MAX_OPEN_CONNS")
	if strings.Contains(e.Error(), "DBMaxOpenConns") {
		t.Errorf("error names the Go field DBMaxOpenConns:\n%v", e)
	}
}

func TestErrorListsEveryProblem(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		vars map[string]string
		want []string
	}{
		{
			"validation problems",
			testVars(
				"ENV", "staging",
				"LOG_LEVEL", "loud",
				"LOG_FORMAT", "xml",
				"BASE_URL", "not-a-url",
				"LISTEN_ADDR", "8000",
				"TRUSTED_PROXIES", "bogus",
				"DB_MAX_OPEN_CONNS", "0",
				"AUTOMATION_CHECK_INTERVAL", "0",
			),
			[]string{"ENV", "LOG_LEVEL", "LOG_FORMAT", "BASE_URL", "LISTEN_ADDR", "TRUSTED_PROXIES", "DB_MAX_OPEN_CONNS", "AUTOMATION_CHECK_INTERVAL"},
		},
		{
			"parse problems",
			testVars(
				"DB_MAX_OPEN_CONNS", "abc",
				"DB_MAX_IDLE_CONNS", "xyz",
				"AUTOMATION_CHECK_INTERVAL", "abc",
				"CLEANUP_INTERVAL", "1x",
			),
			[]string{"DB_MAX_OPEN_CONNS", "DB_MAX_IDLE_CONNS", "AUTOMATION_CHECK_INTERVAL", "CLEANUP_INTERVAL"},
		},
		{
			"unreadable secret file with parse problems",
			testVars(
				"MASTER_SECRET_KEY_FILE", "/nonexistent/master.key",
				"TOKEN_REFRESH_INTERVAL", "soon",
			),
			[]string{"MASTER_SECRET_KEY_FILE", "TOKEN_REFRESH_INTERVAL"},
		},
		{
			// A parse error must not hide the validation problems.
			"parse and validation problems together",
			testVars(
				"AUTOMATION_CHECK_INTERVAL", "abc",
				"ENV", "staging",
				"LOG_FORMAT", "xml",
			),
			[]string{"AUTOMATION_CHECK_INTERVAL", "ENV=", "LOG_FORMAT"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := mustFail(t, tt.vars)
			requireNamed(t, e, tt.want...)
			// The problems are also all in the single error message.
			msg := e.Error()
			for _, name := range tt.want {
				if !strings.Contains(msg, name) {
					t.Errorf("Error() does not mention %s:\n%s", name, msg)
				}
			}
		})
	}
}

func TestErrorMessageFormat(t *testing.T) {
	t.Parallel()
	e := &config.Error{Problems: []string{"A: bad", "B: worse"}}
	want := "invalid configuration:\n  - A: bad\n  - B: worse"
	if got := e.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// configVars lists every variable Load may read, so that the test process's
// own environment cannot leak into Load tests.
var configVars = []string{
	"ENV", "BASE_URL", "LISTEN_ADDR", "LOG_LEVEL", "LOG_FORMAT", "DATA_DIR",
	"DATABASE_URL", "DB_MAX_OPEN_CONNS", "DB_MAX_IDLE_CONNS", "DB_CONN_MAX_LIFETIME",
	"MASTER_SECRET_KEY", "MASTER_SECRET_KEY_FILE", "OAUTH_STATE_SECRET", "OAUTH_STATE_SECRET_FILE",
	"AUTOMATION_CHECK_INTERVAL", "TOKEN_REFRESH_INTERVAL", "CLEANUP_INTERVAL", "RUN_RETENTION",
	"SHUTDOWN_TIMEOUT", "TRUSTED_PROXIES",
}

// clearConfigEnv unsets every configuration variable for the rest of the
// test; t.Setenv restores the original values afterwards.
func clearConfigEnv(t *testing.T) {
	t.Helper()
	for _, name := range configVars {
		t.Setenv(name, "")
		if err := os.Unsetenv(name); err != nil {
			t.Fatal(err)
		}
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLoadReadsDotEnvAndEnvironmentWins(t *testing.T) {
	clearConfigEnv(t)
	t.Chdir(t.TempDir())
	writeFile(t, ".env", strings.Join([]string{
		"# comment",
		"ENV=test",
		"LISTEN_ADDR=:9001",
		"LOG_LEVEL=debug",
		"AUTOMATION_CHECK_INTERVAL=15",
		`BASE_URL="https://dotenv.example.com"`,
		"TRUSTED_PROXIES=10.0.0.0/8",
	}, "\n")+"\n")
	t.Setenv("LISTEN_ADDR", ":9002")
	t.Setenv("AUTOMATION_CHECK_INTERVAL", "2m")
	t.Setenv("TRUSTED_PROXIES", "")

	logger, _ := newLogger()
	cfg, err := config.Load(logger)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	checks := []struct{ name, got, want string }{
		{"Env (.env)", cfg.Env, "test"},
		{"LogLevel (.env)", cfg.LogLevel, "debug"},
		{"BaseURL (.env, quoted)", cfg.BaseURL, "https://dotenv.example.com"},
		{"ListenAddr (environment)", cfg.ListenAddr, ":9002"},
		{"AutomationCheckInterval (environment)", cfg.AutomationCheckInterval.String(), "2m0s"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if len(cfg.TrustedProxies) != 0 {
		t.Errorf("TrustedProxies = %q, want none: an empty environment variable should override .env", cfg.TrustedProxies)
	}
}

func TestLoadWithoutDotEnv(t *testing.T) {
	clearConfigEnv(t)
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("ENV", "test")
	t.Setenv("LISTEN_ADDR", ":7000")

	logger, _ := newLogger()
	cfg, err := config.Load(logger)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if cfg.ListenAddr != ":7000" || cfg.Env != config.EnvTest {
		t.Errorf("ListenAddr = %q, Env = %q", cfg.ListenAddr, cfg.Env)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("Load with ENV=test wrote %v into the working directory", entries)
	}
}

func TestLoadReportsBadDotEnvValue(t *testing.T) {
	clearConfigEnv(t)
	t.Chdir(t.TempDir())
	writeFile(t, ".env", "ENV=test\nLOG_FORMAT=xml\n")

	logger, _ := newLogger()
	_, err := config.Load(logger)
	if err == nil || !strings.Contains(err.Error(), "LOG_FORMAT") {
		t.Fatalf("Load error = %v, want one naming LOG_FORMAT", err)
	}
}

func TestLoadUnreadableDotEnv(t *testing.T) {
	clearConfigEnv(t)
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.Mkdir(filepath.Join(dir, ".env"), 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ENV", "test")

	logger, _ := newLogger()
	_, err := config.Load(logger)
	if err == nil || !strings.Contains(err.Error(), ".env") {
		t.Fatalf("Load error = %v, want one mentioning .env", err)
	}
}

func TestLoadDevDefaultDataDirIsRelativeToWorkingDir(t *testing.T) {
	clearConfigEnv(t)
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("ENV", "dev")

	logger, _ := newLogger()
	if _, err := config.Load(logger); err != nil {
		t.Fatalf("Load: %v", err)
	}
	entries, err := os.ReadDir(filepath.Join(dir, ".data"))
	if err != nil {
		t.Fatalf("reading .data: %v", err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"dev-secrets.env"}) {
		t.Errorf(".data holds %q, want only dev-secrets.env", names)
	}
}
