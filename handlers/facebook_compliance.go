package handlers

import (
	"crypto/rand"
	"errors"
	"net/http"
	"regexp"

	"github.com/labstack/echo/v4"

	"adpilot/models"
	"adpilot/platforms"
	"adpilot/views"
)

// signedRequestUser verifies Facebook's signed_request (HMAC-SHA256 with
// FB_APP_SECRET, compared in constant time) and returns its user id.
func (h *Handler) signedRequestUser(c echo.Context) (string, error) {
	fb := h.platforms.Facebook
	if !fb.Configured() {
		return "", echo.NewHTTPError(http.StatusServiceUnavailable, "Facebook is not configured on this server.")
	}
	raw := c.FormValue("signed_request")
	if raw == "" {
		return "", echo.NewHTTPError(http.StatusBadRequest, "signed_request is missing.")
	}
	req, err := fb.ParseSignedRequest(raw)
	if err != nil || req.UserID == "" {
		return "", echo.NewHTTPError(http.StatusBadRequest, "signed_request is invalid.")
	}
	return req.UserID, nil
}

// facebookDeauthorize is Facebook's deauthorize callback: the user removed
// the app, so every token they granted, in every tenant, goes.
func (h *Handler) facebookDeauthorize(c echo.Context) error {
	userID, err := h.signedRequestUser(c)
	if err != nil {
		return err
	}
	n, err := h.store.DeletePlatformUserConnections(c.Request().Context(), platforms.Facebook, userID, "deauthorized")
	if err != nil {
		return err
	}
	h.logger.Info("facebook deauthorize: connections deleted", "count", n)
	return c.JSON(http.StatusOK, map[string]any{"success": true})
}

// facebookDataDeletion is Facebook's data-deletion callback: delete, then
// answer where the user can see the outcome.
func (h *Handler) facebookDataDeletion(c echo.Context) error {
	userID, err := h.signedRequestUser(c)
	if err != nil {
		return err
	}
	code := rand.Text() // 26 base32 characters: alphanumeric as Facebook requires
	d, err := h.store.RecordDataDeletion(c.Request().Context(), platforms.Facebook, userID, code)
	if err != nil {
		return err
	}
	h.logger.Info("facebook data deletion: connections deleted", "count", d.DeletedCount, "confirmation_code", code)
	return c.JSON(http.StatusOK, map[string]string{
		"url":               h.cfg.BaseURL + "/oauth/facebook/data-deletion/" + code,
		"confirmation_code": code,
	})
}

var confirmationCode = regexp.MustCompile(`^[A-Za-z0-9]{16,64}$`)

// dataDeletionStatus is the public status page of a deletion request.
func (h *Handler) dataDeletionStatus(c echo.Context) error {
	code := c.Param("code")
	if !confirmationCode.MatchString(code) {
		return echo.NewHTTPError(http.StatusNotFound, "There is no data-deletion request with this confirmation code.")
	}
	d, err := h.store.GetDataDeletion(c.Request().Context(), code)
	if errors.Is(err, models.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, "There is no data-deletion request with this confirmation code.")
	}
	if err != nil {
		return err
	}
	v := views.DataDeletionStatus{Code: d.ConfirmationCode, Status: d.Status, DeletedCount: d.DeletedCount,
		RequestedAt: d.CreatedAt.UTC().Format("2006-01-02 15:04 UTC")}
	if d.CompletedAt != nil {
		v.CompletedAt = d.CompletedAt.UTC().Format("2006-01-02 15:04 UTC")
	}
	return h.renderPage(c, http.StatusOK, "Data deletion request", views.DataDeletionPage(v))
}
