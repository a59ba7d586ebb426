package webhooks_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"adpilot/webhooks"
)

const secret = "app-secret-for-tests"

var body = []byte(`{"object":"page","entry":[{"id":"5550001","time":1700000000,"changes":[{"field":"leadgen","value":{"leadgen_id":"444","page_id":"5550001"}}]}]}`)

func TestVerifyFacebook(t *testing.T) {
	good := webhooks.SignFacebook(secret, body)
	tests := []struct {
		name   string
		secret string
		body   []byte
		header string
		want   error
	}{
		{"valid", secret, body, good, nil},
		{"valid, upper-case algorithm", secret, body, "SHA256=" + strings.TrimPrefix(good, "sha256="), nil},
		{"missing", secret, body, "", webhooks.ErrMissingSignature},
		{"wrong secret", secret, body, webhooks.SignFacebook("another-secret", body), webhooks.ErrBadSignature},
		{"different body", secret, []byte(strings.Replace(string(body), "444", "445", 1)), good, webhooks.ErrBadSignature},
		{"one bit off", secret, body, good[:len(good)-1] + flip(good[len(good)-1]), webhooks.ErrBadSignature},
		{"sha1 header", secret, body, "sha1=" + strings.TrimPrefix(good, "sha256=")[:40], webhooks.ErrMalformedHeader},
		{"no algorithm", secret, body, strings.TrimPrefix(good, "sha256="), webhooks.ErrMalformedHeader},
		{"not hex", secret, body, "sha256=zz" + good[9:], webhooks.ErrMalformedHeader},
		{"truncated", secret, body, good[:len(good)-2], webhooks.ErrMalformedHeader},
		{"no secret configured", "", body, webhooks.SignFacebook("", body), webhooks.ErrNoSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := webhooks.VerifyFacebook(tt.secret, tt.body, tt.header); !errors.Is(err, tt.want) {
				t.Fatalf("VerifyFacebook = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerifyTikTok(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	sign := func(at time.Time) string { return webhooks.SignTikTok(secret, body, at) }
	good := sign(now)
	sig := good[strings.Index(good, "s=")+2:]
	tests := []struct {
		name   string
		secret string
		body   []byte
		header string
		want   error
	}{
		{"valid", secret, body, good, nil},
		{"valid, spaces and order", secret, body, " s=" + sig + " , t=" + strconv.FormatInt(now.Unix(), 10), nil},
		{"valid, 4 minutes old", secret, body, sign(now.Add(-4 * time.Minute)), nil},
		{"valid, 30 s ahead", secret, body, sign(now.Add(30 * time.Second)), nil},
		{"valid among two signatures", secret, body, good + ",s=" + strings.Repeat("00", 32), nil},
		{"missing", secret, body, "", webhooks.ErrMissingSignature},
		{"wrong secret", secret, body, webhooks.SignTikTok("another-secret", body, now), webhooks.ErrBadSignature},
		{"different body", secret, []byte(`{"event":"authorization.removed"}`), good, webhooks.ErrBadSignature},
		{"timestamp changed", secret, body, "t=" + strconv.FormatInt(now.Unix()-1, 10) + ",s=" + sig, webhooks.ErrBadSignature},
		{"stale", secret, body, sign(now.Add(-6 * time.Minute)), webhooks.ErrStaleSignature},
		{"future", secret, body, sign(now.Add(2 * time.Minute)), webhooks.ErrFutureSignature},
		{"no timestamp", secret, body, "s=" + sig, webhooks.ErrMalformedHeader},
		{"no signature", secret, body, "t=" + strconv.FormatInt(now.Unix(), 10), webhooks.ErrMalformedHeader},
		{"two timestamps", secret, body, good + ",t=1", webhooks.ErrMalformedHeader},
		{"bad timestamp", secret, body, "t=soon,s=" + sig, webhooks.ErrMalformedHeader},
		{"not hex", secret, body, "t=1,s=xyz", webhooks.ErrMalformedHeader},
		{"no secret configured", "", body, webhooks.SignTikTok("", body, now), webhooks.ErrNoSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := webhooks.VerifyTikTok(tt.secret, tt.body, tt.header, now); !errors.Is(err, tt.want) {
				t.Fatalf("VerifyTikTok = %v, want %v", err, tt.want)
			}
		})
	}
}

func flip(c byte) string {
	if c == '0' {
		return "1"
	}
	return "0"
}
