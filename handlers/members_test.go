package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"adpilot/testutil"
)

func TestTeamNeverLosesItsLastAdmin(t *testing.T) {
	app := testutil.NewApp(t)
	registerAPI(t, app, "solo@example.com", "Solo")
	var adminID string
	_, members := jsonCall(t, app, http.MethodGet, "/api/tenants/current/members", "", loginAPI(t, app, `{"email":"solo@example.com","password":"`+strongPassword+`"}`))
	adminID = members["members"].([]any)[0].(map[string]any)["id"].(string)

	app.PostForm("/auth/login", url.Values{"login": {"solo@example.com"}, "password": {strongPassword}}, "Sec-Fetch-Site", "same-origin").ExpectStatus(http.StatusSeeOther)
	app.PostForm("/settings/members/"+adminID+"/role", url.Values{"role": {"viewer"}}, "Sec-Fetch-Site", "same-origin").ExpectStatus(http.StatusConflict)
	app.PostForm("/settings/members/"+adminID+"/deactivate", url.Values{}, "Sec-Fetch-Site", "same-origin").ExpectStatus(http.StatusConflict)

	// With a second admin, the first may step down.
	second := addMember(t, app, "solo", "second@example.com", "admin")
	app.PostForm("/settings/members/"+adminID+"/role", url.Values{"role": {"user"}}, "Sec-Fetch-Site", "same-origin").ExpectStatus(http.StatusSeeOther)
	// Now a user, the former admin may no longer manage the team.
	app.PostForm("/settings/members/"+second+"/role", url.Values{"role": {"viewer"}}, "Sec-Fetch-Site", "same-origin").ExpectStatus(http.StatusForbidden)
	app.PostForm("/settings/members/not-a-uuid/role", url.Values{"role": {"viewer"}}, "Sec-Fetch-Site", "same-origin").ExpectStatus(http.StatusForbidden)
}

func TestDeactivatedInviteeCannotJoin(t *testing.T) {
	app := testutil.NewApp(t)
	registerAPI(t, app, "boss@example.com", "Guarded")
	app.PostForm("/auth/login", url.Values{"login": {"boss@example.com"}, "password": {strongPassword}}, "Sec-Fetch-Site", "same-origin").ExpectStatus(http.StatusSeeOther)
	app.PostForm("/settings/members/invite", url.Values{"email": {"gone@example.com"}, "role": {"admin"}}, "Sec-Fetch-Site", "same-origin").ExpectStatus(http.StatusSeeOther)
	link := testutil.LinkIn(t, testutil.LatestEmail(t, app.Store, "gone@example.com").Text, "/auth/invite?token=")
	token := strings.SplitN(link, "token=", 2)[1]

	var id string
	if err := testutil.QueryRow(t, app, context.Background(), `SELECT id FROM app_user WHERE email = 'gone@example.com'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	app.PostForm("/settings/members/"+id+"/deactivate", url.Values{}, "Sec-Fetch-Site", "same-origin").ExpectStatus(http.StatusSeeOther)

	app.Client.Jar = newJar(t)
	app.Get("/auth/invite?token=" + token).ExpectStatus(http.StatusBadRequest)
	app.PostForm("/auth/invite", url.Values{"token": {token}, "password": {"sneaky strong pass"}}, "Sec-Fetch-Site", "same-origin").ExpectStatus(http.StatusBadRequest)
}

func TestLogoutEndsTheSessionEverywhere(t *testing.T) {
	app := testutil.NewApp(t)
	registerAPI(t, app, "leaver@example.com", "Leavers")
	login := app.PostForm("/auth/login", url.Values{"login": {"leaver@example.com"}, "password": {strongPassword}}, "Sec-Fetch-Site", "same-origin").ExpectStatus(http.StatusSeeOther)
	copied := sessionCookie(t, login)
	app.PostForm("/auth/logout", url.Values{}, "Sec-Fetch-Site", "same-origin").ExpectStatus(http.StatusSeeOther)

	// A copy of the old cookie no longer signs anyone in.
	app.Client.Jar = newJar(t)
	app.Get("/auth/me", "Cookie", copied.Name+"="+copied.Value).ExpectStatus(http.StatusSeeOther)

	// JSON log-out from a browser session ends it too.
	app.PostForm("/auth/login", url.Values{"login": {"leaver@example.com"}, "password": {strongPassword}}, "Sec-Fetch-Site", "same-origin").ExpectStatus(http.StatusSeeOther)
	app.Do(http.MethodPost, "/auth/logout", strings.NewReader("{}"), "Content-Type", "application/json").ExpectStatus(http.StatusNoContent)
	app.Get("/auth/me").ExpectStatus(http.StatusSeeOther)
}
