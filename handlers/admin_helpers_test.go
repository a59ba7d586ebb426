package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"adpilot/testutil"
)

// adminFixture: an operator (the first user, tenant "Operator Co") and a
// customer tenant "Acme Ads" whose owner has the demo accounts connected
// and one report automation.
type adminFixture struct {
	app          *testutil.TestApp
	acmeID       string
	ownerID      string
	ownerToken   string
	automationID string
	connIDs      []string
}

func newAdminFixture(t *testing.T, opts ...testutil.AppOption) *adminFixture {
	t.Helper()
	app := testutil.NewApp(t, append([]testutil.AppOption{testutil.WithEnv("DEMO_PLATFORM", "true")}, opts...)...)
	registerAPI(t, app, "operator@example.com", "Operator Co")
	registerAPI(t, app, "owner@acme.test", "Acme Ads")
	f := &adminFixture{app: app}
	f.ownerToken = loginAPI(t, app, `{"email":"owner@acme.test","password":"`+strongPassword+`"}`)
	_, demo := jsonCall(t, app, http.MethodPost, "/api/v1/connections/demo", "", f.ownerToken)
	for _, c := range demo["connections"].([]any) {
		f.connIDs = append(f.connIDs, c.(map[string]any)["id"].(string))
	}
	resp, a := jsonCall(t, app, http.MethodPost, "/api/v1/automations", `{"name":"Acme morning report","type":"scheduled_report",
		"connections":["`+f.connIDs[0]+`"],"schedule":{"kind":"daily","time":"09:00","timezone":"UTC"},
		"config":{"level":"account","period":"yesterday","metrics":["spend","conversions"]}}`, f.ownerToken)
	resp.ExpectStatus(http.StatusCreated)
	f.automationID = a["id"].(string)
	ctx := context.Background()
	if err := testutil.QueryRow(t, app, ctx, `SELECT t.id, u.id FROM tenant t JOIN app_user u ON u.tenant_id = t.id
		WHERE t.slug = 'acme-ads'`).Scan(&f.acmeID, &f.ownerID); err != nil {
		t.Fatal(err)
	}
	return f
}

// asOperator gives the app's client a fresh operator session.
func (f *adminFixture) asOperator(t *testing.T) *testutil.TestApp {
	t.Helper()
	signInBrowser(t, f.app, "operator@example.com")
	return f.app
}

// post sends an operator form (same-origin, so CSRF passes).
func (f *adminFixture) post(t *testing.T, path string, form url.Values) *testutil.Response {
	t.Helper()
	if form == nil {
		form = url.Values{}
	}
	return destPost(t, f.app, path, form)
}

// count runs a count query on the app's database.
func (f *adminFixture) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := testutil.QueryRow(t, f.app, context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// flashes returns the text of the flash messages on a page.
func flashes(r *testutil.Response) string { return strings.TrimSpace(r.Doc().Find(".flash").Text()) }
