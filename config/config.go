// Package config reads adpilot's configuration from the environment (plus an
// optional .env file) into one struct, applies defaults and validates it.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/mail"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
	"github.com/joho/godotenv"
)

// Environment names accepted by ENV.
const (
	EnvDev  = "dev"
	EnvTest = "test"
	EnvProd = "prod"
)

// Config is every setting adpilot reads. Each field names its environment
// variable; README.md lists them all with their defaults.
type Config struct {
	Env        string `env:"ENV" envDefault:"dev"`
	BaseURL    string `env:"BASE_URL" envDefault:"http://localhost:8000"`
	ListenAddr string `env:"LISTEN_ADDR" envDefault:":8000"`
	LogLevel   string `env:"LOG_LEVEL" envDefault:"info"`
	LogFormat  string `env:"LOG_FORMAT" envDefault:"text"`
	DataDir    string `env:"DATA_DIR" envDefault:".data"`

	DatabaseURL       string   `env:"DATABASE_URL"`
	DBMaxOpenConns    int      `env:"DB_MAX_OPEN_CONNS" envDefault:"20"`
	DBMaxIdleConns    int      `env:"DB_MAX_IDLE_CONNS" envDefault:"20"`
	DBConnMaxLifetime Interval `env:"DB_CONN_MAX_LIFETIME" envDefault:"30m"`

	MasterSecretKey  Secret `env:"MASTER_SECRET_KEY"`
	OAuthStateSecret Secret `env:"OAUTH_STATE_SECRET"`
	// MasterSecretKeyPrevious is the key being rotated out: it still
	// decrypts tokens until `adpilot keys rotate` re-encrypts them.
	MasterSecretKeyPrevious Secret `env:"MASTER_SECRET_KEY_PREVIOUS"`

	// Facebook app (developers.facebook.com). Unset: the Facebook button is
	// disabled with a hint.
	FBAppID        string   `env:"FB_APP_ID"`
	FBAppSecret    Secret   `env:"FB_APP_SECRET"`
	FBScopes       []string `env:"FB_SCOPES" envSeparator:"," envDefault:"ads_read,ads_management,pages_show_list,pages_read_engagement,pages_manage_posts,leads_retrieval,business_management"`
	FBGraphURL     string   `env:"FB_GRAPH_URL" envDefault:"https://graph.facebook.com"`
	FBGraphVersion string   `env:"FB_GRAPH_VERSION" envDefault:"v24.0"`
	FBDialogURL    string   `env:"FB_DIALOG_URL" envDefault:"https://www.facebook.com"`

	// TikTok Login Kit app (developers.tiktok.com), for creator accounts.
	TikTokClientKey    string   `env:"TIKTOK_CLIENT_KEY"`
	TikTokClientSecret Secret   `env:"TIKTOK_CLIENT_SECRET"`
	TikTokScopes       []string `env:"TIKTOK_SCOPES" envSeparator:"," envDefault:"user.info.basic,user.info.stats,video.list"`
	TikTokAuthURL      string   `env:"TIKTOK_AUTH_URL" envDefault:"https://www.tiktok.com"`
	TikTokAPIURL       string   `env:"TIKTOK_API_URL" envDefault:"https://open.tiktokapis.com"`

	// TikTok for Business app (business-api.tiktok.com), for advertisers.
	TikTokAdsAppID     string `env:"TIKTOK_ADS_APP_ID"`
	TikTokAdsAppSecret Secret `env:"TIKTOK_ADS_APP_SECRET"`
	TikTokBusinessURL  string `env:"TIKTOK_BUSINESS_URL" envDefault:"https://business-api.tiktok.com"`

	// Telegram bot. Unset token: the bot is off and Telegram destinations
	// cannot be added.
	TelegramBotToken      Secret `env:"TELEGRAM_BOT_TOKEN"`
	TelegramAPIURL        string `env:"TELEGRAM_API_URL" envDefault:"https://api.telegram.org"`
	TelegramWebhookSecret Secret `env:"TELEGRAM_WEBHOOK_SECRET"`

	// Incoming platform webhooks (/api/webhooks/facebook, /api/webhooks/tiktok).
	// FacebookWebhookVerifyToken is what Facebook's subscription check
	// (hub.verify_token) must present; unset, the check always fails (403).
	// Events themselves are authenticated by their signatures (FB_APP_SECRET,
	// TIKTOK_CLIENT_SECRET), never by these tokens.
	FacebookWebhookVerifyToken Secret `env:"FACEBOOK_WEBHOOK_VERIFY_TOKEN"`
	// TikTokWebhookVerifyToken is accepted from the original configuration
	// and not used: TikTok has no verification handshake and sends no token.
	TikTokWebhookVerifyToken Secret `env:"TIKTOK_WEBHOOK_VERIFY_TOKEN"`
	// WebhookEventRetention is how long received events are kept.
	WebhookEventRetention Interval `env:"WEBHOOK_EVENT_RETENTION" envDefault:"720h"`
	// WebhookProcessInterval is how often each replica looks for received
	// events to process.
	WebhookProcessInterval Interval `env:"WEBHOOK_PROCESS_INTERVAL" envDefault:"5s"`

	// WebhookAllowPrivate lets webhook destinations point at loopback,
	// private and link-local addresses in prod (on-premises receivers).
	WebhookAllowPrivate bool `env:"WEBHOOK_ALLOW_PRIVATE" envDefault:"false"`

	// DemoPlatform offers demo ad accounts with generated metrics. Defaults
	// to on in dev, off elsewhere.
	DemoPlatform *bool `env:"DEMO_PLATFORM"`

	AutomationCheckInterval Interval `env:"AUTOMATION_CHECK_INTERVAL" envDefault:"60s"`
	// AutomationWorkers bounds the runs one replica executes at once.
	AutomationWorkers    int      `env:"AUTOMATION_WORKERS" envDefault:"8"`
	TokenRefreshInterval Interval `env:"TOKEN_REFRESH_INTERVAL" envDefault:"3600s"`
	CleanupInterval      Interval `env:"CLEANUP_INTERVAL" envDefault:"86400s"`
	RunRetention         Interval `env:"RUN_RETENTION" envDefault:"2160h"`

	ShutdownTimeout    Interval `env:"SHUTDOWN_TIMEOUT" envDefault:"25s"`
	ShutdownDrainDelay Interval `env:"SHUTDOWN_DRAIN_DELAY" envDefault:"0s"`
	TrustedProxies     []string `env:"TRUSTED_PROXIES" envSeparator:","`

	// SMTPURL is smtp://[user:password@]host[:port] (STARTTLS when offered,
	// port 587 by default) or smtps://… (implicit TLS, port 465). Empty
	// means no mail server: emails stay in the outbox.
	SMTPURL  Secret `env:"SMTP_URL"`
	MailFrom string `env:"MAIL_FROM"`

	// MetricsToken, when set, must come as "Authorization: Bearer <token>"
	// to read /metrics; unset, /metrics is open (keep it off the internet).
	MetricsToken Secret `env:"METRICS_TOKEN"`
}

// secretVars are the variables that hold secrets: they may come from NAME_FILE,
// must be strong in prod, and are generated for dev.
var secretVars = []string{"MASTER_SECRET_KEY", "OAUTH_STATE_SECRET"}

// optionalSecretVars hold secrets that may come from NAME_FILE but are
// neither required nor generated: unset, their feature is off.
var optionalSecretVars = []string{"SMTP_URL", "MASTER_SECRET_KEY_PREVIOUS", "FB_APP_SECRET", "TIKTOK_CLIENT_SECRET", "TIKTOK_ADS_APP_SECRET",
	"TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET", "FACEBOOK_WEBHOOK_VERIFY_TOKEN", "TIKTOK_WEBHOOK_VERIFY_TOKEN",
	"METRICS_TOKEN"}

// defaultDevDatabaseURL is the database `make run` creates on the local server.
const defaultDevDatabaseURL = "postgres://postgres@127.0.0.1:5432/adpilot?sslmode=disable"

// Load reads the process environment, overlaid on the .env file in the working
// directory when there is one (real environment variables win).
func Load(logger *slog.Logger) (*Config, error) {
	vars := map[string]string{}
	if fileVars, err := godotenv.Read(".env"); err == nil {
		vars = fileVars
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("reading .env: %w", err)
	}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	return FromMap(vars, logger)
}

// FromMap builds a Config from the given variables: parse, resolve secrets
// (NAME_FILE, dev generation), then validate. Every problem found is reported
// in one error, each naming its variable.
func FromMap(vars map[string]string, logger *slog.Logger) (*Config, error) {
	if logger == nil {
		logger = slog.Default()
	}
	vars = maps.Clone(vars) // NAME_FILE resolution must not write into the caller's map
	var problems []string
	if err := resolveSecretFiles(vars); err != nil {
		problems = append(problems, err.Error())
	}
	cfg := &Config{}
	unparsed := map[string]bool{}
	if err := env.ParseWithOptions(cfg, env.Options{Environment: vars}); err != nil {
		for _, p := range describeParseError(err) {
			problems = append(problems, p.message)
			unparsed[p.variable] = true
		}
	}
	problems = append(problems, cfg.validate(unparsed)...)
	if cfg.TikTokWebhookVerifyToken != "" {
		logger.Info("TIKTOK_WEBHOOK_VERIFY_TOKEN is set but unused: TikTok webhooks have no verify-token handshake; " +
			"each event is authenticated by its TikTok-Signature (TIKTOK_CLIENT_SECRET)")
	}
	switch {
	case cfg.IsProd():
		// Checking prod secrets has no side effects: always report them, so
		// one run names everything an operator must fix.
		if err := cfg.ensureSecrets(logger); err != nil {
			problems = append(problems, err.Error())
		}
	case len(problems) == 0:
		// Elsewhere missing secrets get generated, which may write a file:
		// only for an otherwise valid configuration.
		if err := cfg.ensureSecrets(logger); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		return nil, &Error{Problems: problems}
	}
	return cfg, nil
}

// Error lists every configuration problem, so an operator fixes them in one go.
type Error struct{ Problems []string }

func (e *Error) Error() string {
	return "invalid configuration:\n  - " + strings.Join(e.Problems, "\n  - ")
}

// IsProd reports whether the server runs in production mode.
func (c *Config) IsProd() bool { return c.Env == EnvProd }

// DemoEnabled reports whether the demo platform is offered: DEMO_PLATFORM
// when set, otherwise only in dev.
func (c *Config) DemoEnabled() bool {
	if c.DemoPlatform != nil {
		return *c.DemoPlatform
	}
	return c.IsDev()
}

// IsDev reports whether the server runs in development mode.
func (c *Config) IsDev() bool { return c.Env == EnvDev }

// MailEnabled reports whether outgoing mail is sent over SMTP (SMTP_URL and
// MAIL_FROM set); otherwise it waits in the outbox.
func (c *Config) MailEnabled() bool { return c.SMTPURL != "" && c.MailFrom != "" }

// SecureCookies reports whether cookies must carry the Secure flag.
func (c *Config) SecureCookies() bool { return strings.HasPrefix(c.BaseURL, "https://") }

// validate checks every value, except those of variables that failed to parse
// (already reported).
func (c *Config) validate(unparsed map[string]bool) []string {
	var p []string
	oneOf := func(name, value string, allowed ...string) {
		if unparsed[name] {
			return
		}
		for _, a := range allowed {
			if value == a {
				return
			}
		}
		p = append(p, fmt.Sprintf("%s=%q: must be one of %s", name, value, strings.Join(allowed, ", ")))
	}
	oneOf("ENV", c.Env, EnvDev, EnvTest, EnvProd)
	oneOf("LOG_LEVEL", strings.ToLower(c.LogLevel), "debug", "info", "warn", "error")
	oneOf("LOG_FORMAT", c.LogFormat, "text", "json")

	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p = append(p, fmt.Sprintf("BASE_URL=%q: must be an absolute http(s) URL such as https://adpilot.example.com", c.BaseURL))
	} else {
		c.BaseURL = strings.TrimRight(c.BaseURL, "/")
		if c.IsProd() && u.Scheme != "https" {
			p = append(p, "BASE_URL: must use https in prod (cookies and OAuth callbacks need it)")
		}
	}
	if _, port, err := net.SplitHostPort(c.ListenAddr); err != nil || port == "" {
		p = append(p, fmt.Sprintf("LISTEN_ADDR=%q: must be host:port or :port, such as :8000", c.ListenAddr))
	}
	switch {
	case c.DatabaseURL == "" && c.IsProd():
		p = append(p, "DATABASE_URL: required in prod")
	case c.DatabaseURL == "":
		c.DatabaseURL = defaultDevDatabaseURL
	default:
		if why := databaseURLProblem(c.DatabaseURL); why != "" {
			// The value may hold a password: describe it, never print it.
			p = append(p, "DATABASE_URL: "+why+" (expected postgres://user:password@host:5432/dbname?sslmode=disable)")
		}
	}
	if c.DBMaxOpenConns < 1 && !unparsed["DB_MAX_OPEN_CONNS"] {
		p = append(p, "DB_MAX_OPEN_CONNS: must be at least 1")
	}
	if (c.AutomationWorkers < 1 || c.AutomationWorkers > 256) && !unparsed["AUTOMATION_WORKERS"] {
		p = append(p, "AUTOMATION_WORKERS: must be from 1 to 256")
	}
	if c.DBMaxIdleConns < 0 && !unparsed["DB_MAX_IDLE_CONNS"] {
		p = append(p, "DB_MAX_IDLE_CONNS: must be 0 or more")
	}
	// More idle than open connections is harmless: database/sql caps idle at open.
	minimum := func(name string, v Interval, min time.Duration) {
		if unparsed[name] {
			return
		}
		if v.Duration() < min {
			p = append(p, fmt.Sprintf("%s=%s: must be at least %s", name, v, min))
		}
	}
	minimum("AUTOMATION_CHECK_INTERVAL", c.AutomationCheckInterval, time.Second)
	minimum("TOKEN_REFRESH_INTERVAL", c.TokenRefreshInterval, time.Minute)
	minimum("CLEANUP_INTERVAL", c.CleanupInterval, time.Minute)
	minimum("RUN_RETENTION", c.RunRetention, 24*time.Hour)
	minimum("WEBHOOK_EVENT_RETENTION", c.WebhookEventRetention, 24*time.Hour)
	minimum("WEBHOOK_PROCESS_INTERVAL", c.WebhookProcessInterval, time.Second)
	if v := strings.ToLower(c.FacebookWebhookVerifyToken.Reveal()); c.IsProd() && (strings.Contains(v, "change_me") || strings.Contains(v, "changeme")) {
		p = append(p, "FACEBOOK_WEBHOOK_VERIFY_TOKEN: still the example value; choose your own (`adpilot keygen` makes one)")
	}
	minimum("DB_CONN_MAX_LIFETIME", c.DBConnMaxLifetime, time.Second)
	minimum("SHUTDOWN_TIMEOUT", c.ShutdownTimeout, time.Second)
	p = append(p, c.validateMail()...)
	p = append(p, c.validatePlatforms(unparsed)...)
	for _, cidr := range c.TrustedProxies {
		if _, _, err := net.ParseCIDR(strings.TrimSpace(cidr)); err != nil {
			p = append(p, fmt.Sprintf("TRUSTED_PROXIES: %q is not a CIDR range such as 10.0.0.0/8", cidr))
		}
	}
	return p
}

// validateMail checks SMTP_URL and MAIL_FROM. SMTP_URL may hold a password,
// so its problems describe it without quoting it.
func (c *Config) validateMail() []string {
	var p []string
	if c.MailFrom != "" {
		if _, err := mail.ParseAddress(c.MailFrom); err != nil {
			p = append(p, fmt.Sprintf("MAIL_FROM=%q: not an email address such as adpilot@example.com or \"adpilot <adpilot@example.com>\"", c.MailFrom))
		}
	}
	if c.SMTPURL == "" {
		return p
	}
	if c.MailFrom == "" {
		p = append(p, "MAIL_FROM: required when SMTP_URL is set (the sender address, such as adpilot@example.com)")
	}
	if why := smtpURLProblem(c.SMTPURL.Reveal()); why != "" {
		p = append(p, "SMTP_URL: "+why+" (expected smtp://user:password@mail.example.com:587 or smtps://user:password@mail.example.com)")
	}
	return p
}

// smtpURLProblem says what is wrong with an SMTP URL without quoting it.
func smtpURLProblem(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "malformed URL (a password with special characters must be percent-encoded)"
	}
	if u.Scheme != "smtp" && u.Scheme != "smtps" {
		return "the scheme must be smtp or smtps"
	}
	if u.Hostname() == "" {
		return "no host"
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "the port must be a number from 1 to 65535"
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return "empty port"
	}
	if u.User != nil && u.User.Username() == "" {
		return "credentials without a user name"
	}
	if u.Path != "" && u.Path != "/" {
		return "unexpected path after the host"
	}
	return ""
}

// databaseURLProblem checks a PostgreSQL URL or key=value connection string
// as lib/pq reads them, and says what is wrong without quoting it.
func databaseURLProblem(raw string) string {
	if strings.HasPrefix(raw, "postgres://") || strings.HasPrefix(raw, "postgresql://") {
		_, err := url.Parse(raw)
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err // url.Error repeats the whole URL, password included
			}
			return "malformed URL: " + strings.ReplaceAll(err.Error(), raw, "")
		}
		return ""
	}
	if strings.Contains(raw, "=") {
		return "" // key=value form (host=... dbname=...)
	}
	return "not a postgres:// URL nor a key=value connection string"
}

// parseProblem is one variable the env library could not parse.
type parseProblem struct{ variable, message string }

// describeParseError rewrites the env library's errors, which name Go struct
// fields, so that each names the environment variable instead.
func describeParseError(err error) []parseProblem {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return []parseProblem{{message: err.Error()}}
	}
	out := make([]parseProblem, 0, len(agg.Errors))
	for _, e := range agg.Errors {
		var pe env.ParseError
		if errors.As(e, &pe) {
			name := envName(pe.Name)
			out = append(out, parseProblem{name, fmt.Sprintf("%s: %v", name, pe.Err)})
			continue
		}
		out = append(out, parseProblem{message: e.Error()})
	}
	return out
}

func envName(field string) string {
	if f, ok := reflect.TypeOf(Config{}).FieldByName(field); ok {
		name, _, _ := strings.Cut(f.Tag.Get("env"), ",")
		return name
	}
	return field
}
