package handlers_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"adpilot/testutil"
)

// jsonCall sends a JSON body (or none) and decodes the JSON answer.
func jsonCall(t *testing.T, app *testutil.TestApp, method, path, body, bearer string) (*testutil.Response, map[string]any) {
	t.Helper()
	headers := []string{"Accept", "application/json"}
	if body != "" {
		headers = append(headers, "Content-Type", "application/json")
	}
	if bearer != "" {
		headers = append(headers, "Authorization", "Bearer "+bearer)
	}
	var reader *strings.Reader
	if body != "" {
		reader = strings.NewReader(body)
	} else {
		reader = strings.NewReader("")
	}
	resp := app.Do(method, path, reader, headers...)
	var out map[string]any
	if resp.Body != "" {
		if err := json.Unmarshal([]byte(resp.Body), &out); err != nil {
			t.Fatalf("%s %s: answer is not JSON (%d): %.300s", method, path, resp.StatusCode, resp.Body)
		}
	}
	return resp, out
}

const strongPassword = "correct horse battery"

func registerAPI(t *testing.T, app *testutil.TestApp, email, tenant string) map[string]any {
	t.Helper()
	resp, out := jsonCall(t, app, http.MethodPost, "/auth/register",
		`{"email":"`+email+`","password":"`+strongPassword+`","tenant_name":"`+tenant+`"}`, "")
	resp.ExpectStatus(http.StatusCreated)
	return out
}

func loginAPI(t *testing.T, app *testutil.TestApp, body string) string {
	t.Helper()
	resp, out := jsonCall(t, app, http.MethodPost, "/auth/login", body, "")
	resp.ExpectStatus(http.StatusOK)
	if out["token_type"] != "bearer" || out["expires_in"] != float64(1800) {
		t.Fatalf("login answer = %v", out)
	}
	token, _ := out["access_token"].(string)
	return token
}

func TestAuthAPIScriptFlow(t *testing.T) {
	app := testutil.NewApp(t)
	out := registerAPI(t, app, "Ops@Example.com", "Acme Ads")
	user, _ := out["user"].(map[string]any)
	tenant, _ := out["tenant"].(map[string]any)
	if user["email"] != "ops@example.com" || user["role"] != "admin" || user["email_verified"] != false || tenant["slug"] != "acme-ads" {
		t.Fatalf("register answer = %v", out)
	}
	if _, ok := user["id"].(string); !ok {
		t.Fatalf("user has no id: %v", user)
	}

	token := loginAPI(t, app, `{"email":"ops@example.com","password":"`+strongPassword+`"}`)
	resp, me := jsonCall(t, app, http.MethodGet, "/auth/me", "", token)
	resp.ExpectStatus(http.StatusOK)
	meTenant, _ := me["tenant"].(map[string]any)
	if me["email"] != "ops@example.com" || me["role"] != "admin" || meTenant["slug"] != "acme-ads" || meTenant["name"] != "Acme Ads" {
		t.Fatalf("/auth/me = %v", me)
	}

	// Log-out ends this token, at once.
	resp, _ = jsonCall(t, app, http.MethodPost, "/auth/logout", "", token)
	resp.ExpectStatus(http.StatusNoContent)
	resp, body := jsonCall(t, app, http.MethodGet, "/auth/me", "", token)
	resp.ExpectStatus(http.StatusUnauthorized)
	if body["error"] == "" {
		t.Fatalf("401 without an error message: %v", body)
	}
}

func TestPasswordChangeEndsOlderTokens(t *testing.T) {
	app := testutil.NewApp(t)
	registerAPI(t, app, "a@example.com", "Alpha")
	login := `{"email":"a@example.com","password":"` + strongPassword + `"}`
	first, second := loginAPI(t, app, login), loginAPI(t, app, login)

	resp, out := jsonCall(t, app, http.MethodPost, "/auth/change-password",
		`{"current_password":"wrong password!!","new_password":"a brand new secret"}`, first)
	resp.ExpectStatus(http.StatusUnprocessableEntity)
	if fields, _ := out["fields"].(map[string]any); fields["current_password"] == nil {
		t.Fatalf("wrong current password not reported: %v", out)
	}

	resp, _ = jsonCall(t, app, http.MethodPost, "/auth/change-password",
		`{"current_password":"`+strongPassword+`","new_password":"a brand new secret"}`, first)
	resp.ExpectStatus(http.StatusNoContent)
	for _, old := range []string{first, second} {
		resp, _ = jsonCall(t, app, http.MethodGet, "/auth/me", "", old)
		resp.ExpectStatus(http.StatusUnauthorized)
	}
	resp, _ = jsonCall(t, app, http.MethodPost, "/auth/login", login, "")
	resp.ExpectStatus(http.StatusUnauthorized)
	loginAPI(t, app, `{"username":"a@example.com","password":"a brand new secret"}`)
}

func TestLoginAcrossTenantsNeedsATenant(t *testing.T) {
	app := testutil.NewApp(t)
	registerAPI(t, app, "shared@example.com", "North")
	registerAPI(t, app, "shared@example.com", "South")
	registerAPI(t, app, "shared@example.com", "North") // same name: the slug stays unique

	resp, out := jsonCall(t, app, http.MethodPost, "/auth/login", `{"email":"shared@example.com","password":"`+strongPassword+`"}`, "")
	resp.ExpectStatus(http.StatusUnprocessableEntity)
	slugs, _ := out["tenants"].([]any)
	if len(slugs) != 3 || !strings.Contains(resp.Body, `"north-2"`) {
		t.Fatalf("tenants offered = %v", out)
	}
	token := loginAPI(t, app, `{"email":"shared@example.com","password":"`+strongPassword+`","tenant":"south"}`)
	_, me := jsonCall(t, app, http.MethodGet, "/auth/me", "", token)
	if tenant, _ := me["tenant"].(map[string]any); tenant["slug"] != "south" {
		t.Fatalf("signed in to %v, want south", me["tenant"])
	}
}

func TestAuthAPIRefusesBadInputWithoutA500(t *testing.T) {
	app := testutil.NewApp(t)
	cases := []struct {
		name, path, contentType, body string
		status                        int
	}{
		{"malformed JSON", "/auth/register", "application/json", `{"email":`, 400},
		{"wrong type", "/auth/register", "application/json", `{"email":42}`, 400},
		{"not an object", "/auth/login", "application/json", `[1,2]`, 400},
		{"empty body", "/auth/login", "application/json", ``, 400},
		{"invalid fields", "/auth/register", "application/json", `{"email":"nope","password":"short","tenant_name":""}`, 422},
		{"common password", "/auth/register", "application/json", `{"email":"x@example.com","password":"password123","tenant_name":"X"}`, 422},
		{"NUL in login", "/auth/login", "application/json", `{"email":"a\u0000b","password":"whatever-it-is"}`, 422},
		{"NUL in username", "/auth/login", "application/json", `{"username":"a\u0000b","password":"whatever-it-is"}`, 422},
		{"bad credentials", "/auth/login", "application/json", `{"email":"nobody@example.com","password":"whatever-it-is"}`, 401},
		{"huge body", "/auth/login", "application/json", `{"email":"` + strings.Repeat("a", 2<<20) + `"}`, 413},
		{"bad bearer", "/auth/me", "", ``, 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			headers := []string{"Accept", "application/json"}
			if tc.contentType != "" {
				headers = append(headers, "Content-Type", tc.contentType)
			}
			method := http.MethodPost
			if tc.name == "bad bearer" {
				method = http.MethodGet
				headers = append(headers, "Authorization", "Bearer not.a.jwt")
			}
			resp := app.Do(method, tc.path, strings.NewReader(tc.body), headers...).ExpectStatus(tc.status)
			var out map[string]any
			if err := json.Unmarshal([]byte(resp.Body), &out); err != nil || out["error"] == nil {
				t.Fatalf("answer %q has no JSON error", resp.Body)
			}
			if tc.status == 422 && out["fields"] == nil {
				t.Fatalf("422 without fields: %v", out)
			}
		})
	}
}

func TestLoginIsRateLimitedPerAccount(t *testing.T) {
	app := testutil.NewApp(t)
	registerAPI(t, app, "target@example.com", "Target")
	wrong := `{"email":"target@example.com","password":"not the password"}`
	for i := range 10 {
		resp, _ := jsonCall(t, app, http.MethodPost, "/auth/login", wrong, "")
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("attempt %d: status %d, want 401", i+1, resp.StatusCode)
		}
	}
	resp, out := jsonCall(t, app, http.MethodPost, "/auth/login", wrong, "")
	resp.ExpectStatus(http.StatusTooManyRequests)
	if resp.Header.Get("Retry-After") == "" || out["error"] == nil {
		t.Fatalf("429 without Retry-After or error: %v %v", resp.Header, out)
	}
	// The right password is refused too while the account is locked out.
	resp, _ = jsonCall(t, app, http.MethodPost, "/auth/login", `{"email":"target@example.com","password":"`+strongPassword+`"}`, "")
	resp.ExpectStatus(http.StatusTooManyRequests)
}

func TestLoginLimitCoversEmailAndUsernameTogether(t *testing.T) {
	app := testutil.NewApp(t)
	resp, _ := jsonCall(t, app, http.MethodPost, "/auth/register",
		`{"email":"both@example.com","username":"bothways","password":"`+strongPassword+`","tenant_name":"Both"}`, "")
	resp.ExpectStatus(http.StatusCreated)
	for i := range 10 {
		body := `{"email":"both@example.com","password":"wrong guess no"}`
		if i%2 == 1 {
			body = `{"username":"BothWays","password":"wrong guess no"}`
		}
		if resp, _ := jsonCall(t, app, http.MethodPost, "/auth/login", body, ""); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i+1, resp.StatusCode)
		}
	}
	resp, _ = jsonCall(t, app, http.MethodPost, "/auth/login", `{"username":"bothways","password":"wrong guess no"}`, "")
	resp.ExpectStatus(http.StatusTooManyRequests)
}
