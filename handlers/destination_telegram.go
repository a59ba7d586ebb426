package handlers

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	qrcode "github.com/skip2/go-qrcode"

	"adpilot/bot"
	"adpilot/views"
)

// newLinkCode is a one-time "Add Telegram chat" code: 32 random bytes in
// unpadded base64url, 43 characters of [A-Za-z0-9_-] (Telegram's start
// parameter allows at most 64 of those).
func newLinkCode() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand crashes the program instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

// telegramUnavailable is the 503 page of "Add Telegram chat" without a bot.
func (h *Handler) telegramUnavailable(c echo.Context, reason string) error {
	return h.renderPage(c, http.StatusServiceUnavailable, "Telegram is not available", views.TelegramUnavailablePage(reason))
}

// startTelegramLink makes a one-time code and answers the waiting page
// directly: the code never travels in a URL, where logs would keep it.
// Only its hash is stored.
func (h *Handler) startTelegramLink(c echo.Context) error {
	if h.bot == nil {
		return h.telegramUnavailable(c, "TELEGRAM_BOT_TOKEN is not set on this server.")
	}
	ctx, p := c.Request().Context(), principal(c)
	username := h.bot.Username(ctx)
	if username == "" {
		return h.telegramUnavailable(c, "adpilot cannot reach Telegram right now. Please try again in a minute.")
	}
	code := newLinkCode()
	id, err := h.store.CreateTelegramLink(ctx, p.User, bot.HashCode(code), time.Now())
	if err != nil {
		return err
	}
	deep := "https://t.me/" + username + "?start=" + code
	png, err := qrcode.Encode(deep, qrcode.Medium, 256)
	if err != nil {
		return err
	}
	return h.renderUncached(c, http.StatusOK, "Add a Telegram chat", views.TelegramLinkPage(views.TelegramLink{
		DeepLink: deep, GroupLink: "https://t.me/" + username + "?startgroup=" + code,
		QRCode: "data:image/png;base64," + base64.StdEncoding.EncodeToString(png),
		Status: views.TelegramLinkStatus{LinkID: id, State: "waiting"},
	}))
}

// telegramLinkStatus is the status box the waiting page polls: waiting,
// linked (with the chat) or expired. A code belongs to the member who made
// it; anyone else gets 404.
func (h *Handler) telegramLinkStatus(c echo.Context) error {
	p := principal(c)
	link, err := h.store.GetTelegramLink(c.Request().Context(), p.Tenant.ID, p.User.ID, c.Param("id"))
	if err != nil {
		return err
	}
	s := views.TelegramLinkStatus{LinkID: link.ID, State: "waiting"}
	switch {
	case link.DestinationID != nil:
		s.State, s.ChatTitle, s.DestinationID = "linked", link.ChatTitle, *link.DestinationID
	case link.UsedAt != nil || !time.Now().Before(link.ExpiresAt):
		s.State = "expired"
	}
	varyOnHTMX(c)
	noStore(c)
	if IsPartial(c) {
		return render(c, http.StatusOK, views.TelegramLinkStatusView(s))
	}
	return render(c, http.StatusOK, h.inLayout(c, "Telegram link", views.TelegramLinkStatusPage(s)))
}
