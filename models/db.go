// Package models holds adpilot's domain types and their PostgreSQL stores.
// Every tenant-owned query takes the tenant ID and filters on it. Transactions
// stay inside this package; callers never see a *sqlx.Tx.
package models

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // the PostgreSQL driver

	"adpilot/vault"
)

// PoolConfig sizes the connection pool.
type PoolConfig struct {
	MaxOpenConns    int
	MaxIdleConns    int
	ConnMaxLifetime time.Duration
}

// Store is the gateway to the database. It is safe for concurrent use.
type Store struct {
	db    *sqlx.DB
	url   string         // kept to open the migration lock's own connection
	vault *vault.Keyring // encrypts tokens at rest; set once by SetVault
}

// SetVault gives the store the keyring that encrypts tokens. Call it once,
// before the store is shared.
func (s *Store) SetVault(k *vault.Keyring) { s.vault = k }

// Open connects to PostgreSQL and checks the connection.
func Open(ctx context.Context, databaseURL string, pool PoolConfig) (*Store, error) {
	db, err := sqlx.Open("postgres", databaseURL)
	if err != nil {
		return nil, fmt.Errorf("opening database: %w", err)
	}
	db.SetMaxOpenConns(pool.MaxOpenConns)
	db.SetMaxIdleConns(pool.MaxIdleConns)
	db.SetConnMaxLifetime(pool.ConnMaxLifetime)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		var ue *url.Error
		if errors.As(err, &ue) {
			// url.Error quotes the whole URL, password included.
			return nil, fmt.Errorf("connecting to database: malformed DATABASE_URL: %v", ue.Err)
		}
		return nil, fmt.Errorf("connecting to database: %w", err)
	}
	return &Store{db: db, url: databaseURL}, nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Close closes every pooled connection.
func (s *Store) Close() error { return s.db.Close() }
