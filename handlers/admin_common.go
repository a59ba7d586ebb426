package handlers

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"adpilot/views"
)

const adminPageSize = 50

// adminIndex links every operator section.
func (h *Handler) adminIndex(c echo.Context) error {
	return h.renderPage(c, http.StatusOK, "Admin", views.AdminIndexPage())
}

// adminReturn is where an operator action goes back to: the list it was
// made from (with its filters), if that is an /admin page, else fallback.
func adminReturn(c echo.Context, fallback string) string {
	ret := c.FormValue("return")
	if ret == "" || !plainText(ret) || len(ret) > 2000 {
		return fallback
	}
	u, err := url.Parse(ret)
	if err != nil || u.IsAbs() || u.Host != "" || !strings.HasPrefix(u.Path, "/admin") || safeNext(ret) != ret {
		return fallback
	}
	return ret
}

// adminDone answers a successful operator action: 204 for JSON clients, a
// flash and a redirect back for browsers.
func adminDone(c echo.Context, status int, data any, msg, back string) error {
	if wantsJSON(c) {
		if data == nil {
			return c.NoContent(http.StatusNoContent)
		}
		return c.JSON(status, data)
	}
	_ = AddFlash(c, "success", msg)
	return c.Redirect(http.StatusSeeOther, back)
}

// selfURL is this request's path and query, for actions to come back to.
func selfURL(c echo.Context) string { return c.Request().URL.RequestURI() }

// oneOf returns v when it is one of allowed, else "".
func oneOf(v string, allowed ...string) string {
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	return ""
}

func adminTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }

func adminTimePtr(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return adminTime(*t)
}
