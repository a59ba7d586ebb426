package models_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"adpilot/models"
	"adpilot/testutil"
)

// leaderKey is any advisory-lock key; each test has a database of its own,
// and advisory locks are per database.
const leaderKey int64 = 0x6c65_6164_6572

func tryAcquire(t *testing.T, who string, l *models.LeaderLock, want bool) {
	t.Helper()
	got, err := l.TryAcquire(context.Background())
	if err != nil {
		t.Fatalf("%s: TryAcquire: %v", who, err)
	}
	if got != want {
		t.Fatalf("%s: TryAcquire = %v, want %v", who, got, want)
	}
}

// lockHolders returns the backend pids holding advisory locks in db's database.
func lockHolders(t *testing.T, db *sql.DB) []int {
	t.Helper()
	rows, err := db.Query(`SELECT pid FROM pg_locks
		WHERE locktype = 'advisory' AND granted
		  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var pids []int
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return pids
}

// holder returns the one backend holding an advisory lock.
func holder(t *testing.T, db *sql.DB) int {
	t.Helper()
	pids := lockHolders(t, db)
	if len(pids) != 1 {
		t.Fatalf("want one advisory lock held, got holders %v", pids)
	}
	return pids[0]
}

// killBackend terminates pid and waits until it has exited.
func killBackend(t *testing.T, db *sql.DB, pid int) {
	t.Helper()
	var ok bool
	if err := db.QueryRow(`SELECT pg_terminate_backend($1, 5000)`, pid).Scan(&ok); err != nil || !ok {
		t.Fatalf("terminating backend %d: ok=%v err=%v", pid, ok, err)
	}
}

func TestLeaderLockHandover(t *testing.T) {
	t.Parallel()
	dbURL := testutil.NewDatabase(t)
	db := openDB(t, dbURL)
	first := testutil.OpenStore(t, dbURL).NewLeaderLock(leaderKey)
	second := testutil.OpenStore(t, dbURL).NewLeaderLock(leaderKey)
	ctx := context.Background()

	tryAcquire(t, "first", first, true)
	tryAcquire(t, "second", second, false)
	tryAcquire(t, "first again", first, true)
	holder(t, db) // holding it again must not stack a second lock

	if err := first.Release(ctx); err != nil {
		t.Fatalf("first: Release: %v", err)
	}
	if pids := lockHolders(t, db); len(pids) != 0 {
		t.Fatalf("after Release, advisory locks are still held by %v", pids)
	}
	tryAcquire(t, "second after release", second, true)
	tryAcquire(t, "first while second leads", first, false)

	if err := second.Release(ctx); err != nil {
		t.Fatalf("second: Release: %v", err)
	}
	if err := second.Release(ctx); err != nil {
		t.Fatalf("second: Release when not held: %v", err)
	}
}

// A leader whose connection dies loses the lock with it: it must find out on
// its next TryAcquire, and the other replica can take over.
func TestLeaderLockLostWithConnection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		otherFirst bool // the other replica asks before the killed leader does
	}{
		{name: "killed leader asks first and takes it back", otherFirst: false},
		{name: "other replica takes over", otherFirst: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dbURL := testutil.NewDatabase(t)
			db := openDB(t, dbURL)
			leader := testutil.OpenStore(t, dbURL).NewLeaderLock(leaderKey)
			other := testutil.OpenStore(t, dbURL).NewLeaderLock(leaderKey)

			tryAcquire(t, "leader", leader, true)
			tryAcquire(t, "other", other, false)
			killed := holder(t, db)
			killBackend(t, db, killed)
			if pids := lockHolders(t, db); len(pids) != 0 {
				t.Fatalf("after the kill, advisory locks are held by %v", pids)
			}

			if tt.otherFirst {
				tryAcquire(t, "other after the kill", other, true)
				tryAcquire(t, "killed leader", leader, false)
			} else {
				tryAcquire(t, "killed leader", leader, true)
				tryAcquire(t, "other", other, false)
			}
			if pid := holder(t, db); pid == killed {
				t.Fatalf("the lock is held by the killed backend %d", pid)
			}
		})
	}
}

// Holding leadership must not take the store's connections: with a pool of
// one (DB_MAX_OPEN_CONNS=1 is valid) the leader still reaches the database.
func TestLeaderLockLeavesThePoolFree(t *testing.T) {
	t.Parallel()
	dbURL := testutil.NewMigratedDatabase(t)
	store, err := models.Open(context.Background(), dbURL, models.PoolConfig{MaxOpenConns: 1, MaxIdleConns: 1, ConnMaxLifetime: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	lock := store.NewLeaderLock(42)
	defer lock.Release(context.Background())
	tryAcquire(t, "leader", lock, true)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := store.Ping(ctx); err != nil {
		t.Fatalf("ping while leading: %v", err)
	}
	if _, err := store.DeleteRunsBefore(ctx, time.Now()); err != nil {
		t.Fatalf("query while leading: %v", err)
	}
}
