package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode"

	"github.com/labstack/echo/v4"

	"adpilot/models"
	"adpilot/notify"
	"adpilot/views"
)

const (
	maxDestinationName = 100
	maxEmailAddresses  = 20
	maxTextArea        = 100_000 // a textarea longer than any valid input is refused unread
)

// destinationDraft is a destination as submitted by the form or the API.
type destinationDraft struct {
	Name, Type, URL string
	Headers         map[string]string
	Addresses       []string
}

// destinationRaw is the form as typed, echoed back beside its errors.
type destinationRaw struct {
	Name, URL, Headers, Addresses string
	ClearHeaders                  bool
}

// readDestinationForm parses the form fields typ uses.
func readDestinationForm(c echo.Context, typ string) (destinationRaw, destinationDraft, fieldErrors) {
	raw := destinationRaw{Name: formValue(c, "name"), URL: formValue(c, "url"), Headers: c.FormValue("headers"),
		Addresses: c.FormValue("addresses"), ClearHeaders: c.FormValue("clear_headers") == "true"}
	draft := destinationDraft{Name: raw.Name, Type: typ, URL: raw.URL}
	errs := fieldErrors{}
	switch typ {
	case models.DestinationWebhook:
		draft.Headers = parseHeaderLines(raw.Headers, errs)
	case models.DestinationEmail:
		draft.Addresses = splitAddresses(raw.Addresses, errs)
	}
	return raw, draft, errs
}

// parseHeaderLines reads "Name: value" lines. Messages never quote a value:
// header values are usually credentials.
func parseHeaderLines(raw string, errs fieldErrors) map[string]string {
	if len(raw) > maxTextArea {
		errs.add("headers", "The headers are too long.")
		return nil
	}
	out := map[string]string{}
	for i, line := range strings.Split(raw, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			errs.add("headers", fmt.Sprintf("Line %d is not of the form “Name: value”.", i+1))
			return nil
		}
		if _, dup := out[http.CanonicalHeaderKey(name)]; dup {
			errs.add("headers", fmt.Sprintf("Header %s is given twice.", filterText(http.CanonicalHeaderKey(name), 80)))
			return nil
		}
		out[http.CanonicalHeaderKey(name)] = strings.TrimSpace(value)
	}
	return out
}

// splitAddresses reads addresses separated by commas, semicolons or
// whitespace, dropping repeats.
func splitAddresses(raw string, errs fieldErrors) []string {
	if len(raw) > maxTextArea {
		errs.add("addresses", "The address list is too long.")
		return nil
	}
	var out []string
	for _, a := range strings.FieldsFunc(raw, func(r rune) bool { return r == ',' || r == ';' || unicode.IsSpace(r) }) {
		if a = strings.ToLower(a); !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// checkDestination validates a draft: the same rules for the form and the API.
func (h *Handler) checkDestination(ctx context.Context, d destinationDraft, errs fieldErrors) {
	checkText(errs, "name", d.Name, "Name", true, maxDestinationName)
	switch d.Type {
	case models.DestinationWebhook:
		var ue *notify.URLError
		switch err := h.urlPolicy.Validate(ctx, d.URL); {
		case d.URL == "":
			errs.add("url", "URL is required.")
		case !plainText(d.URL):
			errs.add("url", "The URL contains invalid characters.")
		case errors.As(err, &ue):
			errs.add("url", "The URL "+ue.Msg+".")
		case err != nil:
			errs.add("url", "The URL cannot be used.")
		}
		for name, value := range d.Headers {
			if !plainText(name) || !plainText(value) {
				errs.add("headers", "A header contains invalid characters.")
			}
		}
		if err := notify.ValidateHeaders(d.Headers); err != nil {
			msg := err.Error()
			errs.add("headers", strings.ToUpper(msg[:1])+msg[1:]+".")
		}
	case models.DestinationEmail:
		switch {
		case len(d.Addresses) == 0:
			errs.add("addresses", "Enter at least one email address.")
		case len(d.Addresses) > maxEmailAddresses:
			errs.add("addresses", fmt.Sprintf("Enter at most %d addresses.", maxEmailAddresses))
		}
		for _, a := range d.Addresses {
			one := fieldErrors{}
			if checkEmail(one, "a", a); len(one) > 0 {
				errs.add("addresses", "“"+filterText(a, 60)+"” is not a valid email address, like name@example.com.")
			}
		}
	case models.DestinationTelegram:
		errs.add("type", "Telegram chats are added with “Add Telegram chat” on the destinations page.")
	default:
		errs.add("type", "Choose webhook or email.")
	}
}

// sortedHeaderNames are the names kept in the (non-secret) config.
func sortedHeaderNames(h map[string]string) []string {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// createFromDraft stores a valid draft; a webhook gets a new signing
// secret, returned for showing once.
func (h *Handler) createFromDraft(c echo.Context, d destinationDraft) (models.Destination, string, error) {
	in := models.DestinationInput{Name: d.Name, Type: d.Type}
	var secret string
	switch d.Type {
	case models.DestinationWebhook:
		secret = notify.NewWebhookSecret()
		in.Config = models.WebhookConfig{URL: d.URL, HeaderNames: sortedHeaderNames(d.Headers)}
		in.Secrets = &models.WebhookSecrets{SigningSecret: secret, Headers: d.Headers}
	case models.DestinationEmail:
		in.Config = models.EmailConfig{Addresses: d.Addresses}
	}
	dest, err := h.store.CreateDestination(c.Request().Context(), principal(c).User, in, c.RealIP())
	return dest, secret, err
}

// destinationForm builds the view of the add or edit form.
func destinationForm(c echo.Context, typ, action string, raw destinationRaw, errs fieldErrors, headerNames []string) views.DestinationForm {
	f := views.DestinationForm{CSRFToken: csrfToken(c), Action: action, Type: typ, Editing: action != "/destinations",
		HeaderNames: headerNames, Error: errs["type"], Submit: "Add destination",
		Fields: []views.Field{{Name: "name", Label: "Name", Type: "text", Value: raw.Name, Error: errs["name"],
			Required: true, MaxLength: maxDestinationName, Autocomplete: "off"}}}
	if f.Editing {
		f.Submit = "Save"
	}
	switch typ {
	case models.DestinationWebhook:
		f.Fields = append(f.Fields, views.Field{Name: "url", Label: "URL", Type: "url", Value: raw.URL, Error: errs["url"],
			Required: true, MaxLength: notify.MaxWebhookURLLength, Autocomplete: "off", Hint: "Where adpilot POSTs signed JSON."})
		hint := "Optional: one “Name: value” per line, such as Authorization: Bearer …"
		if len(headerNames) > 0 {
			hint = "Now set: " + strings.Join(headerNames, ", ") + ". Leave empty to keep them (values are never shown); lines typed here replace them all."
		}
		f.Areas = []views.TextArea{{Name: "headers", Label: "Custom headers", Value: raw.Headers, Error: errs["headers"], Hint: hint}}
	case models.DestinationEmail:
		f.Areas = []views.TextArea{{Name: "addresses", Label: "Addresses", Value: raw.Addresses, Error: errs["addresses"],
			Hint: fmt.Sprintf("1 to %d addresses, separated by commas or new lines.", maxEmailAddresses)}}
	}
	return f
}

// newDestinationPage is the add form of a webhook or an email list.
func (h *Handler) newDestinationPage(c echo.Context) error {
	typ := c.QueryParam("type")
	if typ != models.DestinationEmail {
		typ = models.DestinationWebhook // a page read never fails on a bad query
	}
	return h.renderPage(c, http.StatusOK, "Add a destination",
		views.NewDestinationPage(destinationForm(c, typ, "/destinations", destinationRaw{}, fieldErrors{}, nil)))
}

// createDestination adds a webhook (showing its secret once) or an email list.
func (h *Handler) createDestination(c echo.Context) error {
	if isJSONRequest(c) {
		return h.apiCreateDestination(c)
	}
	typ := c.FormValue("type")
	raw, draft, errs := readDestinationForm(c, typ)
	h.checkDestination(c.Request().Context(), draft, errs)
	if len(errs) > 0 {
		if wantsJSON(c) {
			return validationError(c, errs)
		}
		if typ != models.DestinationEmail {
			typ = models.DestinationWebhook
		}
		return h.renderPage(c, http.StatusUnprocessableEntity, "Add a destination",
			views.NewDestinationPage(destinationForm(c, typ, "/destinations", raw, errs, nil)))
	}
	d, secret, err := h.createFromDraft(c, draft)
	if err != nil {
		return err
	}
	if d.Type == models.DestinationWebhook {
		return h.renderSecret(c, http.StatusCreated, d, secret, false)
	}
	_ = AddFlash(c, "success", "Added "+d.Name+". Send a test to check it.")
	return c.Redirect(http.StatusSeeOther, "/destinations/"+d.ID)
}
