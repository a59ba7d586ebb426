// Package handlers is adpilot's HTTP layer: one Handler holding every
// dependency, one route table (routes.go), middleware, and a file per area.
package handlers

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"adpilot/bot"
	"adpilot/config"
	"adpilot/connections"
	"adpilot/engine"
	"adpilot/models"
	"adpilot/notify"
	"adpilot/platforms"
)

// Handler holds the dependencies of every HTTP handler. It keeps no
// per-request state: everything request-scoped lives in echo.Context.
type Handler struct {
	cfg      *config.Config
	store    *models.Store
	logger   *slog.Logger
	sessions sessions.Store
	jwtKey   []byte

	platforms  *platforms.Registry
	conns      *connections.Service
	dispatcher *notify.Dispatcher
	bot        *bot.Bot // nil when TELEGRAM_BOT_TOKEN is unset
	urlPolicy  notify.URLPolicy
	engine     *engine.Engine

	passwordCost int           // bcrypt work factor (see passwordCost)
	dummyHash    func() string // for timing-equal refusals
	version      string
	startedAt    time.Time

	browser []echo.MiddlewareFunc // session and CSRF, for routes browsers use

	draining atomic.Bool    // set at shutdown so load balancers stop sending traffic
	inFlight sync.WaitGroup // work handlers left running after their answer
}

// Services are the domain services handlers call.
type Services struct {
	Conns      *connections.Service
	Dispatcher *notify.Dispatcher
	Bot        *bot.Bot
	URLPolicy  notify.URLPolicy // what webhook destinations may point at
	Engine     *engine.Engine
}

// New builds the Handler.
func New(cfg *config.Config, store *models.Store, logger *slog.Logger, version string, svc Services) *Handler {
	return &Handler{
		cfg:        cfg,
		store:      store,
		logger:     logger,
		sessions:   newSessionStore(cfg),
		jwtKey:     cfg.DeriveKey(config.KeyJWT, 32),
		platforms:  svc.Conns.Platforms(),
		conns:      svc.Conns,
		dispatcher: svc.Dispatcher,
		bot:        svc.Bot,
		urlPolicy:  svc.URLPolicy,
		engine:     svc.Engine,

		passwordCost: passwordCost(cfg.Env),
		dummyHash:    newDummyHash(passwordCost(cfg.Env)),
		version:      version,
		startedAt:    time.Now(),
	}
}

// Drain makes /health/ready answer 503 from now on, ahead of shutdown.
func (h *Handler) Drain() { h.draining.Store(true) }

// Browser returns the middleware browser routes get (session, CSRF), for
// routes mounted outside routes.go such as the tests' own.
func (h *Handler) Browser() []echo.MiddlewareFunc { return h.browser }
