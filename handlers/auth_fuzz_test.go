package handlers_test

import (
	"net/http"
	"strings"
	"testing"

	"adpilot/testutil"
)

// FuzzAuthJSON throws arbitrary bodies at the JSON auth endpoints: whatever
// arrives, the answer is never a 5xx. `go test` runs the seeds; `go test
// -fuzz FuzzAuthJSON ./handlers` explores further.
func FuzzAuthJSON(f *testing.F) {
	app := testutil.NewApp(f)
	token := func() string {
		resp := app.Do(http.MethodPost, "/auth/register", strings.NewReader(
			`{"email":"fuzz@example.com","password":"`+strongPassword+`","tenant_name":"Fuzz"}`), "Content-Type", "application/json")
		if resp.StatusCode != http.StatusCreated {
			f.Fatalf("register: %d %s", resp.StatusCode, resp.Body)
		}
		login := app.Do(http.MethodPost, "/auth/login", strings.NewReader(
			`{"email":"fuzz@example.com","password":"`+strongPassword+`"}`), "Content-Type", "application/json")
		_, after, _ := strings.Cut(login.Body, `"access_token":"`)
		tok, _, _ := strings.Cut(after, `"`)
		return tok
	}()
	paths := []string{"/auth/register", "/auth/login", "/auth/change-password", "/auth/forgot", "/auth/reset", "/api/tenants/current"}
	for _, seed := range []string{
		``, `{}`, `[]`, `null`, `"x"`, `{"email":null}`, `{"email":{"$gt":""}}`, `{"password":1e999}`,
		`{"email":"a@b.c","password":"` + strings.Repeat("é", 80) + `","tenant_name":"\u0000"}`,
		`{"email":"fuzz@example.com","password":"` + strongPassword + `","tenant":"fuzz"}`,
		`{"current_password":"` + strongPassword + `","new_password":"` + strings.Repeat("x", 73) + `"}`,
		`{"token":"` + strings.Repeat("A", 200) + `","new_password":"long enough pass"}`,
		`{"name":"` + strings.Repeat("n", 101) + `","timezone":"../../etc/passwd","currency":"€"}`,
		"{\"email\":\"\xff\xfe\"}", `{"email":"a\u0000b","password":"x"}`, `{"username":"\u0000"}`, `{"a":` + strings.Repeat("[", 10000) + `}`,
	} {
		for i := range paths {
			f.Add(uint8(i), seed, i%2 == 0)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, body string, withToken bool) {
		path := paths[int(which)%len(paths)]
		method := http.MethodPost
		if path == "/api/tenants/current" {
			method = http.MethodPatch
		}
		headers := []string{"Content-Type", "application/json", "Accept", "application/json"}
		if withToken {
			headers = append(headers, "Authorization", "Bearer "+token)
		}
		resp := app.With(t).Do(method, path, strings.NewReader(body), headers...)
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %s with %q: %d %s", method, path, body, resp.StatusCode, resp.Body)
		}
	})
}
