package testutil

import "testing"

// BenchmarkCloneMigratedDatabase measures the raw cost of one fresh database
// cloned from the migrated template (CREATE DATABASE ... TEMPLATE).
func BenchmarkCloneMigratedDatabase(b *testing.B) {
	db := admin(b)
	NewMigratedDatabase(b) // builds the template outside the timing
	for b.Loop() {
		name, err := cloneDatabase(db, tmplName)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := dropDatabase(db, name); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
