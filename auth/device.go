package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// devicePrefix marks Vigil device tokens, so secret scanners and people can recognise one.
const devicePrefix = "vgd_"

// NewDeviceToken returns a new device bearer token — 256 bits from the system's secure random
// source — and the hash to store. The token itself is shown once and never stored.
func NewDeviceToken() (token string, hash []byte) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	token = devicePrefix + base64.RawURLEncoding.EncodeToString(b)
	return token, HashDeviceToken(token)
}

// HashDeviceToken is the stored form of a device token. A fast hash is right here: the token has
// 256 bits of entropy, so there is nothing to brute-force, and intake looks it up on every post.
// The lookup is by hash equality in the database's unique index, which does not leak timing about
// the token's content.
func HashDeviceToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// BearerToken returns the token of an "Authorization: Bearer …" header, or "".
func BearerToken(header string) string {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}
