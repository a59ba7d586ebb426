package connections

import (
	"context"
	"errors"
	"time"

	"adpilot/models"
	"adpilot/platforms"
	"adpilot/views/emails"
)

// Token-health timings.
const (
	// CheckEvery: each token is checked with its platform at most this often.
	CheckEvery = 24 * time.Hour
	// DeadRetention: invalid or expired connections are deleted after this.
	DeadRetention = 30 * 24 * time.Hour
	// checkBatch bounds one pass of checks, so a huge instance spreads them.
	checkBatch = 200
)

// HealthReport counts what one token-health pass did.
type HealthReport struct {
	Refreshed, RefreshFailed, Checked, Invalidated, Warned int
}

// RunHealth is the token-refresh job's body, run every interval: refresh
// rotating tokens, check the others, and warn admins of tokens that expire
// within 7 days.
func (s *Service) RunHealth(ctx context.Context, now time.Time, interval time.Duration) (HealthReport, error) {
	var r HealthReport
	err := errors.Join(s.refreshDue(ctx, now, interval, &r), s.checkDue(ctx, now, &r), s.warnExpiring(ctx, now, &r))
	return r, err
}

// refreshDue refreshes TikTok creator tokens that would expire before the
// run after next (so a late run never meets a dead one, and a 24-hour token
// is refreshed about once a day). Each row is locked while its refresh
// runs, so replicas never refresh a token twice (TikTok rotates refresh
// tokens: a double refresh would kill one).
func (s *Service) refreshDue(ctx context.Context, now time.Time, interval time.Duration, r *HealthReport) error {
	outcomes, err := s.store.RefreshExpiring(ctx, platforms.TikTok, now.Add(2*interval+5*time.Minute), s.refreshTikTok)
	var errs []error
	for _, o := range outcomes {
		switch {
		case o.Err == nil:
			r.Refreshed++
		case platforms.IsTokenInvalid(o.Err):
			r.RefreshFailed++
			r.Invalidated++
			errs = append(errs, s.Invalidate(ctx, o.Connection, "the refresh token was refused: "+reasonOf(o.Err)))
		default:
			r.RefreshFailed++
			s.logger.Warn("token refresh failed; retrying next run", "connection", o.Connection.ID, "err", o.Err)
			errs = append(errs, s.store.RecordConnectionCheckError(ctx, o.Connection.TenantID, o.Connection.ID, o.Err.Error()))
		}
	}
	return errors.Join(append(errs, err)...)
}

// checkDue checks, with each platform, valid tokens not checked for a day.
func (s *Service) checkDue(ctx context.Context, now time.Time, r *HealthReport) error {
	due, err := s.store.ConnectionsToCheck(ctx, now.Add(-CheckEvery), checkBatch)
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range due {
		if ctx.Err() != nil {
			break
		}
		after, err := s.Check(ctx, c.TenantID, c.ID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r.Checked++
		if !after.IsValid {
			r.Invalidated++
		}
	}
	return errors.Join(errs...)
}

// warnExpiring emails admins once per expiry date of tokens that cannot be
// refreshed (Facebook) and expire within models.ExpiryWarning.
func (s *Service) warnExpiring(ctx context.Context, now time.Time, r *HealthReport) error {
	n, err := s.store.WarnExpiring(ctx, now, now.Add(models.ExpiryWarning), func(c models.Connection) models.Email {
		msg, err := emails.ConnectionExpiring(emails.ConnectionData{Platform: platforms.Label(c.Platform),
			AccountName: nameOr(c.AccountName, c.AccountRef), AccountRef: c.AccountRef,
			ExpiresOn: c.ExpiresAt.UTC().Format("2006-01-02"), Link: s.baseURL + "/connections"})
		if err != nil {
			s.logger.Error("rendering the expiry email", "err", err)
		}
		return models.Email{Subject: msg.Subject, Text: msg.Text, HTML: msg.HTML}
	})
	r.Warned = n
	return err
}

// Cleanup deletes connections dead for DeadRetention (audited) and OAuth
// picks nobody finished.
func (s *Service) Cleanup(ctx context.Context, now time.Time) (int, error) {
	n, err := s.store.DeleteDeadConnections(ctx, now.Add(-DeadRetention))
	_, perr := s.store.DeleteExpiredOAuthPending(ctx, now)
	return n, errors.Join(err, perr)
}
