package models_test

import (
	"database/sql"
	"slices"
	"testing"
	"time"
)

// backdate sets created_at and updated_at of tenant A's row in table an hour
// back. The trigger would overwrite updated_at, so it is off meanwhile.
func backdate(t *testing.T, db *sql.DB, table string) {
	t.Helper()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for _, q := range []string{
		`ALTER TABLE ` + table + ` DISABLE TRIGGER USER`,
		`UPDATE ` + table + ` SET created_at = now() - interval '1 hour', updated_at = now() - interval '1 hour'
			WHERE ` + tenantColumn(table) + ` = :tenantA`,
		`ALTER TABLE ` + table + ` ENABLE TRIGGER USER`,
	} {
		if _, err := tx.Exec(fixtureSQL(q)); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func TestUpdatedAtMovesForward(t *testing.T) {
	t.Parallel()
	db := newSchemaDB(t)
	// Each table with updated_at, and a column to set to itself: the row's
	// data stays the same, as when an UPDATE changes an unrelated column.
	tests := []struct{ table, column string }{
		{"tenant", "name"},
		{"app_user", "username"},
		{"ad_token", "account_name"},
		{"destination", "name"},
		{"automation", "name"},
	}
	var covered []string
	for _, tt := range tests {
		covered = append(covered, tt.table)
	}
	slices.Sort(covered)
	withColumn := queryStrings(t, db, `SELECT table_name FROM information_schema.columns
		WHERE table_schema = 'public' AND column_name = 'updated_at'`)
	if !slices.Equal(withColumn, covered) {
		t.Errorf("tables with updated_at are %v, this test covers %v", withColumn, covered)
	}

	for _, tt := range tests {
		t.Run(tt.table, func(t *testing.T) {
			where := fixtureSQL(` WHERE ` + tenantColumn(tt.table) + ` = :tenantA`)
			selectTimes := `SELECT created_at, updated_at FROM ` + tt.table + where
			backdate(t, db, tt.table)
			var created, updated time.Time
			if err := db.QueryRow(selectTimes).Scan(&created, &updated); err != nil {
				t.Fatal(err)
			}
			if time.Since(updated) < 59*time.Minute {
				t.Fatalf("backdating failed: updated_at is %v", updated)
			}

			res, err := db.Exec(`UPDATE ` + tt.table + ` SET ` + tt.column + ` = ` + tt.column + where)
			if err != nil {
				t.Fatal(err)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				t.Fatalf("update touched %d rows, want 1", n)
			}

			var createdAfter, updatedAfter time.Time
			if err := db.QueryRow(selectTimes).Scan(&createdAfter, &updatedAfter); err != nil {
				t.Fatal(err)
			}
			if !updatedAfter.After(updated) || time.Since(updatedAfter) > time.Minute {
				t.Errorf("updated_at went from %v to %v; want about now", updated, updatedAfter)
			}
			if !createdAfter.Equal(created) {
				t.Errorf("created_at changed from %v to %v", created, createdAfter)
			}
		})
	}
}
