package models

import (
	"database/sql"
	"errors"

	"github.com/google/uuid"
	"github.com/lib/pq"
)

// Sentinel errors returned by stores; handlers map them to HTTP statuses.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
)

// normalize maps driver errors onto the sentinel errors.
func normalize(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code == "23505" { // unique_violation
		return errors.Join(ErrConflict, err)
	}
	return err
}

// validUUID reports whether id can be an ID at all: a malformed one from a
// URL is simply not found, never a database error.
// (uuid.Parse alone also takes braces and urn: forms PostgreSQL refuses.)
func validUUID(id string) bool {
	_, err := uuid.Parse(id)
	return err == nil && len(id) == 36
}

// isForeignKeyViolation reports a reference to a row that does not exist
// (or belongs to another tenant: keys are (tenant_id, id)).
func isForeignKeyViolation(err error) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && pqErr.Code == "23503"
}
