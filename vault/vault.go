// Package vault encrypts secrets at rest (OAuth tokens, webhook signing
// secrets) with AES-256-GCM. Each ciphertext is
//
//	key id (1 byte) || nonce (12 bytes) || sealed data and tag
//
// The key id names the key that sealed it, so a rotation can add a new key
// while old ciphertexts still open. Every ciphertext is bound to where it is
// stored ("ad_token:<id>:access_token") as additional data: a value copied to
// another row or column fails to open.
package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"errors"
	"fmt"
)

// ErrDecrypt means a ciphertext did not open: wrong key, wrong row or
// column, or tampered data. It never says which, by design.
var ErrDecrypt = errors.New("vault: ciphertext does not open with any known key for this place")

type key struct {
	id   byte
	aead cipher.AEAD
}

// Keyring seals with its newest key and opens with any of its keys.
type Keyring struct {
	current key
	all     []key // current first
}

// New builds a keyring from 32-byte keys: current seals, previous ones
// (being rotated out) only open.
func New(current []byte, previous ...[]byte) (*Keyring, error) {
	k := &Keyring{}
	for i, raw := range append([][]byte{current}, previous...) {
		if len(raw) != 32 {
			return nil, fmt.Errorf("vault: key %d has %d bytes, want 32", i, len(raw))
		}
		block, err := aes.NewCipher(raw)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCMWithRandomNonce(block)
		if err != nil {
			return nil, err
		}
		k.all = append(k.all, key{id: keyID(raw), aead: aead})
	}
	k.current = k.all[0]
	return k, nil
}

// keyID is a one-byte fingerprint of a key. Two keys may share one (1 in
// 256); Open then tries each, and GCM's tag tells which is right.
func keyID(raw []byte) byte {
	sum := sha256.Sum256(append([]byte("adpilot vault key id\x00"), raw...))
	return sum[0]
}

// Place is the additional data binding a ciphertext to its row and column.
func Place(table, rowID, column string) []byte {
	return []byte(table + ":" + rowID + ":" + column)
}

// Seal encrypts plaintext for place under the current key.
func (k *Keyring) Seal(plaintext, place []byte) []byte {
	out := make([]byte, 1, 1+k.current.aead.NonceSize()+len(plaintext)+k.current.aead.Overhead())
	out[0] = k.current.id
	return k.current.aead.Seal(out, nil, plaintext, place)
}

// Open decrypts a ciphertext sealed for place by any key of the ring.
func (k *Keyring) Open(ciphertext, place []byte) ([]byte, error) {
	if len(ciphertext) < 1+k.current.aead.NonceSize()+k.current.aead.Overhead() {
		return nil, ErrDecrypt
	}
	for _, key := range k.all {
		if key.id != ciphertext[0] {
			continue
		}
		if plain, err := key.aead.Open(nil, nil, ciphertext[1:], place); err == nil {
			return plain, nil
		}
	}
	return nil, ErrDecrypt
}

// Current reports whether ciphertext was sealed by the current key (so a
// rotation can skip it). A key-id clash makes it answer true for an old
// key's ciphertext only when Open with the current key succeeds.
func (k *Keyring) Current(ciphertext, place []byte) bool {
	if len(ciphertext) == 0 || ciphertext[0] != k.current.id {
		return false
	}
	_, err := k.current.aead.Open(nil, nil, ciphertext[1:], place)
	return err == nil
}
