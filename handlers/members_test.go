package handlers_test

import (
	"net/http"
	"net/url"
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
