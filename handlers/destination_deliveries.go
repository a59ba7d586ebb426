package handlers

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"adpilot/models"
	"adpilot/notify"
	"adpilot/views"
)

// recentDeliveries is how many deliveries a destination's page shows.
const recentDeliveries = 20

// deliveriesView builds the "Recent deliveries" table of a destination.
func (h *Handler) deliveriesView(c echo.Context, destinationID string) (views.Deliveries, error) {
	p := principal(c)
	list, err := h.store.ListDeliveries(c.Request().Context(), p.Tenant.ID, destinationID, recentDeliveries)
	if err != nil {
		return views.Deliveries{}, err
	}
	out := views.Deliveries{CSRFToken: csrfToken(c), DestinationID: destinationID, Rows: make([]views.DeliveryRow, len(list))}
	for i, d := range list {
		r := views.DeliveryRow{ID: d.ID, Time: d.CreatedAt.UTC().Format("2006-01-02 15:04:05 UTC"), Event: d.Event, Title: d.Title,
			Status: d.Status, StatusLabel: d.Status, Attempts: d.Attempts, Error: d.LastError,
			CanRetry: d.Status == models.DeliveryFailed && p.Can(models.RoleUser)}
		if d.LastStatusCode != nil {
			r.StatusCode = strconv.Itoa(*d.LastStatusCode)
		}
		if d.Status == models.DeliveryPending && d.Attempts > 0 {
			r.StatusLabel = "pending, next try " + d.NextAttemptAt.UTC().Format("15:04 UTC")
		}
		out.Rows[i] = r
	}
	return out, nil
}

// testMessage is what "Send test" delivers.
func testMessage(name string) notify.Message {
	return notify.Message{Event: "test", Title: "adpilot test message",
		Text: "This is a test from adpilot. If you can read it, " + name + " works.",
		Data: map[string]any{"test": true, "destination": name}}
}

// testDestination sends a test message now and reports the first attempt:
// htmx gets the outcome box (and the refreshed log), JSON the delivery, a
// plain form a flash on the destination's page.
func (h *Handler) testDestination(c echo.Context) error {
	d, err := h.loadDestination(c)
	if err != nil {
		return err
	}
	ctx, cancel := platformContext(c)
	defer cancel()
	del, err := h.dispatcher.SendNow(ctx, d.TenantID, d.ID, testMessage(d.Name))
	if err != nil {
		return err
	}
	outcome := testOutcome(d, del)
	switch {
	case wantsJSON(c):
		return c.JSON(http.StatusOK, toAPIDelivery(del))
	case IsPartial(c):
		dels, err := h.deliveriesView(c, d.ID)
		if err != nil {
			return err
		}
		return render(c, http.StatusOK, views.TestResult(outcome, dels))
	}
	kind := map[string]string{models.DeliveryDelivered: "success", models.DeliveryPending: "warning"}[del.Status]
	msg := outcome.Message
	if outcome.Detail != "" {
		msg += " " + outcome.Detail
	}
	_ = AddFlash(c, nameOr(kind, "error"), msg)
	return c.Redirect(http.StatusSeeOther, "/destinations/"+d.ID)
}

// testOutcome says what a test delivery's first attempt did.
func testOutcome(d models.Destination, del models.Delivery) views.TestOutcome {
	o := views.TestOutcome{DestinationID: d.ID, Outcome: del.Status}
	switch del.Status {
	case models.DeliveryDelivered:
		o.Message = "Delivered."
		switch {
		case d.Type == models.DestinationEmail:
			o.Detail = "The test email is queued for " + destinationSummary(d) + "."
		case del.LastStatusCode != nil:
			o.Detail = "The receiver answered " + strconv.Itoa(*del.LastStatusCode) + "."
		}
	case models.DeliveryPending:
		o.Message = "Will retry: " + del.LastError
		o.Detail = "The first attempt failed; the next try is at " + del.NextAttemptAt.UTC().Format("15:04:05 UTC") + "."
	default:
		o.Outcome = models.DeliveryFailed
		o.Message = "Failed: " + del.LastError
		o.Detail = "This error is not retried."
	}
	return o
}

// retryDelivery puts a failed delivery of this destination back in the
// queue, which sends it shortly.
func (h *Handler) retryDelivery(c echo.Context) error {
	d, err := h.loadDestination(c)
	if err != nil {
		return err
	}
	ctx, p := c.Request().Context(), principal(c)
	del, err := h.store.GetDelivery(ctx, p.Tenant.ID, c.Param("delivery"))
	if err != nil {
		return err
	}
	if del.DestinationID != d.ID { // another destination's delivery: not at this address
		return models.ErrNotFound
	}
	retried, err := h.store.RetryDelivery(ctx, p.User, del.ID, c.RealIP())
	if errors.Is(err, models.ErrNotFound) { // it exists: it is no longer failed
		return echo.NewHTTPError(http.StatusConflict, "Only a failed delivery can be retried; this one is "+del.Status+".")
	}
	if err != nil {
		return err
	}
	switch {
	case wantsJSON(c):
		return c.JSON(http.StatusOK, toAPIDelivery(retried))
	case IsPartial(c):
		dels, err := h.deliveriesView(c, d.ID)
		if err != nil {
			return err
		}
		return render(c, http.StatusOK, views.DeliveriesTable(dels, false))
	}
	_ = AddFlash(c, "success", "The delivery is queued again; it is sent within a minute.")
	return c.Redirect(http.StatusSeeOther, "/destinations/"+d.ID)
}

// apiDelivery is a delivery in the JSON API (no payload).
type apiDelivery struct {
	ID             string     `json:"id"`
	DestinationID  string     `json:"destination_id"`
	Event          string     `json:"event"`
	Title          string     `json:"title"`
	Status         string     `json:"status"` // pending, delivered, failed
	Attempts       int        `json:"attempts"`
	LastStatusCode *int       `json:"last_status_code"`
	LastError      string     `json:"last_error"`
	NextAttemptAt  *time.Time `json:"next_attempt_at,omitempty"` // pending only
	CreatedAt      time.Time  `json:"created_at"`
	DeliveredAt    *time.Time `json:"delivered_at"`
}

func toAPIDelivery(d models.Delivery) apiDelivery {
	out := apiDelivery{ID: d.ID, DestinationID: d.DestinationID, Event: d.Event, Title: d.Title, Status: d.Status,
		Attempts: d.Attempts, LastStatusCode: d.LastStatusCode, LastError: d.LastError, CreatedAt: d.CreatedAt, DeliveredAt: d.DeliveredAt}
	if d.Status == models.DeliveryPending {
		next := d.NextAttemptAt
		out.NextAttemptAt = &next
	}
	return out
}
