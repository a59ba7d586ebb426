package handlers

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// newOneTimeToken returns a token for an emailed link and the hash that is
// stored instead of it.
func newOneTimeToken() (token string, hash []byte) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails on supported platforms
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, hashToken(token)
}

// hashToken is how a presented token is looked up.
func hashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}
