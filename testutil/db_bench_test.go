package testutil

import (
	"testing"
	"time"
)

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

// BenchmarkNewMigratedDatabase measures what a test waits for its database
// when tests take about as long as a clone (here 300ms of simulated work):
// the prefetched clone is ready, so the wait is the channel receive.
func BenchmarkNewMigratedDatabase(b *testing.B) {
	NewMigratedDatabase(b)
	for b.Loop() {
		b.StopTimer()
		time.Sleep(300 * time.Millisecond)
		b.StartTimer()
		NewMigratedDatabase(b)
	}
}
