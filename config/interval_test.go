package config_test

import (
	"strings"
	"testing"
	"time"

	"adpilot/config"
)

func TestIntervalParsing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"60", 60 * time.Second},
		{"1", time.Second},
		{" 90 ", 90 * time.Second},
		{"15s", 15 * time.Second},
		{"1h30m", 90 * time.Minute},
		{"1.5s", 1500 * time.Millisecond},
		{"3600", time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			t.Parallel()
			cfg := mustLoad(t, testVars("AUTOMATION_CHECK_INTERVAL", tt.value))
			if got := cfg.AutomationCheckInterval.Duration(); got != tt.want {
				t.Errorf("AUTOMATION_CHECK_INTERVAL=%q gives %v, want %v", tt.value, got, tt.want)
			}
		})
	}
}

func TestEveryIntervalVariableAcceptsSeconds(t *testing.T) {
	t.Parallel()
	cfg := mustLoad(t, testVars(
		"AUTOMATION_CHECK_INTERVAL", "30",
		"TOKEN_REFRESH_INTERVAL", "7200",
		"CLEANUP_INTERVAL", "43200",
		"RUN_RETENTION", "86400",
		"SHUTDOWN_TIMEOUT", "5",
		"DB_CONN_MAX_LIFETIME", "600",
	))
	got := []struct {
		name string
		got  config.Interval
		want time.Duration
	}{
		{"AUTOMATION_CHECK_INTERVAL", cfg.AutomationCheckInterval, 30 * time.Second},
		{"TOKEN_REFRESH_INTERVAL", cfg.TokenRefreshInterval, 2 * time.Hour},
		{"CLEANUP_INTERVAL", cfg.CleanupInterval, 12 * time.Hour},
		{"RUN_RETENTION", cfg.RunRetention, 24 * time.Hour},
		{"SHUTDOWN_TIMEOUT", cfg.ShutdownTimeout, 5 * time.Second},
		{"DB_CONN_MAX_LIFETIME", cfg.DBConnMaxLifetime, 10 * time.Minute},
	}
	for _, g := range got {
		if g.got.Duration() != g.want {
			t.Errorf("%s = %v, want %v", g.name, g.got, g.want)
		}
	}
}

func TestIntervalErrors(t *testing.T) {
	t.Parallel()
	for _, value := range []string{"abc", "-5", "-5s", "1x", "5 s", "60.5"} {
		t.Run(value, func(t *testing.T) {
			t.Parallel()
			e := mustFail(t, testVars("AUTOMATION_CHECK_INTERVAL", value))
			if len(e.Problems) != 1 {
				t.Errorf("want exactly one problem, got:\n%v", e)
			}
			p := problemNaming(e, "AUTOMATION_CHECK_INTERVAL")
			if p == "" {
				t.Fatalf("no problem names AUTOMATION_CHECK_INTERVAL; got:\n%v", e)
			}
			if !strings.Contains(p, value) {
				t.Errorf("problem %q does not quote the bad value %q", p, value)
			}
			// The operator should learn both accepted forms.
			if !strings.Contains(p, "seconds") || !strings.Contains(p, "duration") {
				t.Errorf("problem %q does not say what is accepted (whole seconds or a duration such as 15s)", p)
			}
		})
	}
}

func TestIntervalSecondsOverflow(t *testing.T) {
	t.Parallel()
	// 60 + 2^55 seconds: multiplied by time.Second this overflows int64 and
	// wraps to exactly 60s. time.ParseDuration rejects out-of-range values;
	// plain seconds should too (it once wrapped around to 1m0s).
	const huge = "36028797018964028"
	logger, _ := newLogger()
	cfg, err := config.FromMap(testVars("AUTOMATION_CHECK_INTERVAL", huge), logger)
	if err == nil {
		t.Fatalf("AUTOMATION_CHECK_INTERVAL=%s loaded as %v, want an out-of-range error", huge, cfg.AutomationCheckInterval)
	}
	if !strings.Contains(err.Error(), "AUTOMATION_CHECK_INTERVAL") {
		t.Errorf("error does not name AUTOMATION_CHECK_INTERVAL:\n%v", err)
	}
}

func TestIntervalUnmarshalText(t *testing.T) {
	t.Parallel()
	var i config.Interval
	if err := i.UnmarshalText([]byte("45")); err != nil {
		t.Fatal(err)
	}
	if i.Duration() != 45*time.Second || i.String() != "45s" {
		t.Errorf("Interval = %v (%s), want 45s", i.Duration(), i)
	}
	before := i
	if err := i.UnmarshalText([]byte("nope")); err == nil {
		t.Error("UnmarshalText(nope) succeeded")
	}
	if i != before {
		t.Errorf("a failed UnmarshalText changed the value to %v", i)
	}
}
