package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"adpilot/testutil"
)

func TestPasswordReset(t *testing.T) {
	app := testutil.NewApp(t)
	registerAPI(t, app, "reset@example.com", "Resetters")
	oldToken := loginAPI(t, app, `{"email":"reset@example.com","password":"`+strongPassword+`"}`)

	known, knownBody := jsonCall(t, app, http.MethodPost, "/auth/forgot", `{"email":"reset@example.com"}`, "")
	unknown, unknownBody := jsonCall(t, app, http.MethodPost, "/auth/forgot", `{"email":"nobody@example.com"}`, "")
	known.ExpectStatus(http.StatusAccepted)
	unknown.ExpectStatus(http.StatusAccepted)
	if knownBody["status"] != unknownBody["status"] {
		t.Fatalf("the answer tells accounts apart: %v vs %v", knownBody, unknownBody)
	}
	mail := testutil.EmailAbout(t, app.Store, "reset@example.com", "password")
	if !strings.Contains(strings.ToLower(mail.Subject), "password") {
		t.Fatalf("latest email is %q", mail.Subject)
	}
	link := testutil.LinkIn(t, mail.Text, "/auth/reset?token=")
	token := strings.SplitN(link, "token=", 2)[1]

	page := app.Get("/auth/reset?token=" + url.QueryEscape(token)).ExpectStatus(http.StatusOK)
	if page.Doc().Find(`form[action="/auth/reset"] input[name="new_password"]`).Length() != 1 {
		t.Fatal("the reset page has no password form")
	}
	resp, out := jsonCall(t, app, http.MethodPost, "/auth/reset", `{"token":"`+token+`","new_password":"short"}`, "")
	resp.ExpectStatus(http.StatusUnprocessableEntity)
	if out["fields"] == nil {
		t.Fatalf("weak password not reported per field: %v", out)
	}
	resp, _ = jsonCall(t, app, http.MethodPost, "/auth/reset", `{"token":"`+token+`","new_password":"a fresh strong secret"}`, "")
	resp.ExpectStatus(http.StatusNoContent)

	// Single use, and every earlier session or token has ended.
	resp, _ = jsonCall(t, app, http.MethodPost, "/auth/reset", `{"token":"`+token+`","new_password":"another strong secret"}`, "")
	resp.ExpectStatus(http.StatusBadRequest)
	app.Get("/auth/reset?token=" + url.QueryEscape(token)).ExpectStatus(http.StatusBadRequest)
	resp, _ = jsonCall(t, app, http.MethodGet, "/auth/me", "", oldToken)
	resp.ExpectStatus(http.StatusUnauthorized)
	newToken := loginAPI(t, app, `{"email":"reset@example.com","password":"a fresh strong secret"}`)
	_, me := jsonCall(t, app, http.MethodGet, "/auth/me", "", newToken)
	if me["email_verified"] != true {
		t.Errorf("a completed reset should verify the address: %v", me)
	}
	app.Get("/auth/reset?token=forged").ExpectStatus(http.StatusBadRequest)
}
