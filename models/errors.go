package models

import "errors"

// Sentinel errors returned by stores; handlers map them to HTTP statuses.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
)
