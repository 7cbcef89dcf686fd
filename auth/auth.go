// Package auth decides who is signed in and what they may see: the OpenID Connect relying party
// (authorization code flow with PKCE, state and nonce), server-side sessions, and the mapping of
// identity-provider roles to Vigil's. The access policy itself — which patients a user may see —
// is one SQL definition in store (store.PatientAccess and store.VisiblePatients), applied by the
// handlers' one authorisation gate.
package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"strings"

	"github.com/vigil-rpm/vigil/rpm"
)

// randomToken returns n random bytes, URL-safe base64 encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// equal compares two secrets in constant time.
func equal(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// MapRoles turns the values of the identity provider's role claim into Vigil roles. Values are
// matched case-insensitively, with or without a "vigil-" or "vigil:" prefix (a common way to
// namespace application roles in Keycloak or Entra ID); unknown values are ignored.
func MapRoles(values []string) []rpm.Role {
	var roles []rpm.Role
	for _, v := range values {
		v = strings.ToLower(strings.TrimSpace(v))
		v = strings.TrimPrefix(strings.TrimPrefix(v, "vigil-"), "vigil:")
		for _, r := range rpm.Roles {
			if v == string(r) && !contains(roles, r) {
				roles = append(roles, r)
			}
		}
	}
	return roles
}

func contains(roles []rpm.Role, r rpm.Role) bool {
	for _, x := range roles {
		if x == r {
			return true
		}
	}
	return false
}
