package handlers

import "github.com/labstack/echo/v4"

// htmx request and response headers (https://htmx.org/reference/#headers).
const (
	HXRequest  = "HX-Request"
	HXBoosted  = "HX-Boosted"
	HXTarget   = "HX-Target"
	HXRetarget = "HX-Retarget"
	HXReswap   = "HX-Reswap"
	HXRedirect = "HX-Redirect"
	HXTrigger  = "HX-Trigger"
)

// IsHTMX reports whether the request was made by htmx.
func IsHTMX(c echo.Context) bool { return c.Request().Header.Get(HXRequest) == "true" }

// IsPartial reports whether the response should be a fragment rather than a
// full page: an htmx request that is not a boosted navigation.
func IsPartial(c echo.Context) bool {
	return IsHTMX(c) && c.Request().Header.Get(HXBoosted) != "true"
}

// varyOnHTMX tells caches that the same URL answers a page or a fragment.
func varyOnHTMX(c echo.Context) { c.Response().Header().Add(echo.HeaderVary, HXRequest) }
