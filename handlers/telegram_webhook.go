package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// telegramWebhook receives Telegram updates in webhook mode
// (TELEGRAM_WEBHOOK_SECRET set); the bot checks the secret header.
func (h *Handler) telegramWebhook(c echo.Context) error {
	if h.bot == nil || !h.bot.WebhookMode() {
		return echo.NewHTTPError(http.StatusNotFound, "The Telegram bot is not in webhook mode on this server.")
	}
	h.bot.ServeWebhook(c.Response(), c.Request())
	return nil
}
