package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"adpilot/models"
	"adpilot/views"
)

// friendlyMessages replace the terse default texts of common statuses.
var friendlyMessages = map[int]string{
	http.StatusNotFound:              "There is nothing at this address. It may have moved, or the link may be mistyped.",
	http.StatusMethodNotAllowed:      "This address does not accept that kind of request.",
	http.StatusForbidden:             "You do not have permission to do that.",
	http.StatusRequestEntityTooLarge: "The request is larger than this server accepts.",
	http.StatusInternalServerError:   "Something went wrong on our side. It has been logged; please try again.",
	http.StatusServiceUnavailable:    "The service is temporarily unavailable. Please try again shortly.",
}

// errorHandledKey marks a request whose error has been answered.
const errorHandledKey = "adpilot.error_handled"

// HandleError is Echo's HTTPErrorHandler: it maps any error to a status and
// answers with JSON, an htmx notice fragment, or a full HTML page.
func (h *Handler) HandleError(err error, c echo.Context) {
	// The request logger already ran this handler for the same error; Echo
	// then calls it again with the response written.
	if c.Get(errorHandledKey) != nil {
		return
	}
	c.Set(errorHandledKey, true)
	status, message := h.classify(err)
	info := views.ErrorInfo{Status: status, Title: http.StatusText(status), Message: message, RequestID: requestID(c)}
	if status >= 500 || c.Response().Committed {
		h.logger.Error("request failed", "err", err, "status", status, "method", c.Request().Method,
			"path", c.Request().URL.Path, "request_id", info.RequestID, "response_started", c.Response().Committed)
	}
	if c.Response().Committed {
		return // too late to change the answer; logged above
	}
	noStore(c)

	var out error
	switch {
	case c.Request().Method == http.MethodHead:
		out = c.NoContent(status)
	case wantsJSON(c):
		out = c.JSON(status, map[string]string{"error": message, "request_id": info.RequestID})
	case IsPartial(c):
		// Errors land in the page's notice area, whatever the request targeted.
		// (A boosted navigation gets the full error page below.)
		c.Response().Header().Set(HXRetarget, "#notices")
		c.Response().Header().Set(HXReswap, "innerHTML")
		out = render(c, status, views.ErrorNotice(info))
	default:
		out = render(c, status, h.inLayout(c, info.Title, views.ErrorPage(info)))
	}
	if out != nil {
		h.logger.Error("writing error response", "err", out, "request_id", info.RequestID)
	}
}

// classify turns an error into a status code and a message safe to show.
func (h *Handler) classify(err error) (int, string) {
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		status := he.Code
		if status < 400 || status > 599 {
			status = http.StatusInternalServerError
		}
		if msg, ok := friendlyMessages[status]; ok && (isDefaultMessage(he) || status >= 500) {
			return status, msg
		}
		if status >= 500 {
			return status, http.StatusText(status)
		}
		return status, fmt.Sprint(he.Message)
	case errors.Is(err, models.ErrNotFound):
		return http.StatusNotFound, friendlyMessages[http.StatusNotFound]
	case errors.Is(err, models.ErrConflict):
		return http.StatusConflict, "That conflicts with something that already exists."
	default:
		return http.StatusInternalServerError, friendlyMessages[http.StatusInternalServerError]
	}
}

// isDefaultMessage reports whether an HTTPError carries only the status text.
func isDefaultMessage(he *echo.HTTPError) bool {
	msg, ok := he.Message.(string)
	return !ok || msg == "" || msg == http.StatusText(he.Code)
}

// wantsJSON reports whether the client speaks JSON rather than HTML: API
// paths, bearer-token clients, JSON bodies, and Accept headers preferring it.
func wantsJSON(c echo.Context) bool {
	r := c.Request()
	if strings.HasPrefix(r.URL.Path, "/api/") {
		return true
	}
	if strings.HasPrefix(r.Header.Get(echo.HeaderAuthorization), "Bearer ") {
		return true
	}
	if strings.HasPrefix(r.Header.Get(echo.HeaderContentType), echo.MIMEApplicationJSON) {
		return true
	}
	accept := r.Header.Get(echo.HeaderAccept)
	return strings.Contains(accept, echo.MIMEApplicationJSON) && !strings.Contains(accept, echo.MIMETextHTML)
}
