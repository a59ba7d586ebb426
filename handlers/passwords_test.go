package handlers

import (
	"testing"

	"golang.org/x/crypto/bcrypt"

	"adpilot/config"
)

// Outside tests, stored hashes use bcrypt cost 12.
func TestPasswordCost(t *testing.T) {
	for env, want := range map[string]int{config.EnvProd: 12, config.EnvDev: 12, config.EnvTest: bcrypt.MinCost} {
		h := &Handler{passwordCost: passwordCost(env)}
		hash, err := h.hashPassword("a long enough password")
		if err != nil {
			t.Fatal(err)
		}
		if cost, _ := bcrypt.Cost([]byte(hash)); cost != want {
			t.Errorf("ENV=%s: cost %d, want %d", env, cost, want)
		}
	}
}
