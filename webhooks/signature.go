// Package webhooks holds the pure parts of incoming platform webhooks:
// signature checks over the raw body and parsers that turn a delivery into
// events with deterministic deduplication keys. It touches no database and
// no network; handlers store what it returns and jobs process it.
package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Signature errors. Handlers answer every one of them with 401; the
// distinction is for logs.
var (
	ErrNoSecret         = errors.New("webhooks: no secret configured to verify the signature")
	ErrMissingSignature = errors.New("webhooks: the signature header is missing")
	ErrMalformedHeader  = errors.New("webhooks: the signature header is malformed")
	ErrBadSignature     = errors.New("webhooks: the signature does not match the body")
	ErrStaleSignature   = errors.New("webhooks: the signature's timestamp is too old")
	ErrFutureSignature  = errors.New("webhooks: the signature's timestamp is in the future")
)

// FacebookSignatureHeader carries Facebook's signature: "sha256=<hex>".
const FacebookSignatureHeader = "X-Hub-Signature-256"

// TikTokSignatureHeader carries TikTok's signature: "t=<unix>,s=<hex>".
const TikTokSignatureHeader = "TikTok-Signature"

// TikTok's accepted clock window: a signature older than TikTokMaxAge or
// more than TikTokMaxSkew ahead of our clock is refused (replays).
const (
	TikTokMaxAge  = 5 * time.Minute
	TikTokMaxSkew = time.Minute
)

// macSize is the length of an HMAC-SHA256.
const macSize = sha256.Size

// VerifyFacebook checks X-Hub-Signature-256 (HMAC-SHA256 of the raw body
// keyed with the app secret) in constant time.
func VerifyFacebook(appSecret string, body []byte, header string) error {
	if appSecret == "" {
		return ErrNoSecret
	}
	header = strings.TrimSpace(header)
	if header == "" {
		return ErrMissingSignature
	}
	algo, sig, ok := strings.Cut(header, "=")
	if !ok || !strings.EqualFold(algo, "sha256") {
		return ErrMalformedHeader
	}
	got, err := hex.DecodeString(sig)
	if err != nil || len(got) != macSize {
		return ErrMalformedHeader
	}
	if !hmac.Equal(got, mac(appSecret, body)) {
		return ErrBadSignature
	}
	return nil
}

// SignFacebook returns the X-Hub-Signature-256 value Facebook would send
// (for fakes, tests and load generators).
func SignFacebook(appSecret string, body []byte) string {
	return "sha256=" + hex.EncodeToString(mac(appSecret, body))
}

// VerifyTikTok checks TikTok-Signature: s is HMAC-SHA256 of t + "." + raw
// body keyed with the client secret, compared in constant time; t (unix
// seconds) must lie within TikTokMaxAge before now and TikTokMaxSkew after.
// Several s= values are accepted (any one matching), as during a secret
// rotation. It returns the signed time.
func VerifyTikTok(clientSecret string, body []byte, header string, now time.Time) (time.Time, error) {
	if clientSecret == "" {
		return time.Time{}, ErrNoSecret
	}
	header = strings.TrimSpace(header)
	if header == "" {
		return time.Time{}, ErrMissingSignature
	}
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return time.Time{}, ErrMalformedHeader
		}
		switch strings.TrimSpace(k) {
		case "t":
			if ts != "" {
				return time.Time{}, ErrMalformedHeader
			}
			ts = strings.TrimSpace(v)
		case "s":
			sig, err := hex.DecodeString(strings.TrimSpace(v))
			if err != nil || len(sig) != macSize {
				return time.Time{}, ErrMalformedHeader
			}
			sigs = append(sigs, sig)
		}
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || secs <= 0 || len(sigs) == 0 || len(sigs) > 8 {
		return time.Time{}, ErrMalformedHeader
	}
	want := tiktokMAC(clientSecret, ts, body)
	match := false
	for _, sig := range sigs {
		// Every candidate is compared, so the time taken says nothing.
		if hmac.Equal(sig, want) {
			match = true
		}
	}
	if !match {
		return time.Time{}, ErrBadSignature
	}
	signed := time.Unix(secs, 0).UTC()
	switch {
	case now.Sub(signed) > TikTokMaxAge:
		return signed, ErrStaleSignature
	case signed.Sub(now) > TikTokMaxSkew:
		return signed, ErrFutureSignature
	}
	return signed, nil
}

// SignTikTok returns the TikTok-Signature value TikTok would send at t.
func SignTikTok(clientSecret string, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",s=" + hex.EncodeToString(tiktokMAC(clientSecret, ts, body))
}

func tiktokMAC(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}

func mac(secret string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return m.Sum(nil)
}
