// Package connections keeps platform connections healthy: it checks tokens
// with their platform, refreshes the ones that rotate, warns before expiry,
// invalidates dead ones (telling the tenant's admins once), disconnects and
// cleans up. Handlers ("Check now", Disconnect) and the token jobs share it.
package connections

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"adpilot/models"
	"adpilot/platforms"
	"adpilot/views/emails"
)

// Service is safe for concurrent use.
type Service struct {
	store     *models.Store
	platforms *platforms.Registry
	logger    *slog.Logger
	baseURL   string
}

// New builds the service.
func New(store *models.Store, reg *platforms.Registry, logger *slog.Logger, baseURL string) *Service {
	return &Service{store: store, platforms: reg, logger: logger, baseURL: baseURL}
}

// Platforms returns the platform clients.
func (s *Service) Platforms() *platforms.Registry { return s.platforms }

// Check asks the platform whether a connection's token still works and
// records the answer: valid (with the expiry the platform reports), invalid
// (with the reason, admins told once), or unknown (the check failed; the
// connection keeps its state and the error is shown). A refused access
// token with a refresh token behind it is refreshed before anything is
// declared dead.
func (s *Service) Check(ctx context.Context, tenantID, id string) (models.Connection, error) {
	c, creds, err := s.store.ConnectionCredentials(ctx, tenantID, id)
	if errors.Is(err, models.ErrNotFound) {
		return c, err
	}
	if err != nil {
		// Undecryptable (a key missing from the ring): show it, and move the
		// row down the check queue so it cannot stall the others.
		s.logger.Error("connection check: cannot read the token", "connection", id, "err", err)
		return c, s.store.RecordConnectionCheckError(ctx, tenantID, id, "the stored token cannot be decrypted (was MASTER_SECRET_KEY changed without MASTER_SECRET_KEY_PREVIOUS?)")
	}
	client, ok := s.platforms.Client(c.Platform)
	if !ok {
		return c, s.store.RecordConnectionCheckError(ctx, tenantID, id, "unknown platform "+c.Platform)
	}
	info, err := client.TokenInfo(ctx, platforms.Credentials{AccessToken: creds.AccessToken, AccountRef: c.AccountRef, Kind: c.Kind})
	switch {
	case err == nil && info.Valid:
		err = s.store.RecordConnectionCheck(ctx, tenantID, id, info.ExpiresAt)
	case err == nil:
		err = s.tokenRefused(ctx, c, nameOr(info.Reason, "the platform says the token is no longer valid"))
	case platforms.IsTokenInvalid(err):
		err = s.tokenRefused(ctx, c, reasonOf(err))
	default:
		s.logger.Warn("connection check failed", "connection", id, "platform", c.Platform, "err", err)
		err = s.store.RecordConnectionCheckError(ctx, tenantID, id, err.Error())
	}
	if err != nil {
		return c, err
	}
	return s.store.GetConnection(ctx, tenantID, id)
}

// tokenRefused handles a platform refusing c's access token: with a
// refresh token, refresh first (the access token may simply have expired);
// otherwise, or when the refresh is refused too, the connection is invalid.
func (s *Service) tokenRefused(ctx context.Context, c models.Connection, reason string) error {
	if !c.HasRefreshToken || c.Platform != platforms.TikTok {
		return s.Invalidate(ctx, c, reason)
	}
	o, err := s.store.RefreshConnection(ctx, c.TenantID, c.ID, s.refreshTikTok)
	switch {
	case errors.Is(err, models.ErrNotFound):
		return nil // another replica is refreshing it right now
	case err != nil:
		return err
	case o.Err == nil:
		s.logger.Info("refused access token renewed with the refresh token", "connection", c.ID)
		return nil
	case platforms.IsTokenInvalid(o.Err):
		return s.Invalidate(ctx, c, "the refresh token was refused: "+reasonOf(o.Err))
	}
	return s.store.RecordConnectionCheckError(ctx, c.TenantID, c.ID, o.Err.Error())
}

// refreshTikTok trades a TikTok refresh token for a new pair.
func (s *Service) refreshTikTok(ctx context.Context, c models.Connection, creds models.Credentials) (models.TokenUpdate, error) {
	if creds.RefreshToken == "" {
		return models.TokenUpdate{}, &platforms.Error{Platform: platforms.TikTok, Kind: platforms.KindTokenInvalid, Message: "no refresh token stored"}
	}
	t, err := s.platforms.TikTok.Refresh(ctx, creds.RefreshToken)
	if err != nil {
		return models.TokenUpdate{}, err
	}
	return models.TokenUpdate{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken,
		ExpiresAt: t.ExpiresAt, RefreshExpiresAt: t.RefreshExpiresAt, Scope: strings.Join(t.Scopes, ",")}, nil
}

// Invalidate marks c invalid with reason; its tenant's admins are emailed
// the first time only.
func (s *Service) Invalidate(ctx context.Context, c models.Connection, reason string) error {
	first, err := s.store.InvalidateConnection(ctx, c.TenantID, c.ID, reason, func(c models.Connection) models.Email {
		msg, err := emails.ConnectionInvalid(emails.ConnectionData{Platform: platforms.Label(c.Platform),
			AccountName: nameOr(c.AccountName, c.AccountRef), AccountRef: c.AccountRef, Reason: reason, Link: s.baseURL + "/connections"})
		if err != nil {
			s.logger.Error("rendering the invalid-connection email", "err", err)
		}
		return models.Email{Subject: msg.Subject, Text: msg.Text, HTML: msg.HTML}
	})
	if first {
		s.logger.Info("connection invalidated", "connection", c.ID, "tenant", c.TenantID, "platform", c.Platform, "reason", reason)
	}
	return err
}

// ReportCallError lets any caller of a platform (reports, alerts, syncs)
// hand over an error: a dead token invalidates the connection (after a
// refresh attempt where there is a refresh token).
func (s *Service) ReportCallError(ctx context.Context, c models.Connection, err error) error {
	if platforms.IsTokenInvalid(err) {
		return s.tokenRefused(ctx, c, reasonOf(err))
	}
	return nil
}

// revokeTimeout bounds the courtesy revocation at Disconnect: the row goes
// whatever the platform says.
const revokeTimeout = 10 * time.Second

// Disconnect revokes the token at TikTok (best effort), unless another
// connection still uses the same token (every advertiser of one TikTok Ads
// grant shares it), then deletes the connection and audits it.
func (s *Service) Disconnect(ctx context.Context, actor models.User, id, ip string) (models.Connection, error) {
	c, creds, err := s.store.ConnectionCredentials(ctx, actor.TenantID, id)
	if errors.Is(err, models.ErrNotFound) {
		return c, err
	}
	if err == nil && (c.Platform == platforms.TikTok || c.Platform == platforms.TikTokAds) {
		shared, serr := s.store.TokenSharedElsewhere(ctx, actor.TenantID, id)
		if serr != nil {
			return c, serr
		}
		if !shared {
			rctx, cancel := context.WithTimeout(ctx, revokeTimeout)
			defer cancel()
			client, _ := s.platforms.Client(c.Platform)
			if rerr := client.Revoke(rctx, platforms.Credentials{AccessToken: creds.AccessToken, AccountRef: c.AccountRef, Kind: c.Kind}); rerr != nil {
				s.logger.Warn("revoking token at disconnect failed; deleting it anyway", "connection", id, "platform", c.Platform, "err", rerr)
			}
		}
	}
	return s.store.DeleteConnection(ctx, actor, id, ip)
}

// reasonOf turns a platform error into words for the connections page.
func reasonOf(err error) string {
	var pe *platforms.Error
	if errors.As(err, &pe) && pe.Message != "" {
		return pe.Message
	}
	return "the platform refused the token"
}

func nameOr(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

// InsightsQuery builds the query for c's insights, counting the
// conversion actions its settings name (or the platform's defaults).
func InsightsQuery(c models.Connection, level platforms.Level, since, until time.Time) platforms.InsightsQuery {
	return platforms.InsightsQuery{Level: level, Since: since, Until: until, ConversionActions: c.ConversionActions()}
}
