package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMailDisabledByDefault(t *testing.T) {
	t.Parallel()
	cfg := mustLoad(t, testVars())
	if cfg.MailEnabled() {
		t.Error("MailEnabled() = true without SMTP_URL")
	}
	// MAIL_FROM alone is fine: mail then waits in the outbox.
	cfg = mustLoad(t, testVars("MAIL_FROM", "adpilot@example.com"))
	if cfg.MailEnabled() {
		t.Error("MailEnabled() = true with MAIL_FROM but no SMTP_URL")
	}
}

func TestMailValidSettings(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ url, from string }{
		{"smtp://mail.example.com", "adpilot@example.com"},
		{"smtp://user:pa%24%24word@mail.example.com:587", "adpilot <adpilot@example.com>"},
		{"smtps://user:secret@mail.example.com", `"Ad Pilot" <noreply@example.com>`},
		{"smtps://user:secret@mail.example.com:465/", "noreply@example.com"},
		{"smtp://127.0.0.1:1025", "dev@localhost"},
		{"smtp://[::1]:2525", "dev@localhost"},
	} {
		cfg := mustLoad(t, testVars("SMTP_URL", tt.url, "MAIL_FROM", tt.from))
		if !cfg.MailEnabled() {
			t.Errorf("SMTP_URL=%s: MailEnabled() = false", tt.url)
		}
		if cfg.SMTPURL.Reveal() != tt.url || cfg.MailFrom != tt.from {
			t.Errorf("SMTPURL, MailFrom = %q, %q; want %q, %q", cfg.SMTPURL.Reveal(), cfg.MailFrom, tt.url, tt.from)
		}
	}
}

func TestMailInvalidSettings(t *testing.T) {
	t.Parallel()
	const password = "hunter2-s3cret"
	tests := []struct {
		name string
		vars map[string]string
		want []string
	}{
		{"SMTP_URL without MAIL_FROM", testVars("SMTP_URL", "smtp://u:"+password+"@mail.example.com"), []string{"MAIL_FROM"}},
		{"bad MAIL_FROM", testVars("SMTP_URL", "smtp://mail.example.com", "MAIL_FROM", "not an address"), []string{"MAIL_FROM"}},
		{"bad MAIL_FROM without SMTP", testVars("MAIL_FROM", "adpilot@"), []string{"MAIL_FROM"}},
		{"wrong scheme", testVars("SMTP_URL", "http://u:"+password+"@mail.example.com", "MAIL_FROM", "a@example.com"), []string{"SMTP_URL", "scheme"}},
		{"no scheme", testVars("SMTP_URL", "mail.example.com:587", "MAIL_FROM", "a@example.com"), []string{"SMTP_URL"}},
		{"no host", testVars("SMTP_URL", "smtp://u:"+password+"@:587", "MAIL_FROM", "a@example.com"), []string{"SMTP_URL", "host"}},
		{"bad port", testVars("SMTP_URL", "smtp://u:"+password+"@mail.example.com:99999", "MAIL_FROM", "a@example.com"), []string{"SMTP_URL", "port"}},
		{"malformed", testVars("SMTP_URL", "smtp://u:"+password+"@mail.example.com:x%zz", "MAIL_FROM", "a@example.com"), []string{"SMTP_URL"}},
		{"path", testVars("SMTP_URL", "smtp://u:"+password+"@mail.example.com/inbox", "MAIL_FROM", "a@example.com"), []string{"SMTP_URL"}},
		{"both wrong", testVars("SMTP_URL", "ftp://u:"+password+"@mail.example.com"), []string{"SMTP_URL", "MAIL_FROM"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := mustFail(t, tt.vars)
			requireNamed(t, e, tt.want...)
			if strings.Contains(e.Error(), password) {
				t.Errorf("the error reveals the SMTP password:\n%v", e)
			}
		})
	}
}

func TestMailProdDoesNotRequireSMTP(t *testing.T) {
	t.Parallel()
	cfg := mustLoad(t, prodVars())
	if cfg.MailEnabled() || cfg.SMTPURL != "" {
		t.Error("prod without SMTP_URL should load with mail disabled")
	}
}

func TestMailDevNeverGeneratesSMTPURL(t *testing.T) {
	t.Parallel()
	vars := devVars(t)
	cfg := mustLoad(t, vars)
	if cfg.SMTPURL != "" || cfg.MailEnabled() {
		t.Error("dev generated or required SMTP_URL")
	}
	content, err := os.ReadFile(filepath.Join(vars["DATA_DIR"], "dev-secrets.env"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(content), "SMTP_URL") {
		t.Errorf("dev-secrets.env holds SMTP_URL:\n%s", content)
	}
}

func TestMailSMTPURLFromFile(t *testing.T) {
	t.Parallel()
	const smtpURL = "smtps://mailer:file-s3cret@mail.example.com"
	path := filepath.Join(t.TempDir(), "smtp_url")
	if err := os.WriteFile(path, []byte(smtpURL+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := mustLoad(t, testVars("SMTP_URL_FILE", path, "MAIL_FROM", "adpilot@example.com"))
	if cfg.SMTPURL.Reveal() != smtpURL || !cfg.MailEnabled() {
		t.Errorf("SMTP_URL from file: MailEnabled = %v, the URL matches: %v", cfg.MailEnabled(), cfg.SMTPURL.Reveal() == smtpURL)
	}

	// The environment variable wins over the file.
	const direct = "smtp://127.0.0.1:1025"
	cfg = mustLoad(t, testVars("SMTP_URL", direct, "SMTP_URL_FILE", path, "MAIL_FROM", "adpilot@example.com"))
	if cfg.SMTPURL.Reveal() != direct {
		t.Error("SMTP_URL_FILE overrode SMTP_URL")
	}

	// A missing file is an error naming the variable.
	e := mustFail(t, testVars("SMTP_URL_FILE", filepath.Join(t.TempDir(), "missing"), "MAIL_FROM", "adpilot@example.com"))
	requireNamed(t, e, "SMTP_URL_FILE")

	// A bad URL from the file is refused without being printed.
	bad := filepath.Join(t.TempDir(), "bad")
	if err := os.WriteFile(bad, []byte("imap://mailer:file-s3cret@mail.example.com"), 0o600); err != nil {
		t.Fatal(err)
	}
	e = mustFail(t, testVars("SMTP_URL_FILE", bad, "MAIL_FROM", "adpilot@example.com"))
	requireNamed(t, e, "SMTP_URL")
	if strings.Contains(e.Error(), "file-s3cret") {
		t.Errorf("the error reveals the password:\n%v", e)
	}
}

func TestMailSMTPURLIsRedacted(t *testing.T) {
	t.Parallel()
	cfg := mustLoad(t, testVars("SMTP_URL", "smtp://u:redact-me-pw@mail.example.com", "MAIL_FROM", "a@example.com"))
	logger, buf := newLogger()
	logger.Info("config", "config", cfg)
	if strings.Contains(buf.String(), "redact-me-pw") {
		t.Errorf("the log reveals SMTP_URL:\n%s", buf.String())
	}
}
