package models

import (
	"context"
	"strings"

	"github.com/jmoiron/sqlx"
)

// querier is what both *sqlx.DB and *sqlx.Tx offer, so a helper can run
// inside or outside a transaction.
type querier interface {
	sqlx.ExtContext
	GetContext(ctx context.Context, dest any, query string, args ...any) error
	SelectContext(ctx context.Context, dest any, query string, args ...any) error
}

// withTx runs fn in a transaction, committing when it returns nil and rolling
// back otherwise (also on panic). Transactions never leave this package.
func (s *Store) withTx(ctx context.Context, fn func(tx *sqlxTx) error) (err error) {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// sqlxTx keeps store signatures short.
type sqlxTx = sqlx.Tx

// prefixColumns qualifies a comma-separated column list, for joins.
func prefixColumns(columns, prefix string) string {
	parts := strings.Split(columns, ",")
	for i, p := range parts {
		parts[i] = prefix + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}

// aliasColumns qualifies columns with prefix and names each result column
// alias+name, so sqlx can fill an embedded struct tagged db:"alias".
func aliasColumns(columns, prefix, alias string) string {
	parts := strings.Split(columns, ",")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		parts[i] = prefix + p + ` AS "` + alias + p + `"`
	}
	return strings.Join(parts, ", ")
}
