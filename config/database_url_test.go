package config_test

import (
	"strings"
	"testing"
)

func TestDatabaseURL(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{
		"postgres://app:pw@db.internal:5432/adpilot?sslmode=require",
		"postgresql://app@localhost/adpilot",
		"host=/var/run/postgresql dbname=adpilot user=app",
	} {
		if cfg := mustLoad(t, testVars("DATABASE_URL", ok)); cfg.DatabaseURL != ok {
			t.Errorf("DatabaseURL = %q, want %q", cfg.DatabaseURL, ok)
		}
	}
	for _, bad := range []string{
		"postgres://app:s3cretpw@db:notaport/adpilot",
		"mysql-ish s3cretpw",
	} {
		e := mustFail(t, testVars("DATABASE_URL", bad))
		requireNamed(t, e, "DATABASE_URL")
		if strings.Contains(e.Error(), "s3cretpw") {
			t.Errorf("the error quotes the password: %v", e)
		}
	}
}
