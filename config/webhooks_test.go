package config_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"adpilot/config"
)

func TestWebhookSettings(t *testing.T) {
	t.Parallel()
	cfg := mustLoad(t, testVars())
	if cfg.WebhookEventRetention.Duration() != 30*24*time.Hour {
		t.Errorf("WebhookEventRetention = %v, want 30 days", cfg.WebhookEventRetention)
	}
	if cfg.WebhookProcessInterval.Duration() != 5*time.Second {
		t.Errorf("WebhookProcessInterval = %v, want 5s", cfg.WebhookProcessInterval)
	}
	if cfg.FacebookWebhookVerifyToken != "" || cfg.TikTokWebhookVerifyToken != "" {
		t.Error("verify tokens have defaults")
	}

	cfg = mustLoad(t, testVars("WEBHOOK_EVENT_RETENTION", "172800", "WEBHOOK_PROCESS_INTERVAL", "2s",
		"FACEBOOK_WEBHOOK_VERIFY_TOKEN", "fb-verify-token-value", "TIKTOK_WEBHOOK_VERIFY_TOKEN", "tt-verify-token-value"))
	if cfg.WebhookEventRetention.Duration() != 48*time.Hour || cfg.WebhookProcessInterval.Duration() != 2*time.Second {
		t.Errorf("retention %v, interval %v", cfg.WebhookEventRetention, cfg.WebhookProcessInterval)
	}
	if cfg.FacebookWebhookVerifyToken.Reveal() != "fb-verify-token-value" || cfg.TikTokWebhookVerifyToken.Reveal() != "tt-verify-token-value" {
		t.Error("verify tokens not read")
	}
	// Secrets never print.
	if out := fmt.Sprintf("%v %+v %#v", cfg.FacebookWebhookVerifyToken, cfg.TikTokWebhookVerifyToken, cfg.FacebookWebhookVerifyToken); strings.Contains(out, "verify-token-value") {
		t.Errorf("a verify token printed: %s", out)
	}
}

func TestWebhookVerifyTokenFromFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "fb-verify")
	if err := os.WriteFile(path, []byte("from-a-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := mustLoad(t, testVars("FACEBOOK_WEBHOOK_VERIFY_TOKEN_FILE", path))
	if cfg.FacebookWebhookVerifyToken.Reveal() != "from-a-file" {
		t.Fatalf("FACEBOOK_WEBHOOK_VERIFY_TOKEN_FILE gave %q", cfg.FacebookWebhookVerifyToken.Reveal())
	}
}

func TestWebhookSettingsValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		vars map[string]string
		want string
	}{
		{"retention too short", testVars("WEBHOOK_EVENT_RETENTION", "1h"), "WEBHOOK_EVENT_RETENTION=1h0m0s: must be at least 24h"},
		{"retention not a duration", testVars("WEBHOOK_EVENT_RETENTION", "a month"), "WEBHOOK_EVENT_RETENTION"},
		{"interval too short", testVars("WEBHOOK_PROCESS_INTERVAL", "100ms"), "WEBHOOK_PROCESS_INTERVAL=100ms: must be at least 1s"},
		{"example verify token in prod", prodVars("FACEBOOK_WEBHOOK_VERIFY_TOKEN", "my_facebook_verify_token_change_me"),
			"FACEBOOK_WEBHOOK_VERIFY_TOKEN: still the example value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.FromMap(tt.vars, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
	// The example value is fine outside prod.
	mustLoad(t, testVars("FACEBOOK_WEBHOOK_VERIFY_TOKEN", "my_facebook_verify_token_change_me"))
}

func TestTikTokVerifyTokenIsAcceptedButUnused(t *testing.T) {
	t.Parallel()
	logger, buf := newLogger()
	if _, err := config.FromMap(testVars("TIKTOK_WEBHOOK_VERIFY_TOKEN", "my_tiktok_verify_token_change_me"), logger); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "TIKTOK_WEBHOOK_VERIFY_TOKEN is set but unused") {
		t.Fatalf("no notice that the token does nothing: %s", buf)
	}
	if strings.Contains(buf.String(), "my_tiktok_verify_token_change_me") {
		t.Fatal("the token was logged")
	}
}
