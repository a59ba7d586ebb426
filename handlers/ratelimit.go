package handlers

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
)

// rateRule is a limit of hits per window for one kind of request.
type rateRule struct {
	name   string
	limit  int
	window time.Duration
}

// The limits. Per-account rules key on the submitted email or username, so
// one address cannot be hammered from many IPs; per-IP rules stop one client
// trying many addresses.
var (
	loginPerIP       = rateRule{"login-ip", 30, 15 * time.Minute}
	loginPerAccount  = rateRule{"login-account", 10, 15 * time.Minute}
	registerPerIP    = rateRule{"register-ip", 10, time.Hour}
	registerPerEmail = rateRule{"register-email", 5, time.Hour}
	resendPerIP      = rateRule{"resend-ip", 20, time.Hour}
	forgotPerIP      = rateRule{"forgot-ip", 10, time.Hour}
	forgotPerAccount = rateRule{"forgot-account", 5, time.Hour}
	resendPerAccount = rateRule{"resend-account", 5, time.Hour}
	apiPerClient     = rateRule{"api", 300, time.Minute}
)

// limit counts one hit per rule and subject; the first rule over its limit
// answers 429 with Retry-After.
func (h *Handler) limit(c echo.Context, rule rateRule, subject string) error {
	ok, retry, err := h.store.Hit(c.Request().Context(), rule.name+":"+subject, rule.limit, rule.window)
	if err != nil {
		return err
	}
	if ok {
		return nil
	}
	secs := int(math.Ceil(retry.Seconds()))
	c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
	return echo.NewHTTPError(http.StatusTooManyRequests, fmt.Sprintf("Too many attempts. Try again in %s.", humanDuration(secs)))
}

func humanDuration(secs int) string {
	if secs < 90 {
		return fmt.Sprintf("%d seconds", secs)
	}
	return fmt.Sprintf("%d minutes", (secs+59)/60)
}

// apiRateLimit is the general limit of API calls (JSON bodies or bearer
// tokens), per signed-in user or else per IP.
func (h *Handler) apiRateLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !isJSONRequest(c) && !wantsJSON(c) {
			return next(c)
		}
		subject := "ip:" + c.RealIP()
		if p := principal(c); p != nil {
			subject = "user:" + p.User.ID
		}
		if err := h.limit(c, apiPerClient, subject); err != nil {
			return err
		}
		return next(c)
	}
}
