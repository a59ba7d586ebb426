package handlers

import (
	"bytes"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"adpilot/static"
)

// serveStatic serves embedded assets. URLs built by static.URL carry the
// content hash, so a matching ?v= is cached for a year; others revalidate.
func (h *Handler) serveStatic(c echo.Context) error {
	asset, ok := static.Lookup(c.Param("*"))
	if !ok {
		return echo.ErrNotFound
	}
	header := c.Response().Header()
	header.Set("ETag", `"`+asset.Hash+`"`)
	if c.QueryParam("v") == asset.Hash {
		header.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		header.Set("Cache-Control", "public, max-age=300, must-revalidate")
	}
	http.ServeContent(c.Response(), c.Request(), asset.Name, time.Time{}, bytes.NewReader(asset.Content))
	return nil
}
