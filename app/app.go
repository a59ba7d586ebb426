// Package app wires adpilot together: the HTTP server, the handlers and the
// background jobs, with an ordered shutdown. main and the test harness both
// build the server through it, so tests run exactly what production runs.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"adpilot/bot"
	"adpilot/config"
	"adpilot/connections"
	"adpilot/engine"
	"adpilot/handlers"
	"adpilot/jobs"
	"adpilot/mailer"
	"adpilot/models"
	"adpilot/notify"
	"adpilot/platforms"
	"adpilot/vault"
)

// App is one running adpilot server.
type App struct {
	cfg       *config.Config
	store     *models.Store
	logger    *slog.Logger
	echo      *echo.Echo
	handler   *handlers.Handler
	scheduler *jobs.Scheduler
	bot       *bot.Bot // nil when the bot is off

	dispatcher *notify.Dispatcher
}

// Dispatcher is the delivery queue, for tests that drive it by hand.
func (a *App) Dispatcher() *notify.Dispatcher { return a.dispatcher }

// New builds the server on an open, migrated store.
func New(cfg *config.Config, store *models.Store, logger *slog.Logger, version string, opts ...jobs.Option) (*App, error) {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Server.ReadHeaderTimeout = 10 * time.Second
	e.Server.ReadTimeout = 30 * time.Second
	e.Server.WriteTimeout = 60 * time.Second
	e.Server.IdleTimeout = 120 * time.Second
	e.Server.ErrorLog = slog.NewLogLogger(logger.Handler(), slog.LevelWarn)

	current, previous := cfg.VaultKeys()
	keyring, err := vault.New(current, previous...)
	if err != nil {
		return nil, err
	}
	store.SetVault(keyring)
	registry := platforms.NewRegistry(PlatformSettings(cfg, logger), cfg.DemoEnabled())
	conns := connections.New(store, registry, logger.With("component", "connections"), cfg.BaseURL)

	var telegram *notify.Telegram
	var tgBot *bot.Bot
	if cfg.TelegramBotToken != "" {
		if telegram, err = notify.NewTelegram(cfg.TelegramBotToken.Reveal(), cfg.TelegramAPIURL); err != nil {
			return nil, err
		}
		if tgBot, err = bot.New(cfg, store, logger.With("component", "bot"), bot.Options{Platforms: registry}); err != nil {
			return nil, err
		}
		opts = append([]jobs.Option{jobs.WithBot(tgBot)}, opts...)
	} else {
		logger.Info("no TELEGRAM_BOT_TOKEN: the Telegram bot is off")
	}
	policy := notify.URLPolicy{RequireHTTPS: cfg.IsProd(), AllowPrivate: !cfg.IsProd() || cfg.WebhookAllowPrivate}
	dispatcher := notify.NewDispatcher(store, telegram, notify.NewWebhook(policy), logger.With("component", "delivery"), cfg.BaseURL)
	deps := engine.Deps{Store: store, Platforms: registry, Connections: conns, Logger: logger.With("component", "engine"), BaseURL: cfg.BaseURL}
	if tgBot != nil {
		deps.AlertButtons = tgBot.AlertButtons
	}
	eng := engine.New(deps, dispatcher, map[string]engine.Runner{
		engine.TypeReport: engine.NewReportRunner(deps),
		engine.TypeAlert:  engine.NewAlertRunner(deps),
		engine.TypeSync:   engine.NewSyncRunner(deps),
	}, nil)
	if tgBot != nil {
		tgBot.SetExecutor(eng) // /report and Run now execute at once, as the API's run endpoint does
	}
	opts = append([]jobs.Option{jobs.WithDispatcher(dispatcher), jobs.WithEngine(eng)}, opts...)

	h := handlers.New(cfg, store, logger, version, handlers.Services{Conns: conns, Dispatcher: dispatcher, Bot: tgBot, URLPolicy: policy, Engine: eng})
	h.Register(e)

	if cfg.MailEnabled() {
		sender, err := mailer.NewSMTP(cfg.SMTPURL.Reveal(), cfg.MailFrom)
		if err != nil {
			return nil, err
		}
		// Options given by the caller (tests) come later and win.
		opts = append([]jobs.Option{jobs.WithMailer(sender)}, opts...)
		logger.Info("email goes out over SMTP", "server", sender.String(), "from", cfg.MailFrom)
	} else {
		logger.Info("no SMTP_URL: emails stay in the outbox (/admin/outbox)")
	}
	sched, err := jobs.New(cfg, store, conns, logger, opts...)
	if err != nil {
		return nil, err
	}
	return &App{cfg: cfg, store: store, logger: logger, echo: e, handler: h, scheduler: sched, bot: tgBot, dispatcher: dispatcher}, nil
}

// PlatformSettings maps the configuration onto the platform clients'.
func PlatformSettings(cfg *config.Config, logger *slog.Logger) platforms.Settings {
	return platforms.Settings{
		BaseURL:       cfg.BaseURL,
		FacebookAppID: cfg.FBAppID, FacebookAppSecret: cfg.FBAppSecret.Reveal(), FacebookScopes: cfg.FBScopes,
		GraphURL: cfg.FBGraphURL, GraphVersion: cfg.FBGraphVersion, DialogURL: cfg.FBDialogURL,
		TikTokClientKey: cfg.TikTokClientKey, TikTokClientSecret: cfg.TikTokClientSecret.Reveal(), TikTokScopes: cfg.TikTokScopes,
		TikTokAuthURL: cfg.TikTokAuthURL, TikTokAPIURL: cfg.TikTokAPIURL,
		TikTokAdsAppID: cfg.TikTokAdsAppID, TikTokAdsSecret: cfg.TikTokAdsAppSecret.Reveal(), TikTokBusinessURL: cfg.TikTokBusinessURL,
		Logger: logger.With("component", "platforms"),
	}
}

// Handler is the HTTP handler, for httptest servers.
func (a *App) Handler() http.Handler { return a.echo }

// Echo exposes the router, so tests can mount extra routes.
func (a *App) Echo() *echo.Echo { return a.echo }

// Browser is the middleware of browser routes (session, CSRF).
func (a *App) Browser() []echo.MiddlewareFunc { return a.handler.Browser() }

// Serve listens on LISTEN_ADDR, runs the jobs, and blocks until ctx is done
// or the listener fails. Then it shuts down in order: stop accepting and let
// in-flight requests finish, then stop the jobs. The caller closes the store.
func (a *App) Serve(ctx context.Context) error {
	ln, err := net.Listen("tcp", a.cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("LISTEN_ADDR=%s: %w", a.cfg.ListenAddr, err)
	}
	a.echo.Listener = ln
	a.StartJobs()

	serveErr := make(chan error, 1)
	go func() { serveErr <- a.echo.Start(a.cfg.ListenAddr) }()
	a.logger.Info("adpilot is listening", "url", a.cfg.BaseURL, "addr", ln.Addr().String(), "env", a.cfg.Env)

	var runErr error
	select {
	case <-ctx.Done():
		a.logger.Info("shutting down: finishing in-flight requests")
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			runErr = err
		}
	}
	return errors.Join(runErr, a.shutdown())
}

// shutdown stops in order: readiness turns 503 (and, with
// SHUTDOWN_DRAIN_DELAY, load balancers get time to notice), HTTP stops
// accepting and finishes in-flight requests, then the jobs stop. Each stage
// has its own SHUTDOWN_TIMEOUT budget, so a slow request cannot starve the jobs.
func (a *App) shutdown() error {
	a.handler.Drain()
	if d := a.cfg.ShutdownDrainDelay.Duration(); d > 0 {
		a.logger.Info("draining: /health/ready answers 503", "for", d)
		time.Sleep(d)
	}
	var errs []error
	httpCtx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout.Duration())
	defer cancel()
	if err := a.echo.Shutdown(httpCtx); err != nil {
		errs = append(errs, fmt.Errorf("http shutdown: %w", err))
	}
	if err := a.handler.Wait(httpCtx); err != nil {
		errs = append(errs, fmt.Errorf("waiting for request follow-ups: %w", err))
	}
	if err := a.Close(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// StartJobs runs the background jobs (Serve does it; tests may on their
// own), and in Telegram webhook mode registers the webhook.
func (a *App) StartJobs() {
	a.scheduler.Start()
	if a.bot != nil && a.bot.WebhookMode() {
		go func() {
			// Telegram may be briefly unreachable at start: retry with backoff.
			for wait := time.Second; ; wait *= 2 {
				err := a.bot.SetWebhook(context.Background())
				if err == nil {
					a.logger.Info("telegram webhook registered", "url", a.cfg.BaseURL+bot.WebhookPath)
					return
				}
				if wait > 5*time.Minute {
					a.logger.Error("telegram setWebhook keeps failing; updates will not arrive until the next start", "err", err)
					return
				}
				a.logger.Warn("telegram setWebhook failed; retrying", "err", err, "in", wait)
				time.Sleep(wait)
			}
		}()
	}
}

// Close stops the background jobs and gives up leadership. Serve calls it
// on shutdown; an App that never served (in tests) is closed with it directly.
func (a *App) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout.Duration())
	defer cancel()
	_ = a.handler.Wait(ctx) // no-op after Serve's shutdown; tests close without it
	if err := a.scheduler.Shutdown(ctx); err != nil {
		return fmt.Errorf("scheduler shutdown: %w", err)
	}
	if a.bot != nil {
		if err := a.bot.Wait(ctx); err != nil {
			return fmt.Errorf("waiting for runs started from Telegram: %w", err)
		}
	}
	return nil
}
