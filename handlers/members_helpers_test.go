package handlers_test

import (
	"context"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"adpilot/testutil"
)

// addMember inserts an active member with a known password straight into the
// database (the invitation flow has tests of its own), and returns its id.
func addMember(t *testing.T, app *testutil.TestApp, tenantSlug, email, role string) string {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(strongPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	var id string
	err = testutil.QueryRow(t, app, context.Background(), `INSERT INTO app_user (tenant_id, email, password_hash, role, email_verified)
		SELECT id, $2, $3, $4, true FROM tenant WHERE slug = $1 RETURNING id`, tenantSlug, email, string(hash), role).Scan(&id)
	if err != nil {
		t.Fatalf("adding %s as %s to %s: %v", email, role, tenantSlug, err)
	}
	return id
}
