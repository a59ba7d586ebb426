// Package migrations embeds adpilot's SQL migrations (rubenv/sql-migrate
// format). A landed migration is never edited: changes go in a new file.
package migrations

import (
	"embed"

	migrate "github.com/rubenv/sql-migrate"
)

//go:embed *.sql
var files embed.FS

// Source is the migration source compiled into the binary.
var Source = &migrate.EmbedFileSystemMigrationSource{FileSystem: files, Root: "."}

// FS exposes the raw files, e.g. to fingerprint the schema for test templates.
var FS = files
