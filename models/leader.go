package models

import (
	"context"
	"database/sql"
	"sync"
)

// LeaderLock is a PostgreSQL session-level advisory lock held on a dedicated
// connection: whoever holds it is the leader among the replicas sharing the
// database. If the connection dies, PostgreSQL releases the lock and another
// replica takes over.
type LeaderLock struct {
	url string
	key int64

	mu   sync.Mutex
	db   *sql.DB   // a pool of one, apart from the store's, opened on demand
	conn *sql.Conn // non-nil while this process holds the lock
}

// NewLeaderLock returns a lock on key; it is not taken until TryAcquire. The
// lock uses a connection of its own, so holding it never takes a connection
// from the store's pool (which may be as small as one).
func (s *Store) NewLeaderLock(key int64) *LeaderLock {
	return &LeaderLock{url: s.url, key: key}
}

// TryAcquire reports whether this process holds the lock, taking it when free.
// It also notices a lost connection and gives up leadership with it.
func (l *LeaderLock) TryAcquire(ctx context.Context) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn != nil {
		if err := l.conn.PingContext(ctx); err == nil {
			return true, nil
		}
		l.conn.Close()
		l.conn = nil
	}
	if l.db == nil {
		db, err := sql.Open("postgres", l.url)
		if err != nil {
			return false, err
		}
		db.SetMaxOpenConns(1)
		l.db = db
	}
	conn, err := l.db.Conn(ctx)
	if err != nil {
		return false, err
	}
	var got bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, l.key).Scan(&got); err != nil {
		conn.Close()
		return false, err
	}
	if !got {
		conn.Close()
		return false, nil
	}
	l.conn = conn
	return true, nil
}

// Release gives up the lock if held and closes the lock's connection (which
// releases the lock even if the unlock itself failed).
func (l *LeaderLock) Release(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var err error
	if l.conn != nil {
		_, err = l.conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, l.key)
		l.conn.Close()
		l.conn = nil
	}
	if l.db != nil {
		l.db.Close()
		l.db = nil
	}
	return err
}
