package config

import (
	"crypto/hkdf"
	"crypto/sha256"
)

// Key purposes: each derived key serves exactly one use, so a leak of one
// never exposes another.
const (
	KeySessionHash  = "adpilot session hash v1"
	KeySessionBlock = "adpilot session block v1"
	KeyJWT          = "adpilot jwt hs256 v1"
)

// DeriveKey derives an n-byte key for purpose from MASTER_SECRET_KEY (HKDF-SHA256).
func (c *Config) DeriveKey(purpose string, n int) []byte {
	key, err := hkdf.Key(sha256.New, []byte(c.MasterSecretKey.Reveal()), nil, purpose, n)
	if err != nil {
		// Only an impossible length (over 255*32 bytes) fails.
		panic("config: DeriveKey: " + err.Error())
	}
	return key
}

// KeyTokens derives the vault key that encrypts tokens and secrets at rest.
const KeyTokens = "adpilot vault aes-256-gcm v1"

// VaultKeys returns the current vault key and, during a rotation, the one
// derived from MASTER_SECRET_KEY_PREVIOUS.
func (c *Config) VaultKeys() (current []byte, previous [][]byte) {
	current = c.DeriveKey(KeyTokens, 32)
	if c.MasterSecretKeyPrevious != "" {
		old, err := hkdf.Key(sha256.New, []byte(c.MasterSecretKeyPrevious.Reveal()), nil, KeyTokens, 32)
		if err != nil {
			panic("config: VaultKeys: " + err.Error())
		}
		previous = append(previous, old)
	}
	return current, previous
}
