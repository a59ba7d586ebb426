package config_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"adpilot/config"
)

var secretNames = []string{"MASTER_SECRET_KEY", "OAUTH_STATE_SECRET"}

func TestProdLoadsValidConfig(t *testing.T) {
	t.Parallel()
	vars := prodVars()
	cfg := mustLoad(t, vars)
	if !cfg.IsProd() || cfg.IsDev() || !cfg.SecureCookies() {
		t.Errorf("IsProd = %v, IsDev = %v, SecureCookies = %v", cfg.IsProd(), cfg.IsDev(), cfg.SecureCookies())
	}
	if cfg.MasterSecretKey.Reveal() != vars["MASTER_SECRET_KEY"] || cfg.OAuthStateSecret.Reveal() != vars["OAUTH_STATE_SECRET"] {
		t.Error("prod secrets differ from the ones given")
	}
	if cfg.DatabaseURL != vars["DATABASE_URL"] {
		t.Errorf("DatabaseURL = %q", cfg.DatabaseURL)
	}
}

func TestProdRefusesMissingSecrets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		vars    map[string]string
		missing []string
	}{
		{"both", prodVars("MASTER_SECRET_KEY", unset, "OAUTH_STATE_SECRET", unset), secretNames},
		{"both empty", prodVars("MASTER_SECRET_KEY", "", "OAUTH_STATE_SECRET", ""), secretNames},
		{"master", prodVars("MASTER_SECRET_KEY", unset), []string{"MASTER_SECRET_KEY"}},
		{"oauth", prodVars("OAUTH_STATE_SECRET", unset), []string{"OAUTH_STATE_SECRET"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			e := mustFail(t, with(tt.vars, "DATA_DIR", dir))
			requireNamed(t, e, tt.missing...)
			for _, name := range secretNames {
				if _, given := tt.vars[name]; given && tt.vars[name] != "" && problemNaming(e, name) != "" {
					t.Errorf("%s was given but is reported:\n%v", name, e)
				}
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("prod wrote %d entries into DATA_DIR", len(entries))
			}
		})
	}
}

func TestProdRefusesWeakSecrets(t *testing.T) {
	t.Parallel()
	weak := []struct{ name, value string }{
		{"short", "too-short-secret"},
		{"31 characters", "Zq8Xw2Lp5Nr7Tb4Vc1Md6Gh9Jk3Fs0A"[:31]},
		{"placeholder", "your-master-secret-key-for-encryption-change-me-please"},
		{"changeme", "Zq8Xw2Lp5Nr7Tb4Vc1Md6Gh9Jk3Fs0A-CHANGEME"},
		{"example", "example-0123456789-abcdefghijklmnopqrstuv"},
		{"one repeated character", strings.Repeat("a", 36)},
		{"few distinct characters", strings.Repeat("abc123", 8)},
	}
	for _, name := range secretNames {
		for _, w := range weak {
			t.Run(name+"/"+w.name, func(t *testing.T) {
				t.Parallel()
				e := mustFail(t, prodVars(name, w.value))
				requireNamed(t, e, name)
				if strings.Contains(e.Error(), w.value) {
					t.Errorf("the error reveals the weak secret:\n%v", e)
				}
				for _, other := range secretNames {
					if other != name && problemNaming(e, other) != "" {
						t.Errorf("the strong %s is reported too:\n%v", other, e)
					}
				}
			})
		}
	}
}

func TestProdReportsEveryWeakOrMissingSecretTogether(t *testing.T) {
	t.Parallel()
	e := mustFail(t, prodVars("MASTER_SECRET_KEY", "short", "OAUTH_STATE_SECRET", strings.Repeat("x", 40)))
	requireNamed(t, e, secretNames...)

	e = mustFail(t, prodVars("MASTER_SECRET_KEY", unset, "OAUTH_STATE_SECRET", "short"))
	requireNamed(t, e, secretNames...)
}

func TestProdRequirements(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		vars map[string]string
		want []string
	}{
		{"DATABASE_URL missing", prodVars("DATABASE_URL", unset), []string{"DATABASE_URL"}},
		{"http BASE_URL", prodVars("BASE_URL", "http://adpilot.example.com"), []string{"BASE_URL", "https"}},
		{"default BASE_URL", prodVars("BASE_URL", unset), []string{"BASE_URL", "https"}},
		{"both", prodVars("DATABASE_URL", unset, "BASE_URL", unset), []string{"DATABASE_URL", "BASE_URL"}},
		{
			// An operator setting ENV=prod on a fresh host learns
			// everything at once, the secrets included.
			"nothing but ENV=prod",
			map[string]string{"ENV": "prod"},
			[]string{"DATABASE_URL", "BASE_URL", "MASTER_SECRET_KEY", "OAUTH_STATE_SECRET"},
		},
		{
			// The weak secret is reported alongside the http BASE_URL.
			"weak secret and http BASE_URL",
			prodVars("BASE_URL", "http://adpilot.example.com", "MASTER_SECRET_KEY", "short"),
			[]string{"BASE_URL", "MASTER_SECRET_KEY"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := mustFail(t, tt.vars)
			requireNamed(t, e, tt.want...)
		})
	}
}

func TestSecretFromFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	master, oauth := config.GenerateSecret(), config.GenerateSecret()
	masterFile := filepath.Join(dir, "master")
	oauthFile := filepath.Join(dir, "oauth")
	writeFile(t, masterFile, master+"\n")
	writeFile(t, oauthFile, "  "+oauth+"\r\n")

	tests := []struct {
		name       string
		vars       map[string]string
		wantMaster string
		wantOAuth  string
	}{
		{
			"both from files in prod",
			prodVars("MASTER_SECRET_KEY", unset, "OAUTH_STATE_SECRET", unset,
				"MASTER_SECRET_KEY_FILE", masterFile, "OAUTH_STATE_SECRET_FILE", oauthFile),
			master, oauth,
		},
		{
			"empty NAME falls back to NAME_FILE",
			prodVars("MASTER_SECRET_KEY", "", "MASTER_SECRET_KEY_FILE", masterFile, "OAUTH_STATE_SECRET", oauth),
			master, oauth,
		},
		{
			"NAME wins over NAME_FILE",
			prodVars("MASTER_SECRET_KEY", oauth, "MASTER_SECRET_KEY_FILE", masterFile, "OAUTH_STATE_SECRET", master),
			oauth, master,
		},
		{
			"one from file in test",
			testVars("MASTER_SECRET_KEY_FILE", masterFile),
			master, "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := mustLoad(t, tt.vars)
			if got := cfg.MasterSecretKey.Reveal(); got != tt.wantMaster {
				t.Errorf("MasterSecretKey = %q (%d chars), want the %d-char value from %s", got, len(got), len(tt.wantMaster), masterFile)
			}
			if tt.wantOAuth != "" && cfg.OAuthStateSecret.Reveal() != tt.wantOAuth {
				t.Errorf("OAuthStateSecret = %q, want %q", cfg.OAuthStateSecret.Reveal(), tt.wantOAuth)
			}
		})
	}
}

func TestSecretFileErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name string
		vars map[string]string
		want []string
	}{
		{"missing file", testVars("MASTER_SECRET_KEY_FILE", filepath.Join(dir, "absent")), []string{"MASTER_SECRET_KEY_FILE"}},
		{"directory", testVars("MASTER_SECRET_KEY_FILE", dir), []string{"MASTER_SECRET_KEY_FILE"}},
		{"both missing in prod", prodVars(
			"MASTER_SECRET_KEY", unset, "MASTER_SECRET_KEY_FILE", filepath.Join(dir, "a"),
			"OAUTH_STATE_SECRET", unset, "OAUTH_STATE_SECRET_FILE", filepath.Join(dir, "b"),
		), []string{"MASTER_SECRET_KEY_FILE", "OAUTH_STATE_SECRET_FILE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := mustFail(t, tt.vars)
			requireNamed(t, e, tt.want...)
		})
	}
}

func TestProdSecretFileWithWeakValue(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "master")
	writeFile(t, path, "change-me\n")
	e := mustFail(t, prodVars("MASTER_SECRET_KEY", unset, "MASTER_SECRET_KEY_FILE", path))
	requireNamed(t, e, "MASTER_SECRET_KEY")
	if strings.Contains(e.Error(), "change-me") {
		t.Errorf("the error reveals the secret:\n%v", e)
	}
}

// devLoad loads vars with a capturing logger and returns the config and log.
func devLoad(t *testing.T, vars map[string]string) (*config.Config, string) {
	t.Helper()
	logger, buf := newLogger()
	cfg, err := config.FromMap(vars, logger)
	if err != nil {
		t.Fatalf("FromMap: %v", err)
	}
	return cfg, buf.String()
}

func TestDevGeneratesAndReusesSecrets(t *testing.T) {
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "sub")
	vars := testVars("ENV", "dev", "DATA_DIR", dataDir)

	cfg, log := devLoad(t, vars)
	master, oauth := cfg.MasterSecretKey.Reveal(), cfg.OAuthStateSecret.Reveal()
	if len(master) != 43 || len(oauth) != 43 {
		t.Errorf("generated secrets have %d and %d characters, want 43", len(master), len(oauth))
	}
	if master == oauth {
		t.Error("both generated secrets are the same")
	}

	path := filepath.Join(dataDir, "dev-secrets.env")
	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("secrets file: %v", err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("%s has mode %v, want 0600", path, perm)
	}
	if dirInfo, err := os.Stat(dataDir); err != nil {
		t.Fatal(err)
	} else if perm := dirInfo.Mode().Perm(); perm&0o077 != 0 {
		t.Errorf("DATA_DIR was created with mode %v, readable by others", perm)
	}
	if entries, _ := os.ReadDir(dataDir); len(entries) != 1 {
		t.Errorf("DATA_DIR holds %d entries, want only dev-secrets.env", len(entries))
	}
	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"MASTER_SECRET_KEY=" + master, "OAUTH_STATE_SECRET=" + oauth} {
		if !strings.Contains(string(content), line+"\n") {
			t.Errorf("secrets file lacks the line %s=...", strings.SplitN(line, "=", 2)[0])
		}
	}

	if !strings.Contains(log, "level=WARN") {
		t.Errorf("no warning logged:\n%s", log)
	}
	for _, name := range secretNames {
		if !strings.Contains(log, name) {
			t.Errorf("warning does not name %s:\n%s", name, log)
		}
	}
	if strings.Contains(log, master) || strings.Contains(log, oauth) {
		t.Errorf("the log reveals a generated secret:\n%s", log)
	}

	again, log2 := devLoad(t, vars)
	if again.MasterSecretKey.Reveal() != master || again.OAuthStateSecret.Reveal() != oauth {
		t.Error("second load did not reuse the stored secrets")
	}
	if strings.Contains(log2, "level=WARN") {
		t.Errorf("second load warned again although nothing was generated:\n%s", log2)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, content) {
		t.Error("second load rewrote the secrets file")
	}
}

func TestDevKeepsSetSecret(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	master := config.GenerateSecret()
	vars := testVars("ENV", "dev", "DATA_DIR", dataDir, "MASTER_SECRET_KEY", master)

	cfg, log := devLoad(t, vars)
	if cfg.MasterSecretKey.Reveal() != master {
		t.Error("the set MASTER_SECRET_KEY was replaced")
	}
	oauth := cfg.OAuthStateSecret.Reveal()
	if len(oauth) != 43 {
		t.Errorf("OAUTH_STATE_SECRET has %d characters, want a generated 43", len(oauth))
	}
	content, err := os.ReadFile(filepath.Join(dataDir, "dev-secrets.env"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(content), "MASTER_SECRET_KEY") || strings.Contains(string(content), master) {
		t.Errorf("the set MASTER_SECRET_KEY was written to the secrets file:\n%s", content)
	}
	if !strings.Contains(string(content), "OAUTH_STATE_SECRET="+oauth) {
		t.Error("the generated OAUTH_STATE_SECRET is not in the secrets file")
	}
	if strings.Contains(log, "MASTER_SECRET_KEY") || !strings.Contains(log, "OAUTH_STATE_SECRET") {
		t.Errorf("warning should name only OAUTH_STATE_SECRET:\n%s", log)
	}
	if strings.Contains(log, master) || strings.Contains(log, oauth) {
		t.Errorf("the log reveals a secret:\n%s", log)
	}

	// Unsetting MASTER_SECRET_KEY later generates it and keeps the stored
	// OAUTH_STATE_SECRET.
	cfg2, _ := devLoad(t, with(vars, "MASTER_SECRET_KEY", unset))
	if cfg2.OAuthStateSecret.Reveal() != oauth {
		t.Error("the stored OAUTH_STATE_SECRET was not reused")
	}
	if m := cfg2.MasterSecretKey.Reveal(); m == master || len(m) != 43 {
		t.Errorf("MASTER_SECRET_KEY was not freshly generated (%d chars)", len(m))
	}
}

func TestDevWithAllSecretsSetWritesNothing(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	_, log := devLoad(t, testVars("ENV", "dev", "DATA_DIR", dataDir,
		"MASTER_SECRET_KEY", "dev-master", "OAUTH_STATE_SECRET", "dev-oauth"))
	if entries, _ := os.ReadDir(dataDir); len(entries) != 0 {
		t.Errorf("DATA_DIR holds %d entries, want none", len(entries))
	}
	if strings.Contains(log, "level=WARN") {
		t.Errorf("unexpected warning:\n%s", log)
	}
}

func TestDevUnwritableDataDir(t *testing.T) {
	t.Parallel()
	notADir := filepath.Join(t.TempDir(), "file")
	writeFile(t, notADir, "")
	e := mustFail(t, testVars("ENV", "dev", "DATA_DIR", notADir))
	requireNamed(t, e, "DATA_DIR")
}

func TestTestEnvGeneratesSecretsInMemory(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	vars := testVars("DATA_DIR", dataDir)
	first := mustLoad(t, vars)
	second := mustLoad(t, vars)
	for _, cfg := range []*config.Config{first, second} {
		if len(cfg.MasterSecretKey.Reveal()) != 43 || len(cfg.OAuthStateSecret.Reveal()) != 43 {
			t.Error("ENV=test did not generate 43-character secrets")
		}
		if cfg.MasterSecretKey == cfg.OAuthStateSecret {
			t.Error("ENV=test generated the same value for both secrets")
		}
	}
	if first.MasterSecretKey == second.MasterSecretKey {
		t.Error("ENV=test reused a secret across loads; it should not persist them")
	}
	if entries, _ := os.ReadDir(dataDir); len(entries) != 0 {
		t.Errorf("ENV=test wrote %d entries into DATA_DIR", len(entries))
	}
	if _, err := os.Stat(filepath.Join(dataDir, "dev-secrets.env")); !os.IsNotExist(err) {
		t.Errorf("dev-secrets.env exists for ENV=test (stat error %v)", err)
	}
}

func TestTestEnvKeepsGivenSecrets(t *testing.T) {
	t.Parallel()
	cfg := mustLoad(t, testVars("MASTER_SECRET_KEY", "short is fine outside prod"))
	if cfg.MasterSecretKey.Reveal() != "short is fine outside prod" {
		t.Errorf("MasterSecretKey = %q", cfg.MasterSecretKey.Reveal())
	}
}

const rawSecret = "s3cr3t-VALUE-that-must-never-print-0123456789"

func TestSecretRedactedByFmt(t *testing.T) {
	t.Parallel()
	secret := config.Secret(rawSecret)
	cfg := mustLoad(t, testVars("MASTER_SECRET_KEY", rawSecret, "OAUTH_STATE_SECRET", rawSecret))
	holder := struct {
		Name string
		Cfg  config.Config
	}{"holder", *cfg}

	tests := []struct {
		name string
		got  string
	}{
		{"%v", fmt.Sprintf("%v", secret)},
		{"%s", fmt.Sprintf("secret=%s", secret)},
		{"%q", fmt.Sprintf("%q", secret)},
		{"%x", fmt.Sprintf("%x", secret)}, // shows [redacted] hex-encoded
		{"%+v", fmt.Sprintf("%+v", secret)},
		{"%#v", fmt.Sprintf("%#v", secret)},
		{"Sprint", fmt.Sprint(secret)},
		{"Sprintln", fmt.Sprintln(secret)},
		{"String", secret.String()},
		{"%v of *Config", fmt.Sprintf("%v", cfg)},
		{"%v of Config", fmt.Sprintf("%v", *cfg)},
		{"%+v of Config", fmt.Sprintf("%+v", *cfg)},
		{"%#v of *Config", fmt.Sprintf("%#v", cfg)},
		{"%+v of a struct holding Config", fmt.Sprintf("%+v", holder)},
		{"%#v of a struct holding Config", fmt.Sprintf("%#v", holder)},
		{"%v of a slice of secrets", fmt.Sprintf("%v", []config.Secret{secret})},
		{"%v of a map of secrets", fmt.Sprintf("%v", map[string]config.Secret{"k": secret})},
		{"error wrapping", fmt.Errorf("auth with %v failed", secret).Error()},
	}
	for _, tt := range tests {
		if strings.Contains(tt.got, rawSecret) || strings.Contains(tt.got, fmt.Sprintf("%x", rawSecret)) {
			t.Errorf("%s reveals the secret: %s", tt.name, tt.got)
		}
		if !strings.Contains(tt.got, "[redacted]") && !strings.Contains(tt.got, fmt.Sprintf("%x", "[redacted]")) {
			t.Errorf("%s = %q, want it to show [redacted]", tt.name, tt.got)
		}
	}
	if secret.Reveal() != rawSecret {
		t.Error("Reveal() does not return the value")
	}
}

func TestSecretRedactedBySlog(t *testing.T) {
	t.Parallel()
	secret := config.Secret(rawSecret)
	cfg := mustLoad(t, testVars("MASTER_SECRET_KEY", rawSecret, "OAUTH_STATE_SECRET", rawSecret))

	handlers := []struct {
		name string
		new  func(*bytes.Buffer) slog.Handler
	}{
		{"text", func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) }},
		{"json", func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) }},
	}
	logs := []struct {
		name string
		log  func(*slog.Logger)
	}{
		{"key-value", func(l *slog.Logger) { l.Info("msg", "secret", secret) }},
		{"slog.Any", func(l *slog.Logger) { l.Info("msg", slog.Any("secret", secret)) }},
		{"group", func(l *slog.Logger) { l.Info("msg", slog.Group("g", "secret", secret)) }},
		{"With", func(l *slog.Logger) { l.With("secret", secret).Info("msg") }},
		{"WithGroup", func(l *slog.Logger) { l.WithGroup("g").Info("msg", "secret", secret) }},
		{"field of the config", func(l *slog.Logger) { l.Info("msg", "key", cfg.MasterSecretKey) }},
		// slog's JSON handler encodes structs with encoding/json, which
		// ignores String and LogValue on fields: MarshalText must redact.
		{"whole *Config", func(l *slog.Logger) { l.Info("msg", "config", cfg) }},
		{"struct holding a Secret", func(l *slog.Logger) {
			l.Info("msg", "creds", struct{ Token config.Secret }{secret})
		}},
	}
	for _, h := range handlers {
		for _, lg := range logs {
			t.Run(h.name+"/"+lg.name, func(t *testing.T) {
				t.Parallel()
				var buf bytes.Buffer
				lg.log(slog.New(h.new(&buf)))
				out := buf.String()
				if strings.Contains(out, rawSecret) {
					t.Errorf("log reveals the secret: %s", out)
				}
				if !strings.Contains(out, "[redacted]") {
					t.Errorf("log does not show [redacted]: %s", out)
				}
			})
		}
	}
}
