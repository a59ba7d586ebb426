package vault

import (
	"bytes"
	"errors"
	"testing"
)

func rawKey(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func TestSealOpenRoundTrip(t *testing.T) {
	k, err := New(rawKey(1))
	if err != nil {
		t.Fatal(err)
	}
	place := Place("ad_token", "row-1", "access_token")
	ct := k.Seal([]byte("EAAB-secret-token"), place)
	if ct[0] != keyID(rawKey(1)) {
		t.Fatalf("first byte %x is not the key id %x", ct[0], keyID(rawKey(1)))
	}
	if bytes.Contains(ct, []byte("secret-token")) {
		t.Fatal("ciphertext contains the plaintext")
	}
	got, err := k.Open(ct, place)
	if err != nil || string(got) != "EAAB-secret-token" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if bytes.Equal(ct, k.Seal([]byte("EAAB-secret-token"), place)) {
		t.Fatal("two seals of the same value are equal: the nonce is not random")
	}
}

func TestCiphertextIsBoundToItsPlace(t *testing.T) {
	k, _ := New(rawKey(1))
	ct := k.Seal([]byte("token"), Place("ad_token", "row-1", "access_token"))
	for _, place := range [][]byte{
		Place("ad_token", "row-2", "access_token"),
		Place("ad_token", "row-1", "refresh_token"),
		Place("destination", "row-1", "access_token"),
	} {
		if _, err := k.Open(ct, place); !errors.Is(err, ErrDecrypt) {
			t.Errorf("opened at %s: err = %v", place, err)
		}
	}
}

func TestRotation(t *testing.T) {
	place := Place("ad_token", "r", "access_token")
	old, _ := New(rawKey(1))
	ct := old.Seal([]byte("token"), place)

	rotated, _ := New(rawKey(2), rawKey(1))
	if rotated.Current(ct, place) {
		t.Fatal("an old-key ciphertext reported as current")
	}
	if got, err := rotated.Open(ct, place); err != nil || string(got) != "token" {
		t.Fatalf("previous key does not open: %q, %v", got, err)
	}
	fresh := rotated.Seal([]byte("token"), place)
	if !rotated.Current(fresh, place) {
		t.Fatal("a new ciphertext is not current")
	}
	newOnly, _ := New(rawKey(2))
	if _, err := newOnly.Open(ct, place); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("a ring without the old key opened its ciphertext: %v", err)
	}
}

func TestTamperedAndShortCiphertexts(t *testing.T) {
	k, _ := New(rawKey(1))
	place := Place("t", "r", "c")
	ct := k.Seal([]byte("token"), place)
	for i := range ct {
		bad := bytes.Clone(ct)
		bad[i] ^= 0x01
		if _, err := k.Open(bad, place); err == nil {
			t.Fatalf("flipping byte %d still opens", i)
		}
	}
	for _, short := range [][]byte{nil, {}, ct[:1], ct[:13]} {
		if _, err := k.Open(short, place); !errors.Is(err, ErrDecrypt) {
			t.Errorf("short ciphertext %d bytes: %v", len(short), err)
		}
	}
	if _, err := New(make([]byte, 16)); err == nil {
		t.Fatal("a 16-byte key was accepted")
	}
}

// BenchmarkSealOpen is one token written and read back (a connection saved,
// then used by a run).
func BenchmarkSealOpen(b *testing.B) {
	k, _ := New(rawKey(1), rawKey(2))
	place := Place("ad_token", "00000000-0000-0000-0000-000000000000", "access_token")
	token := []byte("EAAB" + string(bytes.Repeat([]byte("x"), 200)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Open(k.Seal(token, place), place); err != nil {
			b.Fatal(err)
		}
	}
}
