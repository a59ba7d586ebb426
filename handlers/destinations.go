package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"adpilot/models"
	"adpilot/notify"
	"adpilot/views"
)

// destinationsPage lists the tenant's destinations; members also get the
// buttons that add them.
func (h *Handler) destinationsPage(c echo.Context) error {
	p := principal(c)
	list, err := h.store.ListDestinations(c.Request().Context(), p.Tenant.ID)
	if err != nil {
		return err
	}
	rows := make([]views.DestinationRow, len(list))
	for i, d := range list {
		rows[i] = views.DestinationRow{ID: d.ID, Name: d.Name, Type: d.Type, TypeLabel: notify.TypeLabel(d.Type),
			Summary: destinationSummary(d), Active: d.IsActive, StatusLabel: destinationStatus(d)}
	}
	m := views.Destinations{CSRFToken: csrfToken(c), CanManage: p.Can(models.RoleUser), Rows: rows, TelegramEnabled: h.bot != nil}
	if h.bot == nil {
		m.TelegramHint = "Set TELEGRAM_BOT_TOKEN to enable."
	}
	return h.renderPage(c, http.StatusOK, "Destinations", views.DestinationsPage(m))
}

func destinationStatus(d models.Destination) string {
	switch {
	case d.IsActive:
		return "active"
	case d.DeactivatedReason != "":
		return "inactive: " + d.DeactivatedReason
	}
	return "inactive"
}

// destinationSummary is the one line under a destination's name.
func destinationSummary(d models.Destination) string {
	switch d.Type {
	case models.DestinationTelegram:
		return d.Telegram().ChatTitle
	case models.DestinationWebhook:
		if u, err := url.Parse(d.Webhook().URL); err == nil {
			return u.Host
		}
	case models.DestinationEmail:
		addrs := d.Email().Addresses
		if len(addrs) > 3 {
			return fmt.Sprintf("%s and %d more", strings.Join(addrs[:3], ", "), len(addrs)-3)
		}
		return strings.Join(addrs, ", ")
	}
	return ""
}

// destinationConfig describes the settings for people: a webhook's header
// names only, never their values or the signing secret.
func destinationConfig(d models.Destination) []views.ConfigItem {
	switch d.Type {
	case models.DestinationTelegram:
		t := d.Telegram()
		return []views.ConfigItem{
			{Label: "Chat", Value: t.ChatTitle},
			{Label: "Chat type", Value: t.ChatType},
			{Label: "Chat id", Value: fmt.Sprint(t.ChatID)},
		}
	case models.DestinationWebhook:
		w := d.Webhook()
		headers := "none"
		if len(w.HeaderNames) > 0 {
			headers = strings.Join(w.HeaderNames, ", ")
		}
		return []views.ConfigItem{
			{Label: "URL", Value: w.URL},
			{Label: "Custom headers", Value: headers},
			{Label: "Signing secret", Value: "set; shown only when created or rotated"},
		}
	case models.DestinationEmail:
		return []views.ConfigItem{{Label: "Addresses", Value: strings.Join(d.Email().Addresses, ", ")}}
	}
	return nil
}

// loadDestination is the :id destination of this tenant (404 otherwise,
// malformed ids included).
func (h *Handler) loadDestination(c echo.Context) (models.Destination, error) {
	return h.store.GetDestination(c.Request().Context(), principal(c).Tenant.ID, c.Param("id"))
}

// destinationPage shows one destination with its recent deliveries.
func (h *Handler) destinationPage(c echo.Context) error {
	d, err := h.loadDestination(c)
	if err != nil {
		return err
	}
	dels, err := h.deliveriesView(c, d.ID)
	if err != nil {
		return err
	}
	p := principal(c)
	return h.renderPage(c, http.StatusOK, d.Name, views.DestinationPage(views.DestinationDetail{
		CSRFToken: csrfToken(c), CanManage: p.Can(models.RoleUser), ID: d.ID, Name: d.Name, Type: d.Type,
		TypeLabel: notify.TypeLabel(d.Type), Active: d.IsActive, StatusLabel: destinationStatus(d),
		Config: destinationConfig(d), Deliveries: dels,
	}))
}

// setDestinationActive deactivates or reactivates a destination by hand.
func (h *Handler) setDestinationActive(active bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		p := principal(c)
		d, err := h.store.SetDestinationActive(c.Request().Context(), p.User, c.Param("id"), active, c.RealIP())
		if err != nil {
			return err
		}
		if wantsJSON(c) {
			return c.JSON(http.StatusOK, toAPIDestination(d))
		}
		msg := "Deactivated " + d.Name + ": nothing is delivered to it until it is activated again."
		if active {
			msg = "Activated " + d.Name + "."
		}
		_ = AddFlash(c, "success", msg)
		return c.Redirect(http.StatusSeeOther, "/destinations/"+d.ID)
	}
}

// deleteDestination removes a destination no automation uses.
func (h *Handler) deleteDestination(c echo.Context) error {
	p := principal(c)
	d, err := h.store.DeleteDestination(c.Request().Context(), p.User, c.Param("id"), c.RealIP())
	if errors.Is(err, models.ErrInUse) {
		return echo.NewHTTPError(http.StatusConflict,
			"An automation uses this destination: point that automation elsewhere or delete it first.")
	}
	if err != nil {
		return err
	}
	if wantsJSON(c) {
		return c.NoContent(http.StatusNoContent)
	}
	_ = AddFlash(c, "success", "Deleted "+d.Name+".")
	return c.Redirect(http.StatusSeeOther, "/destinations")
}

// rotateDestinationSecret gives a webhook a new signing secret, keeping its
// custom headers, and shows the secret once.
func (h *Handler) rotateDestinationSecret(c echo.Context) error {
	d, err := h.loadDestination(c)
	if err != nil {
		return err
	}
	if d.Type != models.DestinationWebhook {
		return echo.NewHTTPError(http.StatusUnprocessableEntity, "Only webhooks have a signing secret.")
	}
	ctx, p := c.Request().Context(), principal(c)
	sec, err := h.store.DestinationSecrets(ctx, p.Tenant.ID, d.ID)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return err
	}
	secret := notify.NewWebhookSecret()
	d, err = h.store.UpdateDestination(ctx, p.User, d.ID, models.DestinationInput{Name: d.Name, Type: d.Type, Config: d.Config,
		Secrets: &models.WebhookSecrets{SigningSecret: secret, Headers: sec.Headers}}, c.RealIP())
	if err != nil {
		return err
	}
	if wantsJSON(c) {
		noStore(c)
		return c.JSON(http.StatusOK, map[string]string{"signing_secret": secret})
	}
	return h.renderSecret(c, http.StatusOK, d, secret, true)
}

// renderSecret shows a signing secret once: the page must never be cached.
func (h *Handler) renderSecret(c echo.Context, status int, d models.Destination, secret string, rotated bool) error {
	return h.renderUncached(c, status, "Signing secret", views.DestinationSecretPage(views.DestinationSecret{
		ID: d.ID, Name: d.Name, Secret: secret, Rotated: rotated}))
}

// renderUncached is renderPage for pages holding a secret or a one-time code.
func (h *Handler) renderUncached(c echo.Context, status int, title string, content templ.Component) error {
	varyOnHTMX(c)
	noStore(c)
	if IsPartial(c) {
		return render(c, status, content)
	}
	return render(c, status, h.inLayout(c, title, content))
}

// editDestinationPage is the edit form, filled with the current settings.
func (h *Handler) editDestinationPage(c echo.Context) error {
	d, err := h.loadDestination(c)
	if err != nil {
		return err
	}
	raw := destinationRaw{Name: d.Name, URL: d.Webhook().URL, Addresses: strings.Join(d.Email().Addresses, "\n")}
	return h.renderEdit(c, http.StatusOK, d, raw, fieldErrors{})
}

func (h *Handler) renderEdit(c echo.Context, status int, d models.Destination, raw destinationRaw, errs fieldErrors) error {
	var names []string
	if d.Type == models.DestinationWebhook {
		names = d.Webhook().HeaderNames
	}
	return h.renderPage(c, status, "Edit "+d.Name, views.EditDestinationPage(
		destinationForm(c, d.Type, "/destinations/"+d.ID, raw, errs, names), d.ID, d.Name))
}

// updateDestination saves the edit form; the type never changes. Custom
// headers: an empty box keeps them (their values are never shown, so they
// cannot be filled in), typed lines replace them all, and "Remove all"
// drops them. The signing secret always stays.
func (h *Handler) updateDestination(c echo.Context) error {
	d, err := h.loadDestination(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	raw, draft, errs := readDestinationForm(c, d.Type)
	if d.Type == models.DestinationTelegram {
		checkText(errs, "name", draft.Name, "Name", true, maxDestinationName)
	} else {
		h.checkDestination(ctx, draft, errs)
	}
	if len(errs) > 0 {
		if wantsJSON(c) {
			return validationError(c, errs)
		}
		return h.renderEdit(c, http.StatusUnprocessableEntity, d, raw, errs)
	}
	if d, err = h.saveDraft(c, d, draft, raw.ClearHeaders || len(draft.Headers) > 0); err != nil {
		return err
	}
	if wantsJSON(c) {
		return c.JSON(http.StatusOK, toAPIDestination(d))
	}
	_ = AddFlash(c, "success", "Saved "+d.Name+".")
	return c.Redirect(http.StatusSeeOther, "/destinations/"+d.ID)
}

// saveDraft stores an edited destination. With newHeaders a webhook's
// custom headers are replaced (its signing secret stays); otherwise kept.
func (h *Handler) saveDraft(c echo.Context, d models.Destination, draft destinationDraft, newHeaders bool) (models.Destination, error) {
	ctx, p := c.Request().Context(), principal(c)
	in := models.DestinationInput{Name: draft.Name, Type: d.Type, Config: d.Config}
	switch d.Type {
	case models.DestinationWebhook:
		names := d.Webhook().HeaderNames
		if newHeaders {
			sec, err := h.store.DestinationSecrets(ctx, p.Tenant.ID, d.ID)
			if err != nil {
				return d, err
			}
			in.Secrets = &models.WebhookSecrets{SigningSecret: sec.SigningSecret, Headers: draft.Headers}
			names = sortedHeaderNames(draft.Headers)
		}
		in.Config = models.WebhookConfig{URL: draft.URL, HeaderNames: names}
	case models.DestinationEmail:
		in.Config = models.EmailConfig{Addresses: draft.Addresses}
	}
	return h.store.UpdateDestination(ctx, p.User, d.ID, in, c.RealIP())
}
