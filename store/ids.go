package store

import "regexp"

// uuidPattern matches the canonical text form of a UUID.
var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// validUUID reports whether id can be an id at all; anything else is ErrNotFound without asking
// the database (and without an invalid-input error that would tell a prober more).
func validUUID(id string) bool { return uuidPattern.MatchString(id) }
