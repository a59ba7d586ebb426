package models

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"sync"
)

// LeaderLock is a PostgreSQL session-level advisory lock held on a dedicated
// connection: whoever holds it is the leader among the replicas sharing the
// database. If the connection dies, PostgreSQL releases the lock and another
// replica takes over.
type LeaderLock struct {
	store *Store
	key   int64

	mu   sync.Mutex
	conn *sql.Conn // non-nil while this process holds the lock
}

// NewLeaderLock returns a lock on key; it is not taken until TryAcquire.
func (s *Store) NewLeaderLock(key int64) *LeaderLock {
	return &LeaderLock{store: s, key: key}
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
	conn, err := l.store.db.Conn(ctx)
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

// Release gives up the lock if held.
func (l *LeaderLock) Release(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		return nil
	}
	_, err := l.conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, l.key)
	if err != nil {
		// Back in the pool, this connection would still hold the lock:
		// discard it, which makes PostgreSQL release the lock.
		_ = l.conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	l.conn.Close()
	l.conn = nil
	return err
}
