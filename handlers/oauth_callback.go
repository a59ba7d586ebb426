package handlers

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"adpilot/models"
	"adpilot/platforms"
)

// pendingPick is what a Facebook callback keeps (encrypted) until the user
// picks accounts: the long-lived user token and everything it reaches.
type pendingPick struct {
	Token    platforms.Token     `json:"token"`
	Accounts []platforms.Account `json:"accounts"`
}

// oauthCallback finishes a connect flow. Facebook goes on to a checklist of
// the accounts found; TikTok connects its account(s) at once.
func (h *Handler) oauthCallback(platform string) echo.HandlerFunc {
	return func(c echo.Context) error {
		label := platforms.Label(platform)
		stateOK := h.takeOAuthState(c, platform)
		q := c.QueryParams()
		if e := q.Get("error"); e != "" {
			msg := label + " did not grant access"
			if e == "access_denied" {
				msg = "You cancelled the " + label + " consent, so nothing was connected. Try again and approve the requested permissions to connect your accounts."
			} else if d := filterText(q.Get("error_description"), 300); d != "" && stateOK {
				// Only a callback this session started may put the
				// platform's words on our page.
				msg += ": " + d
			}
			return h.oauthFailed(c, platform, http.StatusForbidden, "Access was not granted", msg)
		}
		if !stateOK {
			return h.oauthFailed(c, platform, http.StatusBadRequest, "This link has expired",
				"The sign-in with "+label+" could not be matched to this browser session (it was opened in another browser, used twice, or took longer than 15 minutes). Start again.")
		}
		if q.Get("code") == "" && q.Get("auth_code") == "" {
			return h.oauthFailed(c, platform, http.StatusBadRequest, "Nothing to connect", label+" sent no authorization code. Start again.")
		}
		conn, _ := h.platforms.Connector(platform)
		if !conn.Configured() {
			return h.oauthFailed(c, platform, http.StatusServiceUnavailable, "Not set up yet", label+" is not configured on this server.")
		}
		ctx, cancel := platformContext(c)
		defer cancel()
		token, accounts, err := conn.Complete(ctx, q)
		if err != nil {
			return h.oauthPlatformError(c, platform, err)
		}
		if platform == platforms.Facebook {
			return h.startPick(c, platform, token, accounts)
		}
		return h.connectAll(c, platform, token, accounts)
	}
}

// oauthPlatformError explains a platform's refusal: a used or expired code
// is the request's fault (400); anything else is the platform's (502).
func (h *Handler) oauthPlatformError(c echo.Context, platform string, err error) error {
	label := platforms.Label(platform)
	var pe *platforms.Error
	if !errors.As(err, &pe) {
		h.logger.Error("oauth callback failed", "platform", platform, "err", err)
		return h.oauthFailed(c, platform, http.StatusBadGateway, label+" did not answer",
			"adpilot could not finish connecting to "+label+". Try again in a minute.")
	}
	h.logger.Warn("oauth callback refused by platform", "platform", platform, "kind", pe.Kind.String(), "code", pe.Code, "trace", pe.TraceID)
	switch pe.Kind {
	case platforms.KindInvalidRequest, platforms.KindTokenInvalid:
		return h.oauthFailed(c, platform, http.StatusBadRequest, "The authorization was refused",
			label+" refused the authorization code ("+nameOr(pe.Message, "it may have been used already or expired")+"). Start again.")
	case platforms.KindPermission:
		return h.oauthFailed(c, platform, http.StatusForbidden, "Missing permissions",
			label+" granted too few permissions: "+nameOr(pe.Message, "approve every requested permission")+". Start again.")
	}
	return h.oauthFailed(c, platform, http.StatusBadGateway, label+" is not answering",
		label+" had a problem ("+nameOr(pe.Message, pe.Kind.String())+"). Try again in a minute.")
}

// connectAll connects every account the token reaches (TikTok).
func (h *Handler) connectAll(c echo.Context, platform string, token platforms.Token, accounts []platforms.Account) error {
	if len(accounts) == 0 {
		return h.oauthFailed(c, platform, http.StatusUnprocessableEntity, "Nothing to connect",
			"This "+platforms.Label(platform)+" login reaches no accounts. Check your role on the accounts and try again.")
	}
	inputs := make([]models.ConnectionInput, len(accounts))
	for i, a := range accounts {
		inputs[i] = connectionInput(platform, token, a)
	}
	conns, err := h.store.ConnectAccounts(c.Request().Context(), principal(c).User, c.RealIP(), inputs)
	if err != nil {
		return err
	}
	h.backfillSnapshots(conns)
	names := make([]string, len(conns))
	for i, cn := range conns {
		names[i] = nameOr(cn.AccountName, cn.AccountRef)
	}
	_ = AddFlash(c, "success", "Connected "+platforms.Label(platform)+": "+strings.Join(names, ", ")+".")
	return c.Redirect(http.StatusSeeOther, "/connections")
}

// connectionInput turns an account reached by token into a row to store. A
// Facebook Page uses its own Page token, which does not expire.
func connectionInput(platform string, t platforms.Token, a platforms.Account) models.ConnectionInput {
	in := models.ConnectionInput{Platform: platform, Kind: a.Kind, AccountRef: a.Ref, AccountName: a.Name,
		AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, Scope: strings.Join(t.Scopes, ","),
		ExpiresAt: t.ExpiresAt, RefreshExpiresAt: t.RefreshExpiresAt, PlatformUserID: t.UserID, Meta: a.Meta}
	if in.Meta == nil {
		in.Meta = map[string]any{}
	}
	if t.UserID != "" {
		in.Meta["platform_user_id"] = t.UserID
	}
	if a.Currency != "" {
		in.Meta["currency"] = a.Currency
	}
	if a.Timezone != "" {
		in.Meta["timezone_name"] = a.Timezone
	}
	if a.Status != "" {
		in.Meta["status"] = a.Status
	}
	if a.AccessToken != "" {
		in.AccessToken, in.ExpiresAt, in.RefreshToken = a.AccessToken, time.Time{}, ""
	}
	return in
}

// startPick keeps the callback's result and shows the checklist.
func (h *Handler) startPick(c echo.Context, platform string, token platforms.Token, accounts []platforms.Account) error {
	payload, err := json.Marshal(pendingPick{Token: token, Accounts: accounts})
	if err != nil {
		return err
	}
	p := principal(c)
	id, err := h.store.SaveOAuthPending(c.Request().Context(), p.Tenant.ID, p.User.ID, platform, payload, time.Now())
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/connections/pick/"+id)
}
