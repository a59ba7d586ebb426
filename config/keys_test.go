package config_test

import (
	"bytes"
	"encoding/base64"
	"testing"

	"adpilot/config"
)

func TestDeriveKey(t *testing.T) {
	t.Parallel()
	keyA := config.GenerateSecret()
	keyB := config.GenerateSecret()
	a := &config.Config{MasterSecretKey: config.Secret(keyA)}
	a2 := &config.Config{MasterSecretKey: config.Secret(keyA)}
	b := &config.Config{MasterSecretKey: config.Secret(keyB)}

	for _, n := range []int{16, 32, 64} {
		if got := len(a.DeriveKey(config.KeySessionHash, n)); got != n {
			t.Errorf("DeriveKey(_, %d) returned %d bytes", n, got)
		}
	}

	tests := []struct {
		name  string
		x, y  []byte
		equal bool
	}{
		{"same key and purpose, same config", a.DeriveKey(config.KeySessionHash, 32), a.DeriveKey(config.KeySessionHash, 32), true},
		{"same key and purpose, another config", a.DeriveKey(config.KeySessionBlock, 32), a2.DeriveKey(config.KeySessionBlock, 32), true},
		{"different purposes", a.DeriveKey(config.KeySessionHash, 32), a.DeriveKey(config.KeySessionBlock, 32), false},
		{"different arbitrary purposes", a.DeriveKey("purpose one", 32), a.DeriveKey("purpose two", 32), false},
		{"different master keys", a.DeriveKey(config.KeySessionHash, 32), b.DeriveKey(config.KeySessionHash, 32), false},
		{"not the master key itself", a.DeriveKey(config.KeySessionHash, len(keyA)), []byte(keyA), false},
	}
	for _, tt := range tests {
		if got := bytes.Equal(tt.x, tt.y); got != tt.equal {
			t.Errorf("%s: equal = %v, want %v", tt.name, got, tt.equal)
		}
	}
	if bytes.Equal(a.DeriveKey(config.KeySessionHash, 32), make([]byte, 32)) {
		t.Error("DeriveKey returned all zero bytes")
	}
}

func TestDeriveKeyStableAcrossLoads(t *testing.T) {
	t.Parallel()
	vars := testVars("MASTER_SECRET_KEY", config.GenerateSecret())
	first := mustLoad(t, vars).DeriveKey(config.KeySessionHash, 64)
	second := mustLoad(t, vars).DeriveKey(config.KeySessionHash, 64)
	if !bytes.Equal(first, second) {
		t.Error("the same MASTER_SECRET_KEY derived different keys on two loads")
	}
}

func TestDeriveKeyImpossibleLengthPanics(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Error("DeriveKey with n over 255*32 did not panic")
		}
	}()
	(&config.Config{MasterSecretKey: "k"}).DeriveKey("p", 255*32+1)
}

func TestGenerateSecret(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 200 {
		s := config.GenerateSecret()
		if len(s) != 43 {
			t.Fatalf("GenerateSecret() = %d characters, want 43", len(s))
		}
		raw, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil || len(raw) != 32 {
			t.Fatalf("GenerateSecret() is not 32 base64url bytes: %d bytes, %v", len(raw), err)
		}
		if seen[s] {
			t.Fatal("GenerateSecret() repeated a value")
		}
		seen[s] = true
	}
}

func TestGeneratedSecretsPassProdChecks(t *testing.T) {
	t.Parallel()
	for range 50 {
		mustLoad(t, prodVars())
	}
}
