package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"adpilot/metrics"
	"adpilot/models"
	"adpilot/platforms"
	"adpilot/webhooks"
)

// The webhook job runs on every replica: claims in the database keep two
// replicas from processing the same event at once.
const (
	webhookBatch       = 50              // events claimed per round
	webhookRounds      = 20              // rounds per run while a backlog lasts
	webhookWorkers     = 4               // events processed at once per replica
	webhookLease       = 5 * time.Minute // how long a claim keeps other replicas off
	maxWebhookAttempts = 10              // then the event fails, error kept (about 3 h of retries)
	maxWebhookRetryIn  = 6 * time.Hour   // the longest wait a platform's Retry-After may ask
)

// EventInput is a processed event as an event automation receives it, for
// one tenant.
type EventInput struct {
	EventID      string
	Name         string // facebook.leadgen, facebook.feed, tiktok.post.publish.failed, …
	Platform     string
	ConnectionID string // the tenant's connection the event matched through
	ObjectID     string // the Page id, Facebook user id or TikTok open_id
	PageID       string // leadgen: the Page, form and ad of the lead
	FormID       string
	AdID         string
	OccurredAt   time.Time // zero: the platform gave no time
	ReceivedAt   time.Time
	// Payload is the event as the platform sent it (one change of a batch).
	Payload json.RawMessage
	// Data is what processing fetched: the lead (platforms.Lead as JSON)
	// for facebook.leadgen, the reason for tiktok.authorization.removed;
	// nil for events that need nothing fetched.
	Data json.RawMessage
}

// Facts are what an event automation's filters test.
func (e EventInput) Facts() webhooks.EventFacts {
	return webhooks.EventFacts{Name: e.Name, ConnectionID: e.ConnectionID, PageID: e.PageID, FormID: e.FormID, AdID: e.AdID}
}

// EventMatch is what one event set off for one tenant.
type EventMatch struct {
	AutomationIDs []string // the event automations it matched
	RunIDs        []string // the runs queued for them
}

// EventMatcher hands a processed event to the tenant's event automations:
// alert automations with "trigger": "event" naming eventName, whose filters
// (page, form, ad, connection) match. It must be idempotent per (event,
// automation): an event whose processing failed later is handed over again
// on its retry.
type EventMatcher interface {
	MatchEventAutomations(ctx context.Context, tenantID, eventName string, ev EventInput) (EventMatch, error)
}

// WithEventMatcher hands processed events to m instead of the built-in
// matcher (which runs the matching automations through the engine, or
// only finds them when this replica runs no engine).
func WithEventMatcher(m EventMatcher) Option { return func(s *Scheduler) { s.events = m } }

// StoreEventMatcher finds the event automations an event matches
// (type alert, active, "trigger": "event", the event's name, passing
// filters, and — when the automation names connections — through one of
// them). It queues no run; engineEventMatcher runs them.
type StoreEventMatcher struct{ Store *models.Store }

// MatchEventAutomations implements EventMatcher.
func (m StoreEventMatcher) MatchEventAutomations(ctx context.Context, tenantID, eventName string, ev EventInput) (EventMatch, error) {
	autos, err := m.Store.EventAutomations(ctx, tenantID, eventName)
	if err != nil {
		return EventMatch{}, err
	}
	out := EventMatch{}
	for _, a := range autos {
		cfg, ok := webhooks.ParseEventAutomationConfig(a.AutomationConfig)
		if !ok || !cfg.Matches(ev.Facts()) {
			continue
		}
		conns, err := m.Store.AutomationConnectionIDs(ctx, tenantID, a.ID)
		if err != nil {
			return EventMatch{}, err
		}
		if len(conns) > 0 && !contains(conns, ev.ConnectionID) {
			continue
		}
		out.AutomationIDs = append(out.AutomationIDs, a.ID)
	}
	return out, nil
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

func (s *Scheduler) eventMatcher() EventMatcher {
	if s.events != nil {
		return s.events
	}
	if s.engine != nil {
		return engineEventMatcher{StoreEventMatcher: StoreEventMatcher{Store: s.store}, engine: s.engine}
	}
	return StoreEventMatcher{Store: s.store}
}

// processWebhookEvents claims received events and processes them, a few at
// a time, round after round while a backlog lasts.
func (s *Scheduler) processWebhookEvents(ctx context.Context) error {
	for range webhookRounds {
		evs, err := s.store.ClaimWebhookEvents(ctx, webhookBatch, webhookLease)
		if err != nil {
			if ctx.Err() == nil {
				s.logger.Error("webhook events: claiming", "err", err)
			}
			return err
		}
		sem := make(chan struct{}, webhookWorkers)
		var wg sync.WaitGroup
		for _, ev := range evs {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				s.processWebhookEvent(ctx, ev)
			}()
		}
		wg.Wait()
		if len(evs) < webhookBatch || ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

// permanentError is a failure retrying cannot fix (the tenant's match fails
// at once; other tenants' matches go on).
type permanentError struct{ error }

func permanent(err error) error { return permanentError{err} }

// processWebhookEvent finds the tenants an event concerns, handles it for
// each, and records the outcome: processed; unmatched (no tenant: kept,
// never retried); retried with backoff after a transient failure; failed
// after the last try or when every remaining failure is permanent.
func (s *Scheduler) processWebhookEvent(ctx context.Context, ev models.WebhookEvent) {
	log := s.logger.With("webhook_event", ev.ID, "type", ev.Type, "attempt", ev.Attempts)
	matches, err := s.matchWebhookEvent(ctx, ev)
	if err == nil && len(matches) == 0 {
		s.recordWebhook(ctx, log, func(c context.Context) error { return s.store.MarkWebhookEventUnmatched(c, ev) })
		metrics.ObserveWebhookEvents(ev.Platform, models.WebhookUnmatched, 1)
		log.Info("webhook event matches no connection; kept as unmatched", "object", ev.ObjectID)
		return
	}
	var retry error
	var failed []string
	if err != nil {
		retry = err
	}
	for _, m := range matches {
		switch m.Status {
		case models.WebhookProcessed:
			continue
		case models.WebhookFailed:
			failed = append(failed, m.Error)
			continue
		}
		herr := s.handleWebhookMatch(ctx, ev, m)
		if ctx.Err() != nil {
			log.Info("webhook event processing interrupted by shutdown; its lease will run out and it is taken up again")
			return
		}
		var pe permanentError
		switch {
		case herr == nil:
		case errors.As(herr, &pe):
			failed = append(failed, herr.Error())
			s.recordWebhook(ctx, log, func(c context.Context) error {
				return s.store.MarkWebhookMatchFailed(c, m.TenantID, ev.ID, m.ConnectionID, herr.Error())
			})
			log.Warn("webhook event failed for a tenant", "tenant", m.TenantID, "connection", m.ConnectionID, "err", herr)
		default:
			retry = errors.Join(retry, herr)
		}
	}
	switch {
	case retry != nil && ev.Attempts < maxWebhookAttempts:
		wait := webhookRetryDelay(ev.Attempts, retry)
		s.recordWebhook(ctx, log, func(c context.Context) error { return s.store.RetryWebhookEvent(c, ev, retry.Error(), wait) })
		metrics.ObserveWebhookEvents(ev.Platform, "retry", 1)
		log.Warn("webhook event processing failed; will retry", "err", retry, "retry_in", wait.Round(time.Second))
	case retry != nil:
		s.recordWebhook(ctx, log, func(c context.Context) error { return s.store.FailWebhookEvent(c, ev, retry.Error()) })
		metrics.ObserveWebhookEvents(ev.Platform, models.WebhookFailed, 1)
		log.Error("webhook event failed after its last try", "err", retry)
	case len(failed) > 0:
		msg := fmt.Sprintf("failed for %d of %d tenant connection(s): %s", len(failed), len(matches), strings.Join(failed, "; "))
		s.recordWebhook(ctx, log, func(c context.Context) error { return s.store.FailWebhookEvent(c, ev, msg) })
		metrics.ObserveWebhookEvents(ev.Platform, models.WebhookFailed, 1)
	default:
		s.recordWebhook(ctx, log, func(c context.Context) error { return s.store.MarkWebhookEventProcessed(c, ev) })
		metrics.ObserveWebhookEvents(ev.Platform, models.WebhookProcessed, 1)
		log.Debug("webhook event processed", "tenants", len(matches))
	}
}

// recordWebhook stores an outcome even when shutdown cancelled ctx meanwhile.
func (s *Scheduler) recordWebhook(ctx context.Context, log *slog.Logger, record func(context.Context) error) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := record(rctx); err != nil {
		log.Error("webhook event: recording the outcome failed; it is processed again when its lease ends", "err", err)
	}
}

// webhookRetryDelay is the outbox's backoff (30 s doubled per attempt,
// capped at an hour, jittered), or longer when the platform asked for it.
func webhookRetryDelay(attempts int, err error) time.Duration {
	wait := retryDelay(max(attempts-1, 0))
	var pe *platforms.Error
	if errors.As(err, &pe) && pe.RetryAfter > wait {
		wait = min(pe.RetryAfter, maxWebhookRetryIn)
	}
	return wait
}

// matchWebhookEvent records which tenants' connections the event concerns
// and returns every match (those of earlier attempts included: a
// connection removed since keeps its match).
func (s *Scheduler) matchWebhookEvent(ctx context.Context, ev models.WebhookEvent) ([]models.WebhookEventMatch, error) {
	var conns []models.Connection
	var err error
	switch ev.Platform {
	case webhooks.Facebook:
		switch facebookObject(ev.Payload) {
		case "page":
			conns, err = s.store.WebhookConnections(ctx, platforms.Facebook, platforms.KindPage, ev.ObjectID, false)
		case "user", "permissions":
			conns, err = s.store.WebhookConnections(ctx, platforms.Facebook, "", ev.ObjectID, true)
		case "ad_account":
			conns, err = s.store.WebhookConnections(ctx, platforms.Facebook, platforms.KindAdAccount, "act_"+strings.TrimPrefix(ev.ObjectID, "act_"), false)
		}
	case webhooks.TikTok:
		// Login Kit events are about a creator's open_id.
		conns, err = s.store.WebhookConnections(ctx, platforms.TikTok, "", ev.ObjectID, true)
	}
	if err != nil {
		return nil, err
	}
	if err := s.store.AddWebhookEventMatches(ctx, ev.ID, conns); err != nil {
		return nil, err
	}
	return s.store.WebhookEventMatches(ctx, ev.ID)
}

// handleWebhookMatch processes the event for one tenant: what its type
// needs (fetch the lead, invalidate the connection), then the tenant's
// event automations, then the match is marked processed.
func (s *Scheduler) handleWebhookMatch(ctx context.Context, ev models.WebhookEvent, m models.WebhookEventMatch) error {
	in := EventInput{EventID: ev.ID, Name: ev.Type, Platform: ev.Platform, ConnectionID: m.ConnectionID, ObjectID: ev.ObjectID,
		ReceivedAt: ev.ReceivedAt, Payload: ev.Payload}
	if ev.OccurredAt != nil {
		in.OccurredAt = *ev.OccurredAt
	}
	if fetched(m.Data) {
		in.Data = m.Data
	}
	switch {
	case ev.Type == "facebook.leadgen":
		lead, ok := webhooks.LeadgenOf(ev.Payload)
		if !ok {
			return permanent(errors.New("the leadgen change has no leadgen_id"))
		}
		in.PageID, in.FormID, in.AdID = lead.PageID, lead.FormID, lead.AdID
		if in.Data == nil {
			data, err := s.fetchLead(ctx, m, lead.LeadgenID)
			if err != nil {
				return err
			}
			if err := s.store.SaveWebhookMatchData(ctx, m.TenantID, ev.ID, m.ConnectionID, data); err != nil {
				return err
			}
			in.Data, _ = json.Marshal(data)
		}
		if in.FormID == "" || in.AdID == "" {
			var l platforms.Lead
			if json.Unmarshal(in.Data, &l) == nil {
				in.FormID, in.AdID = firstOf(in.FormID, l.FormID), firstOf(in.AdID, l.AdID)
			}
		}
	case ev.Type == "tiktok.authorization.removed":
		if in.Data == nil {
			data, err := s.authorizationRemoved(ctx, ev, m)
			if err != nil {
				return err
			}
			if err := s.store.SaveWebhookMatchData(ctx, m.TenantID, ev.ID, m.ConnectionID, data); err != nil {
				return err
			}
			in.Data, _ = json.Marshal(data)
		}
	case ev.Platform == webhooks.Facebook && facebookObject(ev.Payload) == "page":
		in.PageID = ev.ObjectID
	}
	set, err := s.eventMatcher().MatchEventAutomations(ctx, m.TenantID, ev.Type, in)
	if err != nil {
		return err
	}
	if len(set.AutomationIDs) > 0 && len(set.RunIDs) == 0 {
		s.logger.Info("webhook event matches event automations; no run queued (the engine does not run event triggers yet)",
			"webhook_event", ev.ID, "tenant", m.TenantID, "automations", strings.Join(set.AutomationIDs, ","))
	}
	return s.store.MarkWebhookMatchProcessed(ctx, m.TenantID, ev.ID, m.ConnectionID, set.AutomationIDs, set.RunIDs)
}

// fetchLead reads the lead with the token of the tenant's Page connection.
// A refused token invalidates the connection (admins told once) and fails
// this tenant's match; throttling and outages are retried.
func (s *Scheduler) fetchLead(ctx context.Context, m models.WebhookEventMatch, leadID string) (platforms.Lead, error) {
	c, creds, err := s.store.ConnectionCredentials(ctx, m.TenantID, m.ConnectionID)
	if errors.Is(err, models.ErrNotFound) {
		return platforms.Lead{}, permanent(errors.New("the Page connection was removed before the lead could be fetched"))
	}
	if err != nil {
		return platforms.Lead{}, err
	}
	lead, err := s.conns.Platforms().Facebook.GetLead(ctx, platforms.Credentials{AccessToken: creds.AccessToken, AccountRef: c.AccountRef, Kind: c.Kind}, leadID)
	switch kind := platforms.KindOf(err); {
	case err == nil:
		return lead, nil
	case kind == platforms.KindTransient || kind == platforms.KindRateLimited || !isPlatformError(err):
		return lead, err
	case kind == platforms.KindTokenInvalid:
		if rerr := s.conns.ReportCallError(ctx, c, err); rerr != nil {
			return lead, rerr
		}
		return lead, permanent(fmt.Errorf("the Page token was refused (the connection is now marked invalid; reconnect it): %w", err))
	default:
		return lead, permanent(fmt.Errorf("fetching lead %s: %w", leadID, err))
	}
}

func isPlatformError(err error) bool {
	var pe *platforms.Error
	return errors.As(err, &pe)
}

// removedAuthorization is stored for a tiktok.authorization.removed match.
type removedAuthorization struct {
	Reason     string `json:"reason"`
	ReasonText string `json:"reason_text"`
}

// authorizationRemoved marks the tenant's TikTok connection invalid with
// TikTok's reason; its admins are emailed (once per invalidation).
func (s *Scheduler) authorizationRemoved(ctx context.Context, ev models.WebhookEvent, m models.WebhookEventMatch) (removedAuthorization, error) {
	content := webhooks.TikTokContentOf(ev.Payload)
	out := removedAuthorization{Reason: content.Reason, ReasonText: webhooks.AuthorizationRemovedReason(content.Reason)}
	c, err := s.store.GetConnection(ctx, m.TenantID, m.ConnectionID)
	if errors.Is(err, models.ErrNotFound) {
		return out, nil // already disconnected: nothing left to invalidate
	}
	if err != nil {
		return out, err
	}
	return out, s.conns.Invalidate(ctx, c, "TikTok revoked access: "+out.ReasonText)
}

// facebookObject is the webhook object (page, user, …) of a stored
// Facebook event.
func facebookObject(payload json.RawMessage) string {
	var p struct {
		Object string `json:"object"`
	}
	_ = json.Unmarshal(payload, &p) // stored by the parser: always an object
	return p.Object
}

// fetched reports whether a match's data holds something.
func fetched(data json.RawMessage) bool {
	return len(data) > 0 && string(data) != "null"
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
