// Package jobs runs adpilot's background work in-process with gocron:
// periodic maintenance now, and the automation dispatcher, token refresh and
// webhook processing as they arrive. Several replicas may run side by side;
// work that must happen once per instance runs only on the elected leader,
// while work that coordinates through the database (the email outbox) runs
// on every replica.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/jonboulle/clockwork"

	"adpilot/bot"
	"adpilot/config"
	"adpilot/connections"
	"adpilot/engine"
	"adpilot/mailer"
	"adpilot/models"
	"adpilot/notify"
)

// leaderLockKey is the advisory-lock key of leader election ("adpilotL").
const leaderLockKey int64 = 0x6164_7069_6c6f_744c

// Scheduler owns the gocron schedulers and the leader lock.
type Scheduler struct {
	cfg    *config.Config
	store  *models.Store
	logger *slog.Logger
	clock  clockwork.Clock
	conns  *connections.Service

	mailer     mailer.Sender      // nil: no SMTP, emails wait in the outbox
	dispatcher *notify.Dispatcher // nil: no delivery queue (tests of other jobs)
	bot        *bot.Bot           // nil: the Telegram bot is off
	engine     *engine.Engine     // nil: automations do not run here
	events     EventMatcher       // nil: engineEventMatcher (runs the matching event automations)
	pool       *automationPool
	poolCancel context.CancelFunc

	pollCancel context.CancelFunc
	pollDone   chan struct{}

	pumpCancel context.CancelFunc // the delivery pump (notify.Dispatcher.Run)
	pumpDone   chan struct{}

	lock    *models.LeaderLock
	leader  gocron.Scheduler // jobs that run on the elected replica only
	replica gocron.Scheduler // jobs safe to run on every replica at once
}

// Option adjusts a Scheduler, mostly for tests.
type Option func(*Scheduler)

// WithClock replaces the real clock, so tests can move time by hand.
func WithClock(clock clockwork.Clock) Option { return func(s *Scheduler) { s.clock = clock } }

// WithMailer sends the email outbox through m. Without it emails stay
// pending in the outbox (the operator reads them at /admin/outbox).
func WithMailer(m mailer.Sender) Option { return func(s *Scheduler) { s.mailer = m } }

// WithDispatcher runs the delivery queue on this replica.
func WithDispatcher(d *notify.Dispatcher) Option { return func(s *Scheduler) { s.dispatcher = d } }

// WithEngine runs automations on this replica.
func WithEngine(e *engine.Engine) Option { return func(s *Scheduler) { s.engine = e } }

// WithBot polls Telegram for the bot's updates (unless it is in webhook
// mode), on the one replica holding the poller lock.
func WithBot(b *bot.Bot) Option { return func(s *Scheduler) { s.bot = b } }

// New builds the scheduler and registers every job; Start runs them.
func New(cfg *config.Config, store *models.Store, conns *connections.Service, logger *slog.Logger, opts ...Option) (*Scheduler, error) {
	s := &Scheduler{cfg: cfg, store: store, conns: conns, logger: logger.With("component", "jobs"), clock: clockwork.NewRealClock()}
	for _, o := range opts {
		o(s)
	}
	s.lock = store.NewLeaderLock(leaderLockKey)

	var err error
	s.leader, err = gocron.NewScheduler(
		gocron.WithLocation(time.UTC),
		gocron.WithClock(s.clock),
		gocron.WithLogger(quietLogger{s.logger}),
		gocron.WithStopTimeout(cfg.ShutdownTimeout.Duration()),
		gocron.WithDistributedElector(elector{lock: s.lock}),
	)
	if err != nil {
		return nil, fmt.Errorf("creating scheduler: %w", err)
	}
	if _, err := s.leader.NewJob(
		gocron.DurationJob(cfg.CleanupInterval.Duration()),
		gocron.NewTask(s.cleanup),
		gocron.WithName("cleanup"),
		gocron.WithSingletonMode(gocron.LimitModeReschedule),
	); err != nil {
		return nil, fmt.Errorf("registering cleanup job: %w", err)
	}
	if _, err := s.leader.NewJob(
		gocron.DurationJob(cfg.TokenRefreshInterval.Duration()),
		gocron.NewTask(s.tokenHealth),
		gocron.WithName("token-health"),
		gocron.WithSingletonMode(gocron.LimitModeReschedule),
	); err != nil {
		return nil, fmt.Errorf("registering token job: %w", err)
	}
	if _, err := s.leader.NewJob(
		gocron.DurationJob(snapshotInterval),
		gocron.NewTask(s.refreshSnapshots),
		gocron.WithName("snapshots"),
		gocron.WithSingletonMode(gocron.LimitModeReschedule),
	); err != nil {
		return nil, fmt.Errorf("registering snapshot job: %w", err)
	}

	s.replica, err = gocron.NewScheduler(
		gocron.WithLocation(time.UTC),
		gocron.WithClock(s.clock),
		gocron.WithLogger(quietLogger{s.logger}),
		gocron.WithStopTimeout(cfg.ShutdownTimeout.Duration()),
	)
	if err != nil {
		return nil, fmt.Errorf("creating replica scheduler: %w", err)
	}
	if _, err := s.replica.NewJob(
		gocron.DurationJob(cfg.WebhookProcessInterval.Duration()),
		gocron.NewTask(s.processWebhookEvents),
		gocron.WithName("webhook-events"),
		gocron.WithSingletonMode(gocron.LimitModeReschedule),
	); err != nil {
		return nil, fmt.Errorf("registering webhook event job: %w", err)
	}
	if _, err := s.replica.NewJob(
		gocron.DurationJob(heartbeatInterval),
		gocron.NewTask(s.heartbeatJob()),
		gocron.WithName("heartbeat"),
		gocron.WithSingletonMode(gocron.LimitModeReschedule),
		gocron.WithStartAt(gocron.WithStartImmediately()),
	); err != nil {
		return nil, fmt.Errorf("registering heartbeat job: %w", err)
	}
	if s.mailer != nil {
		if _, err := s.replica.NewJob(
			gocron.DurationJob(outboxInterval),
			gocron.NewTask(s.sendOutbox),
			gocron.WithName("outbox"),
			gocron.WithSingletonMode(gocron.LimitModeReschedule),
		); err != nil {
			return nil, fmt.Errorf("registering outbox job: %w", err)
		}
	}
	if s.engine != nil {
		if _, err := s.replica.NewJob(
			gocron.DurationJob(cfg.AutomationCheckInterval.Duration()),
			gocron.NewTask(s.tickAutomations),
			gocron.WithName("automations"),
			gocron.WithSingletonMode(gocron.LimitModeReschedule),
		); err != nil {
			return nil, fmt.Errorf("registering automation job: %w", err)
		}
	}
	if s.dispatcher != nil {
		if _, err := s.replica.NewJob(
			gocron.DurationJob(deliveryInterval),
			gocron.NewTask(s.runDeliveries),
			gocron.WithName("deliveries"),
			gocron.WithSingletonMode(gocron.LimitModeReschedule),
		); err != nil {
			return nil, fmt.Errorf("registering delivery job: %w", err)
		}
	}
	return s, nil
}

// Start begins running jobs; it does not block.
func (s *Scheduler) Start() {
	if s.engine != nil {
		ctx, cancel := context.WithCancel(context.Background())
		s.poolCancel = cancel
		s.startAutomationPool(ctx)
	}
	if s.dispatcher != nil {
		// Deliveries go out as soon as they are due, as many at once as
		// automations run; the gocron "deliveries" job stays as a fallback poll.
		ctx, cancel := context.WithCancel(context.Background())
		s.pumpCancel, s.pumpDone = cancel, make(chan struct{})
		go func() {
			defer close(s.pumpDone)
			s.dispatcher.Run(ctx, max(s.cfg.AutomationWorkers, deliveryWorkers), deliveryInterval)
		}()
	}
	s.leader.Start()
	s.replica.Start()
	if s.bot != nil && !s.bot.WebhookMode() {
		ctx, cancel := context.WithCancel(context.Background())
		s.pollCancel, s.pollDone = cancel, make(chan struct{})
		go func() {
			defer close(s.pollDone)
			s.runTelegramPoller(ctx)
		}()
	}
}

// Shutdown stops both schedulers together, waits for their running jobs (up
// to ctx's deadline) and gives up leadership so another replica takes over
// at once.
func (s *Scheduler) Shutdown(ctx context.Context) error {
	// The poller first: it holds a long poll open and a lock.
	if s.pollCancel != nil {
		s.pollCancel()
		select {
		case <-s.pollDone:
		case <-ctx.Done():
		}
	}
	var leaderErr, replicaErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		replicaErr = s.replica.ShutdownWithContext(ctx)
	}()
	leaderErr = s.leader.ShutdownWithContext(ctx)
	<-done
	if s.pumpCancel != nil {
		// No new claims; attempts in flight finish (within ctx).
		s.pumpCancel()
		select {
		case <-s.pumpDone:
		case <-ctx.Done():
		}
	}
	if s.pool != nil {
		// No tick runs any more: close the queue and let running runs end
		// (within ctx; a cut-off run's lease expires and another replica
		// takes it up).
		s.pool.close()
		finished := make(chan struct{})
		go func() { s.pool.busy.Wait(); close(finished) }()
		select {
		case <-finished:
		case <-ctx.Done():
		}
		s.poolCancel()
	}
	return errors.Join(leaderErr, replicaErr, s.lock.Release(ctx))
}

// errNotLeader tells gocron to skip a leader-only run on this replica.
var errNotLeader = errors.New("another replica is the leader")

// elector is gocron's Elector backed by a PostgreSQL advisory lock.
type elector struct{ lock *models.LeaderLock }

func (e elector) IsLeader(ctx context.Context) error {
	ok, err := e.lock.TryAcquire(ctx)
	if err != nil {
		return fmt.Errorf("leader election: %w", err)
	}
	if !ok {
		return errNotLeader
	}
	return nil
}

// quietLogger demotes gocron's routine Info lines (scheduler created,
// started, stopped) to Debug; warnings and errors pass through.
type quietLogger struct{ *slog.Logger }

func (l quietLogger) Info(msg string, args ...any) { l.Logger.Debug(msg, args...) }
