package webhooks_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"adpilot/webhooks"
)

// The fuzz targets check that no input panics, and that whatever parses
// gives events PostgreSQL can store (valid JSON without NULs, a key).

func FuzzVerifyFacebook(f *testing.F) {
	f.Add(body, webhooks.SignFacebook(secret, body))
	f.Add(body, "sha256=")
	f.Add([]byte{}, "")
	f.Add([]byte("x"), "sha256=zz")
	f.Fuzz(func(t *testing.T, b []byte, header string) {
		err := webhooks.VerifyFacebook(secret, b, header)
		if err == nil && !strings.EqualFold(strings.TrimSpace(header), webhooks.SignFacebook(secret, b)) {
			t.Fatalf("accepted %q for a body it does not sign", header)
		}
	})
}

func FuzzVerifyTikTok(f *testing.F) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f.Add(body, webhooks.SignTikTok(secret, body, now))
	f.Add(body, "t=1,s=")
	f.Add([]byte{}, ",,,")
	f.Add([]byte("x"), "t=-9223372036854775808,s=00")
	f.Fuzz(func(t *testing.T, b []byte, header string) {
		at, err := webhooks.VerifyTikTok(secret, b, header, now)
		if err == nil && (now.Sub(at) > webhooks.TikTokMaxAge || at.Sub(now) > webhooks.TikTokMaxSkew) {
			t.Fatalf("accepted a signature made at %v", at)
		}
	})
}

func FuzzParseFacebook(f *testing.F) {
	f.Add([]byte(leadBatch))
	f.Add(body)
	f.Add([]byte(`{"object":"page","entry":[{"id":"1","time":1700000000000,"messaging":[{"message":{"mid":"m_1"}}]}]}`))
	f.Add([]byte(`{"object":"user","entry":[{"id":"10001","time":1,"changed_fields":["email"]}]}`))
	f.Add([]byte(`{"object":"page","entry":[{"id":"1","changes":[{"field":"feed","value":{"a\u0000":"\u0000"}}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		evs, err := webhooks.ParseFacebook(b)
		if err != nil {
			return
		}
		for _, ev := range evs {
			checkEvent(t, ev)
			webhooks.LeadgenOf(ev.Payload)
		}
	})
}

func FuzzParseTikTok(f *testing.F) {
	f.Add([]byte(`{"client_key":"k","event":"authorization.removed","create_time":1615338610,"user_openid":"o","content":"{\"reason\":1}"}`))
	f.Add([]byte(`{"client_key":"k","event":"post.publish.failed","create_time":1,"user_openid":"o","content":"{\"publish_id\":\"p\"}"}`))
	f.Add([]byte(`{"event":"x","content":"\u0000"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := webhooks.ParseTikTok(b)
		if err != nil {
			return
		}
		checkEvent(t, ev)
		webhooks.TikTokContentOf(ev.Payload)
	})
}

func checkEvent(t *testing.T, ev webhooks.Event) {
	t.Helper()
	if !json.Valid(ev.Payload) || strings.Contains(string(ev.Payload), `\u0000`) {
		t.Fatalf("payload unfit for jsonb: %q", ev.Payload)
	}
	if ev.DedupeKey == "" || len(ev.DedupeKey) > 210 || strings.ContainsRune(ev.DedupeKey, 0) {
		t.Fatalf("dedupe key %q", ev.DedupeKey)
	}
	if ev.Type == "" || len(ev.Type) > 80 {
		t.Fatalf("type %q", ev.Type)
	}
}
