package notify

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
	"adpilot/views/emails"
)

// maxMigrations stops a chat that keeps answering "migrated" from looping.
const maxMigrations = 3

// Lease is how long a claimed delivery is held before another worker may
// take it (a crashed worker's deliveries come back after it).
const Lease = 5 * time.Minute

// Dispatcher owns the delivery queue: it writes each delivery before trying
// it, tries it on its channel, records every attempt, schedules retries,
// and deals with destinations that are gone for good.
type Dispatcher struct {
	store    *models.Store
	telegram *Telegram // nil when TELEGRAM_BOT_TOKEN is unset
	webhook  *Webhook
	logger   *slog.Logger
	baseURL  string
	now      func() time.Time
	kick     chan struct{} // Kick → Run
}

// NewDispatcher builds the dispatcher; telegram may be nil.
func NewDispatcher(store *models.Store, telegram *Telegram, webhook *Webhook, logger *slog.Logger, baseURL string) *Dispatcher {
	return &Dispatcher{store: store, telegram: telegram, webhook: webhook, logger: logger, baseURL: baseURL, now: time.Now,
		kick: make(chan struct{}, 1)}
}

// WithClock replaces the clock (tests with a fake clock).
func (d *Dispatcher) WithClock(now func() time.Time) { d.now = now }

// Telegram returns the Telegram sender, nil when the bot is off.
func (d *Dispatcher) Telegram() *Telegram { return d.telegram }

// Enqueue writes a delivery of m to a destination; the queue sends it.
func (d *Dispatcher) Enqueue(ctx context.Context, tenantID, destinationID, runID string, m Message) (models.Delivery, error) {
	payload, err := json.Marshal(m)
	if err != nil {
		return models.Delivery{}, err
	}
	del, err := d.store.EnqueueDelivery(ctx, tenantID, destinationID, runID, m.Event, m.Title, payload, d.now())
	if err == nil {
		d.Kick()
	}
	return del, err
}

// SendNow writes a delivery of m already leased to this caller and makes
// its first attempt at once (Send test): the caller sees the outcome, and
// a failure is retried by the queue as usual. The attempt is not cut short
// when the caller goes away (a browser closing the page): a half-made send
// would be sent again.
func (d *Dispatcher) SendNow(ctx context.Context, tenantID, destinationID string, m Message) (models.Delivery, error) {
	payload, err := json.Marshal(m)
	if err != nil {
		return models.Delivery{}, err
	}
	del, err := d.store.EnqueueLeasedDelivery(ctx, tenantID, destinationID, m.Event, m.Title, payload, d.now().Add(Lease))
	if err != nil {
		return del, err
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), attemptBudget)
	defer cancel()
	return d.Attempt(actx, del)
}

// attemptBudget bounds one attempt, well inside Lease, so a lease never
// runs out under a worker that is still sending.
const attemptBudget = 90 * time.Second

// RunDue claims due deliveries and attempts them, a few at a time. It
// claims no more than its workers can finish well within the lease.
func (d *Dispatcher) RunDue(ctx context.Context, limit, workers int) (int, error) {
	workers = max(workers, 1)
	due, err := d.store.ClaimDueDeliveries(ctx, d.now(), min(limit, workers), Lease)
	if err != nil || len(due) == 0 {
		return 0, err
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, workers)
	for _, del := range due {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			// Shutdown waits for attempts in flight rather than cutting them.
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), attemptBudget)
			defer cancel()
			if _, err := d.Attempt(actx, del); err != nil {
				d.logger.Error("delivery: recording the attempt failed; it will be retried after its lease", "delivery", del.ID, "err", err)
			}
		}()
	}
	wg.Wait()
	return len(due), nil
}

// Attempt tries a claimed delivery once and records what happened.
func (d *Dispatcher) Attempt(ctx context.Context, del models.Delivery) (models.Delivery, error) {
	started := d.now()
	dest, err := d.store.GetDestination(ctx, del.TenantID, del.DestinationID)
	if err != nil {
		return del, err
	}
	var m Message
	if err := json.Unmarshal(del.Payload, &m); err != nil {
		return d.record(ctx, del, dest, started, 0, &Error{Kind: Permanent, Message: "unreadable payload: " + err.Error()})
	}
	return d.attempt(ctx, del, dest, nil, m, started)
}

// InlineLease is the lease of a delivery its writer attempts itself at
// once (AttemptNow): until then the queue leaves it alone.
func (d *Dispatcher) InlineLease() time.Time { return d.now().Add(Lease) }

// Inline reports whether deliveries to dest are worth a first attempt by
// their writer (AttemptNow): a webhook or an email list that is active.
// Telegram chats go through the queue, which paces them per chat.
func Inline(dest *models.Destination) bool {
	return dest != nil && dest.IsActive && (dest.Type == models.DestinationWebhook || dest.Type == models.DestinationEmail)
}

// AttemptNow makes the first attempt of a delivery its caller wrote leased
// to itself until InlineLease (an automation run's output, right after the
// run's commit), with what the caller already holds: the destination, a
// webhook's secrets (nil: read them) and the message, so nothing is read
// again. The outcome is recorded as by the queue, which owns retries. The
// attempt is not cut short when ctx ends (a half-made send would be sent
// again): it is bounded by its own budget.
func (d *Dispatcher) AttemptNow(ctx context.Context, del models.Delivery, dest models.Destination, secrets *models.WebhookSecrets, m Message) (models.Delivery, error) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), attemptBudget)
	defer cancel()
	return d.attempt(actx, del, dest, secrets, m, d.now())
}

func (d *Dispatcher) attempt(ctx context.Context, del models.Delivery, dest models.Destination, secrets *models.WebhookSecrets, m Message, started time.Time) (models.Delivery, error) {
	if !dest.IsActive {
		// Failed quietly: the admins were told when it was deactivated.
		return d.store.RecordAttempt(ctx, del, models.AttemptResult{StartedAt: started, Outcome: models.OutcomeFailed,
			Error: "the destination is inactive: " + dest.DeactivatedReason})
	}
	// Record even if shutdown cancels ctx mid-attempt.
	switch dest.Type {
	case models.DestinationEmail:
		return d.queueEmail(context.WithoutCancel(ctx), del, dest, m, started)
	case models.DestinationTelegram:
		if d.telegram == nil {
			return d.record(ctx, del, dest, started, 0, &Error{Kind: Retry, Message: "the Telegram bot is off (TELEGRAM_BOT_TOKEN is not set)"})
		}
		_, err := d.telegram.Send(ctx, dest.Telegram().ChatID, m)
		return d.record(context.WithoutCancel(ctx), del, dest, started, 0, err)
	case models.DestinationWebhook:
		if secrets == nil {
			s, err := d.store.DestinationSecrets(ctx, del.TenantID, dest.ID)
			if err != nil {
				return del, err
			}
			secrets = &s
		}
		status, err := d.webhook.Send(ctx, WebhookTarget{URL: dest.Webhook().URL, Secret: secrets.SigningSecret, Headers: secrets.Headers}, del.ID, m)
		return d.record(context.WithoutCancel(ctx), del, dest, started, status, err)
	}
	return d.record(ctx, del, dest, started, 0, &Error{Kind: Permanent, Message: "unknown destination type " + dest.Type})
}

// record stores an attempt's outcome and acts on it: retry later, give up
// (admins told), deactivate a destination that is gone, or follow a
// Telegram chat migration.
func (d *Dispatcher) record(ctx context.Context, del models.Delivery, dest models.Destination, started time.Time, status int, sendErr error) (models.Delivery, error) {
	r := models.AttemptResult{StartedAt: started, Duration: d.now().Sub(started), StatusCode: status, Outcome: models.OutcomeDelivered}
	var ne *Error
	if sendErr != nil {
		r.Error = sendErr.Error()
		if errors.As(sendErr, &ne) && ne.StatusCode != 0 {
			r.StatusCode = ne.StatusCode
		}
	}
	kind := FailureKind(0)
	if sendErr != nil {
		kind = KindOf(sendErr)
	}
	switch kind {
	case 0: // delivered
	case Retry:
		var after time.Duration
		if ne != nil {
			after = ne.RetryAfter
		}
		if next, ok := NextAttempt(del.Attempts+1, d.now(), after); ok {
			r.Outcome, r.NextAttemptAt = models.OutcomeRetry, next
		} else {
			r.Outcome = models.OutcomeFailed
		}
	case Permanent:
		r.Outcome = models.OutcomeFailed
	case Gone:
		r.Outcome = models.OutcomeGone
	case Migrated:
		r.Outcome, r.NextAttemptAt = models.OutcomeMigrated, d.now()
		err := d.store.MigrateTelegramChat(ctx, dest.TenantID, dest.ID, ne.NewChatID)
		switch {
		case ne.NewChatID == 0 || ne.NewChatID == dest.Telegram().ChatID || del.Attempts >= maxMigrations:
			r.Outcome, r.NextAttemptAt = models.OutcomeFailed, time.Time{}
		case errors.Is(err, models.ErrConflict):
			// The tenant already has the supergroup as a destination.
			r.Outcome, r.NextAttemptAt = models.OutcomeGone, time.Time{}
			r.Error += " (the new supergroup is already another destination)"
		case err != nil:
			return del, err
		default:
			d.logger.Info("telegram chat migrated to a supergroup; resending", "destination", dest.ID)
		}
	}
	out, err := d.store.RecordAttempt(ctx, del, r)
	if err != nil {
		return del, err
	}
	metrics.ObserveDelivery(dest.Type, r.Outcome)
	switch r.Outcome {
	case models.OutcomeGone:
		err = d.deactivate(ctx, dest, r.Error)
	case models.OutcomeFailed:
		d.logger.Warn("delivery failed for good", "delivery", del.ID, "destination", dest.ID, "attempts", out.Attempts, "err", r.Error)
		err = d.tellAdmins(ctx, dest, r.Error)
	}
	return out, err
}

func (d *Dispatcher) deactivate(ctx context.Context, dest models.Destination, reason string) error {
	_, err := d.store.DeactivateDestination(ctx, dest.TenantID, dest.ID, reason, func(dd models.Destination) models.Email {
		msg, err := emails.DestinationDeactivated(emails.DestinationData{Name: dd.Name, Type: TypeLabel(dd.Type), Reason: reason,
			Link: d.baseURL + "/destinations/" + dd.ID})
		if err != nil {
			d.logger.Error("rendering the deactivation email", "err", err)
		}
		return models.Email{Subject: msg.Subject, Text: msg.Text, HTML: msg.HTML}
	})
	return err
}

func (d *Dispatcher) tellAdmins(ctx context.Context, dest models.Destination, reason string) error {
	msg, err := emails.DeliveryFailed(emails.DestinationData{Name: dest.Name, Type: TypeLabel(dest.Type), Reason: reason,
		Link: d.baseURL + "/destinations/" + dest.ID})
	if err != nil {
		return err
	}
	return d.store.MailAdmins(ctx, dest.TenantID, models.Email{Subject: msg.Subject, Text: msg.Text, HTML: msg.HTML})
}

// queueEmail hands an email delivery to the outbox, which owns its retries.
func (d *Dispatcher) queueEmail(ctx context.Context, del models.Delivery, dest models.Destination, m Message, started time.Time) (models.Delivery, error) {
	var images []string
	var att []models.EmailAttachment
	for _, img := range m.Images {
		images = append(images, img.Name)
		att = append(att, models.EmailAttachment{Name: img.Name, ContentType: img.ContentType, Data: img.Data, Inline: true})
	}
	for _, f := range m.Files {
		att = append(att, models.EmailAttachment{Name: f.Name, ContentType: f.ContentType, Data: f.Data})
	}
	msg, err := emails.Notification(emails.NotificationData{Title: m.Title, HTML: m.HTML, Text: m.Text, Images: images})
	if err != nil {
		return d.record(ctx, del, dest, started, 0, &Error{Kind: Permanent, Message: "rendering the email: " + err.Error()})
	}
	addrs := dest.Email().Addresses
	mails := make([]models.Email, len(addrs))
	for i, a := range addrs {
		mails[i] = models.Email{To: a, Subject: msg.Subject, Text: msg.Text, HTML: msg.HTML, Attachments: att}
	}
	out, err := d.store.QueueEmailDelivery(ctx, del, mails, models.AttemptResult{StartedAt: started, Duration: d.now().Sub(started),
		Error: fmt.Sprintf("queued to %s", strings.Join(addrs, ", "))})
	if err == nil {
		metrics.ObserveDelivery(models.DestinationEmail, "queued") // the outbox sends it
	}
	return out, err
}

// TypeLabel names a destination type for people.
func TypeLabel(t string) string {
	switch t {
	case models.DestinationTelegram:
		return "Telegram chat"
	case models.DestinationWebhook:
		return "webhook"
	case models.DestinationEmail:
		return "email list"
	}
	return t
}
