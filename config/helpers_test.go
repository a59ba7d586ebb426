package config_test

import (
	"bytes"
	"errors"
	"log/slog"
	"maps"
	"strings"
	"testing"

	"adpilot/config"
)

// testVars is the smallest configuration that loads without touching the
// disk: ENV=test generates any missing secret in memory.
func testVars(kv ...string) map[string]string {
	return with(map[string]string{"ENV": "test"}, kv...)
}

// devVars is a dev configuration whose generated secrets go to a fresh
// temporary DATA_DIR, never to the package directory.
func devVars(t *testing.T, kv ...string) map[string]string {
	t.Helper()
	return with(map[string]string{"ENV": "dev", "DATA_DIR": t.TempDir()}, kv...)
}

// prodVars is a complete, valid prod configuration.
func prodVars(kv ...string) map[string]string {
	return with(map[string]string{
		"ENV":                "prod",
		"DATABASE_URL":       "postgres://adpilot@db.internal:5432/adpilot?sslmode=require",
		"BASE_URL":           "https://adpilot.example.com",
		"MASTER_SECRET_KEY":  config.GenerateSecret(),
		"OAUTH_STATE_SECRET": config.GenerateSecret(),
	}, kv...)
}

// with returns a copy of base with the NAME, VALUE pairs in kv set. A pair
// whose value is "<unset>" deletes the variable instead.
func with(base map[string]string, kv ...string) map[string]string {
	if len(kv)%2 != 0 {
		panic("with: odd number of arguments")
	}
	out := maps.Clone(base)
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == unset {
			delete(out, kv[i])
			continue
		}
		out[kv[i]] = kv[i+1]
	}
	return out
}

const unset = "<unset>"

// newLogger returns a logger writing text records into the returned buffer.
func newLogger() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(slog.NewTextHandler(&buf, nil)), &buf
}

// mustLoad calls FromMap and fails the test on any error.
func mustLoad(t *testing.T, vars map[string]string) *config.Config {
	t.Helper()
	logger, _ := newLogger()
	cfg, err := config.FromMap(vars, logger)
	if err != nil {
		t.Fatalf("FromMap(%v): unexpected error: %v", redactVars(vars), err)
	}
	return cfg
}

// mustFail calls FromMap, expects a *config.Error and returns it.
func mustFail(t *testing.T, vars map[string]string) *config.Error {
	t.Helper()
	logger, _ := newLogger()
	cfg, err := config.FromMap(vars, logger)
	if err == nil {
		t.Fatalf("FromMap(%v) = %+v, want an error", redactVars(vars), cfg)
	}
	if cfg != nil {
		t.Errorf("FromMap returned a config together with error %v", err)
	}
	var cerr *config.Error
	if !errors.As(err, &cerr) {
		t.Fatalf("FromMap error is %T (%v), want *config.Error", err, err)
	}
	if len(cerr.Problems) == 0 {
		t.Fatalf("*config.Error has no Problems: %v", err)
	}
	return cerr
}

// problemNaming returns the first problem that mentions name, or "".
func problemNaming(e *config.Error, name string) string {
	for _, p := range e.Problems {
		if strings.Contains(p, name) {
			return p
		}
	}
	return ""
}

// requireNamed fails unless some problem mentions each of names.
func requireNamed(t *testing.T, e *config.Error, names ...string) {
	t.Helper()
	for _, name := range names {
		if problemNaming(e, name) == "" {
			t.Errorf("no problem names %s; got:\n%v", name, e)
		}
	}
}

// redactVars hides secret values from failure messages.
func redactVars(vars map[string]string) map[string]string {
	out := maps.Clone(vars)
	for k := range out {
		if strings.Contains(k, "SECRET") && !strings.HasSuffix(k, "_FILE") {
			out[k] = "[redacted]"
		}
	}
	return out
}
