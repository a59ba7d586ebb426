package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"adpilot/testutil"
)

func sessionCookie(t *testing.T, resp *testutil.Response) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == "adpilot_session" {
			return c
		}
	}
	t.Fatalf("no session cookie set; Set-Cookie: %v", resp.Header.Values("Set-Cookie"))
	return nil
}

func TestSessionCookieFlags(t *testing.T) {
	for _, tc := range []struct {
		baseURL string
		secure  bool
	}{{"", false}, {"https://ads.example.com", true}} {
		opts := []testutil.AppOption{}
		if tc.baseURL != "" {
			opts = append(opts, testutil.WithEnv("BASE_URL", tc.baseURL))
		}
		app := testutil.NewApp(t, opts...)
		registerAPI(t, app, "cookie@example.com", "Cookies")
		resp := app.PostForm("/auth/login", url.Values{"login": {"cookie@example.com"}, "password": {strongPassword}},
			"Sec-Fetch-Site", "same-origin").ExpectStatus(http.StatusSeeOther)
		c := sessionCookie(t, resp)
		if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure != tc.secure {
			t.Errorf("BASE_URL %q: session cookie HttpOnly=%v SameSite=%v Secure=%v", tc.baseURL, c.HttpOnly, c.SameSite, c.Secure)
		}
		if strings.Contains(strings.Join(resp.Header.Values("Set-Cookie"), " "), strongPassword) {
			t.Error("the password reached a cookie")
		}
	}
}

func TestLoginFollowsOnlyLocalNext(t *testing.T) {
	app := testutil.NewApp(t)
	registerAPI(t, app, "next@example.com", "Next")
	for next, want := range map[string]string{
		"/settings/members":    "/settings/members",
		"https://evil.example": "/",
		"//evil.example/x":     "/",
		"/\\evil.example":      "/",
		"/\t/evil.example":     "/",
		"/%09/evil.example":    "/%09/evil.example", // stays on this site: a path with an encoded tab
		"":                     "/",
	} {
		app.Client.Jar = newJar(t)
		resp := app.PostForm("/auth/login", url.Values{"login": {"next@example.com"}, "password": {strongPassword}, "next": {next}},
			"Sec-Fetch-Site", "same-origin").ExpectStatus(http.StatusSeeOther)
		if got := resp.Header.Get("Location"); got != want {
			t.Errorf("next=%q redirected to %q, want %q", next, got, want)
		}
	}
	// An anonymous visit to a protected page comes back after log-in.
	app.Client.Jar = newJar(t)
	if loc := app.Get("/settings").ExpectStatus(http.StatusSeeOther).Header.Get("Location"); loc != "/auth/login?next=%2Fsettings" {
		t.Errorf("anonymous /settings redirected to %q", loc)
	}
}
