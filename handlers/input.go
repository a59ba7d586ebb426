package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

// fieldErrors maps a field name to what is wrong with it.
type fieldErrors map[string]string

func (f fieldErrors) add(field, msg string) {
	if _, seen := f[field]; !seen {
		f[field] = msg
	}
}

// validationError answers invalid input with 422: JSON with the fields for
// API clients; HTML forms re-render themselves instead (see the handlers).
func validationError(c echo.Context, errs fieldErrors) error {
	return c.JSON(http.StatusUnprocessableEntity, map[string]any{
		"error": "Some fields are invalid.", "fields": errs,
	})
}

// isJSONRequest reports a JSON body (the API); anything else is a form.
func isJSONRequest(c echo.Context) bool {
	return strings.HasPrefix(c.Request().Header.Get(echo.HeaderContentType), echo.MIMEApplicationJSON)
}

// decodeJSON reads a JSON object body into dst. Malformed JSON is a 400,
// an oversized body a 413: never a 500.
func decodeJSON(c echo.Context, dst any) error {
	dec := json.NewDecoder(c.Request().Body)
	if err := dec.Decode(dst); err != nil {
		var tooBig *http.MaxBytesError
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &tooBig) || strings.Contains(err.Error(), "request body too large"):
			return echo.NewHTTPError(http.StatusRequestEntityTooLarge, "The request body is too large.")
		case errors.As(err, &typeErr):
			return echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("Field %q has the wrong type.", typeErr.Field))
		default:
			return echo.NewHTTPError(http.StatusBadRequest, "The body is not a valid JSON object.")
		}
	}
	return nil
}

// formValue reads a form field; a body that cannot be parsed reads as empty.
func formValue(c echo.Context, name string) string {
	return strings.TrimSpace(c.FormValue(name))
}

// checkText validates a required (or optional) single-line text field.
func checkText(errs fieldErrors, field, value, label string, required bool, max int) {
	switch {
	case value == "" && required:
		errs.add(field, label+" is required.")
	case !utf8.ValidString(value):
		errs.add(field, label+" contains invalid characters.")
	case utf8.RuneCountInString(value) > max:
		errs.add(field, fmt.Sprintf("%s must be at most %d characters.", label, max))
	case strings.ContainsAny(value, "\r\n\x00"):
		errs.add(field, label+" must be a single line.")
	}
}

// checkEmail validates an email address (a bare address, no display name).
func checkEmail(errs fieldErrors, field, value string) {
	if value == "" {
		errs.add(field, "Email is required.")
		return
	}
	addr, err := mail.ParseAddress(value)
	if err != nil || addr.Address != value || len(value) > 254 || !strings.Contains(value[strings.LastIndex(value, "@"):], ".") {
		errs.add(field, "Enter a valid email address, like name@example.com.")
	}
}

// safeNext keeps a post-login redirect inside this site: a path, never
// another host ("//evil.com", "/\evil.com", "https://...").
// Browsers drop tabs and newlines anywhere in a URL, so any control
// character or backslash is refused outright.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) {
		return "/"
	}
	return next
}

// plainText reports text PostgreSQL can store and compare: valid UTF-8
// without NUL bytes.
func plainText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// filterText makes a free-text filter from a query string safe to search
// with: invalid text is ignored rather than refused, as on any read-only page.
func filterText(s string, max int) string {
	if !plainText(s) {
		return ""
	}
	return truncate(s, max)
}
