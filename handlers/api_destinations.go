package handlers

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"adpilot/models"
)

// apiDestination is a destination in the JSON API. Config holds no secret:
// a webhook's header names only; SigningSecret is set once, on creation.
type apiDestination struct {
	ID                string    `json:"id"`
	Name              string    `json:"name"`
	Type              string    `json:"type"`
	IsActive          bool      `json:"is_active"`
	DeactivatedReason string    `json:"deactivated_reason,omitempty"`
	Config            any       `json:"config"`
	CreatedAt         time.Time `json:"created_at"`
	SigningSecret     string    `json:"signing_secret,omitempty"`
}

func toAPIDestination(d models.Destination) apiDestination {
	out := apiDestination{ID: d.ID, Name: d.Name, Type: d.Type, IsActive: d.IsActive, CreatedAt: d.CreatedAt, Config: map[string]any{}}
	if !d.IsActive {
		out.DeactivatedReason = d.DeactivatedReason
	}
	// Re-encoded through the typed configs, so nothing else stored leaks.
	switch d.Type {
	case models.DestinationTelegram:
		out.Config = d.Telegram()
	case models.DestinationWebhook:
		out.Config = d.Webhook()
	case models.DestinationEmail:
		out.Config = d.Email()
	}
	return out
}

// apiDestinations is GET /api/v1/destinations.
func (h *Handler) apiDestinations(c echo.Context) error {
	list, err := h.store.ListDestinations(c.Request().Context(), principal(c).Tenant.ID)
	if err != nil {
		return err
	}
	out := make([]apiDestination, len(list))
	for i, d := range list {
		out[i] = toAPIDestination(d)
	}
	return c.JSON(http.StatusOK, map[string]any{"destinations": out})
}

// destinationConfigBody is a destination's config in the API.
type destinationConfigBody struct {
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	Addresses []string          `json:"addresses"`
}

// apiCreateDestination is POST /api/v1/destinations with
// {"name","type":"webhook"|"email","config":{"url","headers"?}|{"addresses":[]}}
// (the config fields may also come flat, beside name and type).
func (h *Handler) apiCreateDestination(c echo.Context) error {
	var body struct {
		Name   string                 `json:"name"`
		Type   string                 `json:"type"`
		Config *destinationConfigBody `json:"config"`
		destinationConfigBody
	}
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	if body.Config != nil {
		body.destinationConfigBody = *body.Config
	}
	draft := destinationDraft{Name: strings.TrimSpace(body.Name), Type: body.Type, URL: strings.TrimSpace(body.URL)}
	errs := fieldErrors{}
	switch body.Type {
	case models.DestinationWebhook:
		draft.Headers = map[string]string{}
		for k, v := range body.Headers {
			draft.Headers[http.CanonicalHeaderKey(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
		if len(draft.Headers) != len(body.Headers) {
			errs.add("headers", "A header is given twice.")
		}
	case models.DestinationEmail:
		// Each element is one address: a list never hides a second one.
		for _, a := range body.Addresses {
			if strings.ContainsAny(a, ",; \t\r\n") {
				errs.add("addresses", "“"+filterText(a, 60)+"” is not a valid email address, like name@example.com.")
			}
		}
		draft.Addresses = splitAddresses(strings.Join(body.Addresses, ","), errs)
	}
	h.checkDestination(c.Request().Context(), draft, errs)
	if len(errs) > 0 {
		return validationError(c, errs)
	}
	d, secret, err := h.createFromDraft(c, draft)
	if err != nil {
		return err
	}
	out := toAPIDestination(d)
	out.SigningSecret = secret
	noStore(c)
	return c.JSON(http.StatusCreated, out)
}

// apiDeliveries is GET /api/v1/destinations/:id/deliveries?limit=N (1-100,
// default 20), newest first.
func (h *Handler) apiDeliveries(c echo.Context) error {
	d, err := h.loadDestination(c)
	if err != nil {
		return err
	}
	limit, err := strconv.Atoi(c.QueryParam("limit"))
	if err != nil || limit < 1 || limit > 100 {
		limit = recentDeliveries
	}
	list, err := h.store.ListDeliveries(c.Request().Context(), d.TenantID, d.ID, limit)
	if err != nil {
		return err
	}
	out := make([]apiDelivery, len(list))
	for i, del := range list {
		out[i] = toAPIDelivery(del)
	}
	return c.JSON(http.StatusOK, map[string]any{"deliveries": out})
}

// apiDestination is GET /api/v1/destinations/:id.
func (h *Handler) apiDestination(c echo.Context) error {
	d, err := h.loadDestination(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toAPIDestination(d))
}

// apiPatchDestination is PATCH /api/v1/destinations/:id with any of
// {"name","config":{"url","headers","addresses"}}: what is left out stays
// (a webhook's "headers" replace all of them; {} removes them). The signing
// secret never changes here (rotate it on the destination's page).
func (h *Handler) apiPatchDestination(c echo.Context) error {
	d, err := h.loadDestination(c)
	if err != nil {
		return err
	}
	var body struct {
		Name   *string `json:"name"`
		Config *struct {
			URL       *string           `json:"url"`
			Headers   map[string]string `json:"headers"`
			Addresses []string          `json:"addresses"`
		} `json:"config"`
	}
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	ctx := c.Request().Context()
	draft := destinationDraft{Name: d.Name, Type: d.Type, URL: d.Webhook().URL, Addresses: d.Email().Addresses}
	if body.Name != nil {
		draft.Name = strings.TrimSpace(*body.Name)
	}
	newHeaders := false
	if body.Config != nil {
		if body.Config.URL != nil {
			draft.URL = strings.TrimSpace(*body.Config.URL)
		}
		if body.Config.Headers != nil {
			draft.Headers, newHeaders = body.Config.Headers, true
		}
		if body.Config.Addresses != nil {
			draft.Addresses = body.Config.Addresses
		}
	}
	errs := fieldErrors{}
	if d.Type == models.DestinationTelegram {
		checkText(errs, "name", draft.Name, "Name", true, maxDestinationName)
	} else {
		h.checkDestination(ctx, draft, errs)
	}
	if len(errs) > 0 {
		return validationError(c, errs)
	}
	if d, err = h.saveDraft(c, d, draft, newHeaders); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toAPIDestination(d))
}
