// Package migrations holds Vigil's schema as numbered, forward-only SQL files.
//
// Each file is applied once, in its own transaction, in the order of its number, and recorded in
// the schema_version table. A migration that has shipped is never edited: a change is a new file.
package migrations

import "embed"

// FS holds the migration files, named NNN_description.sql.
//
//go:embed *.sql
var FS embed.FS
