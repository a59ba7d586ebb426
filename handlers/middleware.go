package handlers

import (
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo-contrib/session"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"adpilot/metrics"
)

// contentSecurityPolicy allows no inline script or style and no third-party
// origin. Pico's icons are data: SVGs, hence img-src data:.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; " +
	"base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

// maxBodySize caps request bodies (webhook payloads included).
const maxBodySize = "1MiB"

// Register installs the error handler, the middleware every request gets,
// and the routes. Browser-only middleware (session, CSRF) is attached per
// route in routes.go, so machine endpoints and unknown paths never set cookies.
func (h *Handler) Register(e *echo.Echo) {
	e.HTTPErrorHandler = h.HandleError
	e.IPExtractor = h.ipExtractor()

	e.Use(sanitizeRequestID)
	e.Use(middleware.RequestIDWithConfig(middleware.RequestIDConfig{Generator: uuid.NewString}))
	e.Use(h.requestLogger())
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			h.logger.Error("panic", "err", err, "request_id", requestID(c), "stack", string(stack))
			return err
		},
	}))
	e.Use(middleware.SecureWithConfig(middleware.SecureConfig{
		XSSProtection:         "0", // the legacy XSS auditor does harm; the CSP does the work
		ContentTypeNosniff:    "nosniff",
		XFrameOptions:         "DENY",
		HSTSMaxAge:            h.hstsMaxAge(),
		ContentSecurityPolicy: contentSecurityPolicy,
		ReferrerPolicy:        "strict-origin-when-cross-origin",
	}))
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Response().Header().Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
			return next(c)
		}
	})
	e.Use(middleware.BodyLimit(maxBodySize))
	e.Use(middleware.GzipWithConfig(middleware.GzipConfig{
		Level:     5,
		MinLength: 1024,
		// A compressed body would not match the byte ranges asked for.
		Skipper: func(c echo.Context) bool { return c.Request().Header.Get("Range") != "" },
	}))

	h.browser = []echo.MiddlewareFunc{
		session.Middleware(h.sessions),
		middleware.CSRFWithConfig(middleware.CSRFConfig{
			TokenLookup:    "header:X-CSRF-Token,form:_csrf",
			CookieName:     "adpilot_csrf",
			CookiePath:     "/",
			CookieHTTPOnly: true,
			CookieSecure:   h.cfg.SecureCookies(),
			CookieSameSite: http.SameSiteLaxMode,
			Skipper:        noAmbientCredentials,
		}),
		h.authenticate,
		h.apiRateLimit,
	}
	h.Routes(e)
}

// noAmbientCredentials exempts from CSRF what a forged cross-site request
// cannot be: a bearer-token call (authenticated by the token alone, never
// the cookie) or a JSON body (a cross-site page cannot send
// application/json without a CORS preflight, which this server never grants).
func noAmbientCredentials(c echo.Context) bool {
	return strings.HasPrefix(c.Request().Header.Get(echo.HeaderAuthorization), "Bearer ") || isJSONRequest(c)
}

// validRequestID matches the request IDs we accept from a proxy in front.
var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// sanitizeRequestID drops an incoming X-Request-Id that is not a plain token,
// so a client cannot put markup or log noise into our pages and logs; the
// RequestID middleware then generates a fresh one.
func sanitizeRequestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if id := c.Request().Header.Get(echo.HeaderXRequestID); id != "" && !validRequestID.MatchString(id) {
			c.Request().Header.Del(echo.HeaderXRequestID)
		}
		return next(c)
	}
}

func (h *Handler) hstsMaxAge() int {
	if h.cfg.SecureCookies() {
		return 63072000 // two years
	}
	return 0
}

// ipExtractor trusts X-Forwarded-For only from TRUSTED_PROXIES; by default the
// client IP is the peer address, which nobody can forge.
func (h *Handler) ipExtractor() echo.IPExtractor {
	if len(h.cfg.TrustedProxies) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, cidr := range h.cfg.TrustedProxies {
		if _, n, err := net.ParseCIDR(strings.TrimSpace(cidr)); err == nil {
			opts = append(opts, echo.TrustIPRange(n))
		}
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// requestLogger writes one structured line per request. It logs the path
// without its query string, which may carry OAuth codes or tokens.
func (h *Handler) requestLogger() echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		HandleError:  true, // let the error handler set the status before logging
		LogStatus:    true,
		LogLatency:   true,
		LogMethod:    true,
		LogURIPath:   true,
		LogRoutePath: true,
		LogRemoteIP:  true,
		LogRequestID: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			route := v.RoutePath
			if route == "" || route == "/*" {
				route = "unmatched" // a raw path per series would let any visitor grow /metrics
			}
			metrics.ObserveHTTP(route, v.Method, v.Status, v.Latency)
			level := slog.LevelInfo
			switch {
			case v.Status >= 500:
				level = slog.LevelError
			case strings.HasPrefix(v.URIPath, "/health") || strings.HasPrefix(v.URIPath, "/static/"):
				level = slog.LevelDebug
			}
			h.logger.LogAttrs(c.Request().Context(), level, "request",
				slog.String("method", v.Method), slog.String("path", v.URIPath), slog.String("route", v.RoutePath),
				slog.Int("status", v.Status), slog.Duration("latency", v.Latency),
				slog.String("ip", v.RemoteIP), slog.String("request_id", v.RequestID))
			return nil
		},
	})
}
