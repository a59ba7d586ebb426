package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"adpilot/testutil"
)

// TestFormsKeepInputAndExplainErrors: on every form, bad input comes back
// with 422, the message beside its field, the values kept and the password not.
func TestFormsKeepInputAndExplainErrors(t *testing.T) {
	app := testutil.NewApp(t)
	long := strings.Repeat("x", 300)
	cases := []struct {
		name, path string
		form       url.Values
		errorsFor  []string          // fields that must show a message
		kept       map[string]string // field -> value that must be re-filled
		signedIn   bool
	}{
		{"register empty", "/auth/register", url.Values{"tenant_name": {""}, "email": {""}, "password": {""}},
			[]string{"tenant_name", "email", "password"}, nil, false},
		{"register invalid", "/auth/register", url.Values{"tenant_name": {long}, "email": {"not-an-email"}, "username": {"x"}, "password": {"secret-but-weak"[:6]}},
			[]string{"tenant_name", "email", "username", "password"}, map[string]string{"email": "not-an-email", "username": "x"}, false},
		{"register common password", "/auth/register", url.Values{"tenant_name": {"Acme"}, "email": {"a@example.com"}, "password": {"password123"}},
			[]string{"password"}, map[string]string{"tenant_name": "Acme", "email": "a@example.com"}, false},
		{"log-in empty", "/auth/login", url.Values{"login": {""}, "password": {""}}, []string{"login", "password"}, nil, false},
		{"forgot invalid", "/auth/forgot", url.Values{"email": {"nope"}}, []string{"email"}, map[string]string{"email": "nope"}, false},
		{"invite invalid", "/settings/members/invite", url.Values{"email": {"bad@"}, "role": {"admin"}}, []string{"email"}, map[string]string{"email": "bad@"}, true},
		{"change password weak", "/auth/change-password", url.Values{"current_password": {"wrong"}, "new_password": {"short"}},
			[]string{"current_password", "new_password"}, nil, true},
	}
	registerAPI(t, app, "forms@example.com", "Forms")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			app.Client.Jar = newJar(t)
			if tc.signedIn {
				app.PostForm("/auth/login", url.Values{"login": {"forms@example.com"}, "password": {strongPassword}}, "Sec-Fetch-Site", "same-origin").ExpectStatus(http.StatusSeeOther)
			}
			resp := app.PostForm(tc.path, tc.form, "Sec-Fetch-Site", "same-origin").ExpectStatus(http.StatusUnprocessableEntity)
			doc := resp.Doc()
			for _, field := range tc.errorsFor {
				msg := strings.TrimSpace(doc.Find("#" + field + "-error").Text())
				if msg == "" {
					t.Errorf("no message beside %q", field)
				}
				if d, _ := doc.Find("#" + field).Attr("aria-describedby"); d != field+"-error" {
					t.Errorf("%q is not described by its message", field)
				}
			}
			for field, want := range tc.kept {
				if got, _ := doc.Find(`input[name="` + field + `"]`).Attr("value"); got != want {
					t.Errorf("%q kept as %q, want %q", field, got, want)
				}
			}
			doc.Find(`input[type="password"]`).Each(func(_ int, s *goquery.Selection) {
				if v, _ := s.Attr("value"); v != "" {
					t.Errorf("a password field came back filled")
				}
			})
		})
	}
}
