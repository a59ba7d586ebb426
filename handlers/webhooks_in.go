package handlers

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"adpilot/metrics"
	"adpilot/models"
	"adpilot/webhooks"
)

// maxWebhookBody caps a delivery (Facebook batches up to 1000 changes).
// The global body limit applies as well.
const maxWebhookBody = 1 << 20

// facebookWebhookVerify answers Facebook's subscription check: the
// challenge when hub.mode is subscribe and hub.verify_token equals
// FACEBOOK_WEBHOOK_VERIFY_TOKEN (compared in constant time); 403 otherwise,
// always 403 when no token is configured.
func (h *Handler) facebookWebhookVerify(c echo.Context) error {
	q := c.QueryParams()
	want := h.cfg.FacebookWebhookVerifyToken.Reveal()
	if q.Get("hub.mode") != "subscribe" || want == "" || !equalSecret(q.Get("hub.verify_token"), want) {
		return echo.NewHTTPError(http.StatusForbidden, "The verify token does not match FACEBOOK_WEBHOOK_VERIFY_TOKEN.")
	}
	// Plain text (and nosniff): the challenge is echoed, never interpreted.
	return c.String(http.StatusOK, q.Get("hub.challenge"))
}

// equalSecret compares in constant time, lengths included (both sides are
// hashed to the same size first).
func equalSecret(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// facebookWebhook receives Facebook events: the signature over the raw
// body is checked (FB_APP_SECRET), every change becomes an event, and the
// events are stored before the 200; a job processes them afterwards.
func (h *Handler) facebookWebhook(c echo.Context) error {
	secret := h.cfg.FBAppSecret.Reveal()
	if secret == "" {
		return echo.NewHTTPError(http.StatusServiceUnavailable, "Facebook webhooks are off: FB_APP_SECRET is not set on this server.")
	}
	body, err := readWebhookBody(c)
	if err != nil {
		return err
	}
	if err := webhooks.VerifyFacebook(secret, body, c.Request().Header.Get(webhooks.FacebookSignatureHeader)); err != nil {
		h.logger.Warn("facebook webhook refused", "reason", err, "ip", c.RealIP(), "request_id", requestID(c))
		return echo.NewHTTPError(http.StatusUnauthorized, "The X-Hub-Signature-256 header is missing or does not match the body.")
	}
	evs, err := webhooks.ParseFacebook(body)
	if err != nil {
		return malformedWebhook(err)
	}
	return h.storeWebhookEvents(c, webhooks.Facebook, evs)
}

// tiktokWebhook receives TikTok events: TikTok-Signature (t=…,s=…, keyed
// with TIKTOK_CLIENT_SECRET) must match and be fresh, then the event is
// stored before the 200. TIKTOK_WEBHOOK_VERIFY_TOKEN plays no part: TikTok
// has no verification handshake and sends no token.
func (h *Handler) tiktokWebhook(c echo.Context) error {
	secret := h.cfg.TikTokClientSecret.Reveal()
	if secret == "" {
		return echo.NewHTTPError(http.StatusServiceUnavailable, "TikTok webhooks are off: TIKTOK_CLIENT_SECRET is not set on this server.")
	}
	body, err := readWebhookBody(c)
	if err != nil {
		return err
	}
	if _, err := webhooks.VerifyTikTok(secret, body, c.Request().Header.Get(webhooks.TikTokSignatureHeader), time.Now()); err != nil {
		h.logger.Warn("tiktok webhook refused", "reason", err, "ip", c.RealIP(), "request_id", requestID(c))
		msg := "The TikTok-Signature header is missing or does not match the body."
		if errors.Is(err, webhooks.ErrStaleSignature) || errors.Is(err, webhooks.ErrFutureSignature) {
			msg = "The TikTok-Signature timestamp is outside the accepted window (5 minutes back, 1 minute ahead)."
		}
		return echo.NewHTTPError(http.StatusUnauthorized, msg)
	}
	ev, err := webhooks.ParseTikTok(body)
	if err != nil {
		return malformedWebhook(err)
	}
	return h.storeWebhookEvents(c, webhooks.TikTok, []webhooks.Event{ev})
}

// readWebhookBody reads the raw body (signatures are over its exact bytes),
// refusing more than maxWebhookBody with 413.
func readWebhookBody(c echo.Context) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, maxWebhookBody+1))
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		return nil, he // the global body limit
	case err != nil:
		return nil, echo.NewHTTPError(http.StatusBadRequest, "The request body could not be read.")
	case len(body) > maxWebhookBody:
		return nil, echo.NewHTTPError(http.StatusRequestEntityTooLarge, "A webhook delivery may be at most 1 MiB.")
	}
	return body, nil
}

// malformedWebhook is a signed body that is not what the platform sends: 400
// saying what is wrong (a parse error, never a 500).
func malformedWebhook(err error) error {
	var me *webhooks.MalformedError
	if errors.As(err, &me) {
		return echo.NewHTTPError(http.StatusBadRequest, "The webhook body is not a valid event delivery: "+me.Reason)
	}
	return echo.NewHTTPError(http.StatusBadRequest, "The webhook body is not a valid event delivery.")
}

// storeWebhookEvents writes the events durably (each once) and only then
// answers 200; a database failure is a 500, so the platform delivers again.
func (h *Handler) storeWebhookEvents(c echo.Context, platform string, evs []webhooks.Event) error {
	in := make([]models.WebhookEventInput, len(evs))
	for i, e := range evs {
		in[i] = models.WebhookEventInput{Platform: e.Platform, Type: e.Type, DedupeKey: e.DedupeKey, ObjectID: e.ObjectID,
			OccurredAt: e.OccurredAt, Payload: e.Payload}
	}
	n, err := h.store.InsertWebhookEvents(c.Request().Context(), in)
	if err != nil {
		return err
	}
	metrics.ObserveWebhookEvents(platform, models.WebhookReceived, n)
	metrics.ObserveWebhookEvents(platform, "duplicate", len(evs)-n)
	h.logger.Debug("webhook events stored", "platform", platform, "events", len(evs), "new", n, "request_id", requestID(c))
	return c.JSON(http.StatusOK, map[string]int{"received": len(evs), "new": n})
}
