package notify

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader carries "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>".
// Signing the timestamp with the body lets receivers refuse replays of old
// deliveries; v1 names the scheme so another can be added beside it later.
const SignatureHeader = "X-Adpilot-Signature"

// DefaultSignatureTolerance is how far a signature's timestamp may be from
// the receiver's clock (either way) when VerifySignature is given none.
const DefaultSignatureTolerance = 5 * time.Minute

// Verification failures; VerifySignature wraps one of them.
var (
	ErrSignatureMalformed = errors.New("malformed signature header")
	ErrSignatureMismatch  = errors.New("signature does not match")
	ErrSignatureExpired   = errors.New("signature timestamp outside the tolerance")
)

// Sign returns the SignatureHeader value for body sent at t.
func Sign(secret string, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(signatureMAC(secret, ts, body))
}

func signatureMAC(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// VerifySignature checks a SignatureHeader value the way a receiver should:
// any of its v1 values (several may be present while a secret is rotated)
// must be the HMAC of t + "." + the raw body, compared in constant time, and
// t must be within tolerance of now (DefaultSignatureTolerance when ≤ 0).
// Unknown schemes are ignored; the order of the parts does not matter.
func VerifySignature(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultSignatureTolerance
	}
	var ts string
	var sigs [][]byte
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return malformed("part without '='")
		}
		switch k {
		case "t":
			if ts != "" {
				return malformed("more than one t")
			}
			ts = v
		case "v1":
			sig, err := hex.DecodeString(v)
			if err != nil || len(sig) != sha256.Size {
				return malformed("v1 is not a hex HMAC-SHA256")
			}
			sigs = append(sigs, sig)
		}
	}
	if ts == "" {
		return malformed("no t")
	}
	if len(sigs) == 0 {
		return malformed("no v1")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sec <= 0 {
		return malformed("t is not a unix time")
	}
	want := signatureMAC(secret, ts, body)
	matched := false
	for _, sig := range sigs {
		// No early exit: the time taken must not depend on which value matched.
		matched = hmac.Equal(sig, want) || matched
	}
	if !matched {
		return ErrSignatureMismatch
	}
	// Checked after the MAC, so only authentic (replayed or skewed) messages
	// are reported as expired.
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrSignatureExpired
	}
	return nil
}

func malformed(why string) error {
	return fmt.Errorf("%w: %s", ErrSignatureMalformed, why)
}

// NewWebhookSecret returns a new signing secret: "whsec_" and 32 random
// bytes in unpadded base64url (the prefix makes leaked secrets recognisable).
func NewWebhookSecret() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand crashes the program instead)
	return "whsec_" + base64.RawURLEncoding.EncodeToString(b)
}
