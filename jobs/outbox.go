package jobs

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"time"

	"adpilot/mailer"
	"adpilot/models"
)

// The outbox job runs on every replica: claims in the database keep two
// replicas from sending the same email at once.
const (
	outboxInterval = 10 * time.Second // how often each replica looks for due mail
	outboxBatch    = 20               // emails claimed per run
	outboxLease    = 2 * time.Minute  // how long a claim keeps other replicas off

	retryBase        = 30 * time.Second // first retry after about this long
	retryMax         = time.Hour        // retries never wait longer
	maxEmailAttempts = 8                // give up after this many failed attempts
)

// sendOutbox claims due emails and sends them one by one through the
// mailer, recording each outcome. An email whose outcome cannot be recorded
// (the database went away) is sent again once its lease ends: delivery is
// at least once.
func (s *Scheduler) sendOutbox(ctx context.Context) error {
	emails, err := s.store.ClaimDueEmails(ctx, outboxBatch, outboxLease)
	if err != nil {
		if ctx.Err() == nil {
			s.logger.Error("outbox: claiming due emails", "err", err)
		}
		return err
	}
	// Stop before the lease could run out under a slow server, so no other
	// replica claims an email while this one may still be sending it; the
	// rest wait for their lease to end. Leases run on the database's clock,
	// so this measures real time, never the scheduler's (fake in tests).
	claimed := time.Now()
	for i, e := range emails {
		if ctx.Err() != nil || time.Since(claimed) > outboxLease-mailer.Timeout-10*time.Second {
			s.logger.Warn("outbox: stopping early; the rest are retried when their lease ends",
				"left", len(emails)-i)
			return ctx.Err()
		}
		s.deliver(ctx, e)
	}
	return nil
}

// deliver sends one email and records the outcome. Logs name the outbox id
// and the recipient's domain only: bodies hold one-time links.
func (s *Scheduler) deliver(ctx context.Context, e models.OutboxEmail) {
	log := s.logger.With("outbox_id", e.ID, "recipient_domain", domainOf(e.To), "attempt", e.Attempts+1)
	msg := mailer.Message{To: e.To, Subject: e.Subject, Text: e.Text, HTML: e.HTML}
	for _, a := range e.Attachments {
		msg.Attachments = append(msg.Attachments, mailer.Attachment{Name: a.Name, ContentType: a.ContentType, Data: a.Data, Inline: a.Inline})
	}
	sendErr := s.mailer.Send(ctx, msg)
	// Record the outcome even when shutdown cancelled ctx meanwhile.
	recordCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if sendErr == nil {
		if err := s.store.MarkEmailSent(recordCtx, e.ID); err != nil {
			log.Error("outbox: email sent but not recorded; it may be sent again", "err", err)
			return
		}
		log.Info("outbox: email sent")
		return
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		// Shutting down: not the email's fault. Its lease runs out and
		// another replica (or this one, restarted) tries again.
		log.Info("outbox: sending interrupted by shutdown")
		return
	}
	var retryAt *time.Time
	if e.Attempts+1 < maxEmailAttempts {
		at := s.clock.Now().Add(retryDelay(e.Attempts))
		retryAt = &at
	}
	if err := s.store.MarkEmailFailed(recordCtx, e.ID, sendErr.Error(), retryAt); err != nil {
		log.Error("outbox: recording a failed send", "err", err, "send_err", sendErr)
		return
	}
	if retryAt == nil {
		log.Error("outbox: giving up on email", "err", sendErr)
		return
	}
	log.Warn("outbox: send failed, will retry", "err", sendErr, "retry_at", retryAt.UTC().Format(time.RFC3339))
}

// retryDelay is the wait after the given number of earlier failed attempts:
// 30 s doubled per attempt, capped at an hour, with "equal jitter" (between
// half and all of it) so emails that failed together spread out.
func retryDelay(attempts int) time.Duration {
	d := retryMax
	if attempts < 20 { // 30 s << 20 is far past the cap already
		d = min(retryBase<<attempts, retryMax)
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// domainOf returns the part of an address after the last @.
func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return strings.TrimSuffix(addr[i+1:], ">")
	}
	return ""
}
