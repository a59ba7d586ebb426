package handlers

import (
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"adpilot/platforms"
)

// actionType is one Facebook action type (purchase, lead,
// offsite_conversion.fb_pixel_custom, onsite_conversion.messaging_first_reply…).
var actionType = regexp.MustCompile(`^[a-z0-9_]+(\.[a-z0-9_]+)*$`)

const maxConversionActions = 20

// parseConversionActions reads a comma- or space-separated list.
func parseConversionActions(raw string) ([]string, string) {
	var out []string
	seen := map[string]bool{}
	for _, a := range strings.FieldsFunc(strings.ToLower(raw), func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' }) {
		if len(a) > 100 || !actionType.MatchString(a) {
			return nil, "“" + filterText(a, 40) + "” is not an action type such as purchase, lead or offsite_conversion.fb_pixel_purchase."
		}
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	if len(out) > maxConversionActions {
		return nil, "Name at most 20 action types."
	}
	return out, ""
}

// saveConnectionSettings sets which Facebook action types count as
// conversions for one ad account (POST /connections/:id/settings, and
// PATCH /api/v1/connections/:id with {"conversion_actions": [...]}).
func (h *Handler) saveConnectionSettings(c echo.Context) error {
	var actions []string
	var problem string
	if isJSONRequest(c) {
		var body struct {
			ConversionActions []string `json:"conversion_actions"`
		}
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
		// A JSON list names each type: no splitting inside an element.
		for _, a := range body.ConversionActions {
			if strings.ContainsAny(a, ", \t\r\n") {
				problem = "“" + filterText(a, 40) + "” is not an action type such as purchase, lead or offsite_conversion.fb_pixel_purchase."
			}
		}
		if problem == "" {
			actions, problem = parseConversionActions(strings.Join(body.ConversionActions, ","))
		}
	} else {
		actions, problem = parseConversionActions(c.FormValue("conversion_actions"))
	}
	if problem != "" {
		if wantsJSON(c) {
			return validationError(c, fieldErrors{"conversion_actions": problem})
		}
		return echo.NewHTTPError(http.StatusUnprocessableEntity, problem)
	}
	p := principal(c)
	conn, err := h.store.GetConnection(c.Request().Context(), p.Tenant.ID, c.Param("id"))
	if err != nil {
		return err
	}
	if conn.Platform != platforms.Facebook || conn.Kind != platforms.KindAdAccount {
		return echo.NewHTTPError(http.StatusUnprocessableEntity, "Conversion actions apply to Facebook ad accounts only.")
	}
	conn, err = h.store.SetConversionActions(c.Request().Context(), p.User, conn.ID, actions, c.RealIP())
	if err != nil {
		return err
	}
	if wantsJSON(c) {
		return c.JSON(http.StatusOK, toAPIConnection(conn, time.Now()))
	}
	_ = AddFlash(c, "success", "Saved the conversion actions of "+nameOr(conn.AccountName, conn.AccountRef)+".")
	return c.Redirect(http.StatusSeeOther, "/connections")
}
