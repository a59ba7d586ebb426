package handlers

import (
	_ "embed"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"

	"adpilot/config"
)

// bcryptCost is the work factor of stored password hashes.
const bcryptCost = 12

// passwordCost is the work factor used under env: bcryptCost, except with
// ENV=test, where the race detector makes each cost-12 hash take seconds and
// the tests only need hashes that verify.
func passwordCost(env string) int {
	if env == config.EnvTest {
		return bcrypt.MinCost
	}
	return bcryptCost
}

// Password length bounds: bcrypt reads at most 72 bytes, so longer
// passwords would silently lose their tail.
const (
	minPasswordLen = 10
	maxPasswordLen = 72
)

//go:embed common_passwords.txt
var commonPasswordsText string

var commonPasswords = func() map[string]bool {
	m := map[string]bool{}
	for _, line := range strings.Split(commonPasswordsText, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			m[strings.ToLower(line)] = true
		}
	}
	return m
}()

// passwordProblem explains why a new password is refused, or returns "".
func passwordProblem(password, email string) string {
	switch {
	case password == "":
		return "Enter a password."
	case len([]rune(password)) < minPasswordLen:
		return "Use at least 10 characters."
	case len(password) > maxPasswordLen:
		return "Use at most 72 bytes (bcrypt ignores the rest)."
	case commonPasswords[strings.ToLower(password)]:
		return "This password is too common; choose another."
	case email != "" && strings.EqualFold(password, email):
		return "Do not use your email as your password."
	}
	return ""
}

func (h *Handler) hashPassword(password string) (string, error) {
	b, err := bcrypt.GenerateFromPassword([]byte(password), h.passwordCost)
	return string(b), err
}

// checkPassword compares in constant time (bcrypt does).
func checkPassword(hash, password string) bool {
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}

// newDummyHash makes the hash compared against when a login matches nobody,
// so a missing account takes as long to refuse as a wrong password. It is
// made on first use, keeping start-up fast.
func newDummyHash(cost int) func() string {
	return sync.OnceValue(func() string {
		b, _ := bcrypt.GenerateFromPassword([]byte("adpilot-timing-equaliser"), cost)
		return string(b)
	})
}
