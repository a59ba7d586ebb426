package handlers

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"adpilot/models"
)

// apiConnection is a connection in the JSON API: never a token.
type apiConnection struct {
	ID            string     `json:"id"`
	Platform      string     `json:"platform"`
	Kind          string     `json:"kind"`
	AccountRef    string     `json:"account_ref"`
	AccountName   string     `json:"account_name"`
	Status        string     `json:"status"`     // valid, expiring, expired, invalid
	ExpiresAt     *time.Time `json:"expires_at"` // when it stops working unless reconnected; null: never
	InvalidReason string     `json:"invalid_reason,omitempty"`
	LastValidated *time.Time `json:"last_validated"`
	Currency      string     `json:"currency,omitempty"`
	Timezone      string     `json:"timezone,omitempty"`
	// ConversionActions: Facebook action types counted as conversions
	// (absent: the default purchase, lead, complete_registration).
	ConversionActions []string  `json:"conversion_actions,omitempty"`
	CreatedAt         time.Time `json:"created_at"`
}

func toAPIConnection(c models.Connection, now time.Time) apiConnection {
	meta := c.MetaMap()
	cur, _ := meta["currency"].(string)
	tz, _ := meta["timezone_name"].(string)
	return apiConnection{ID: c.ID, Platform: c.Platform, Kind: c.Kind, AccountRef: c.AccountRef, AccountName: c.AccountName,
		Status: c.Status(now), ExpiresAt: c.Expiry(), InvalidReason: c.InvalidReason, LastValidated: c.LastValidated,
		Currency: cur, Timezone: tz, ConversionActions: c.ConversionActions(), CreatedAt: c.CreatedAt}
}

func toAPIConnections(list []models.Connection) []apiConnection {
	now := time.Now()
	out := make([]apiConnection, len(list))
	for i, c := range list {
		out[i] = toAPIConnection(c, now)
	}
	return out
}

// apiConnections is GET /api/v1/connections.
func (h *Handler) apiConnections(c echo.Context) error {
	list, err := h.store.ListConnections(c.Request().Context(), principal(c).Tenant.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"connections": toAPIConnections(list)})
}
