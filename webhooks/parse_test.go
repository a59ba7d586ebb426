package webhooks_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"adpilot/webhooks"
)

const leadBatch = `{"object":"page","entry":[
 {"id":"5550001","time":1700000000,"changes":[
   {"field":"leadgen","value":{"leadgen_id":"9001","page_id":"5550001","form_id":"77","ad_id":"88","adgroup_id":"99","created_time":1700000000}},
   {"field":"leadgen","value":{"leadgen_id":9002,"page_id":"5550001","form_id":"77","created_time":1700000001}}]},
 {"id":"5550002","time":1700000005,"changes":[
   {"field":"feed","value":{"item":"post","verb":"add","post_id":"5550002_1","message":"hello"}}]}]}`

func TestParseFacebookBatch(t *testing.T) {
	evs, err := webhooks.ParseFacebook([]byte(leadBatch))
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 {
		t.Fatalf("%d events, want 3 (one per change)", len(evs))
	}
	want := []struct{ typ, key, object string }{
		{"facebook.leadgen", "leadgen:9001", "5550001"},
		{"facebook.leadgen", "leadgen:9002", "5550001"},
		{"facebook.feed", "", "5550002"},
	}
	for i, w := range want {
		ev := evs[i]
		if ev.Platform != "facebook" || ev.Type != w.typ || ev.ObjectID != w.object || ev.Object != "page" {
			t.Errorf("event %d = %+v, want type %s about %s", i, ev, w.typ, w.object)
		}
		if w.key != "" && ev.DedupeKey != w.key {
			t.Errorf("event %d key = %q, want %q", i, ev.DedupeKey, w.key)
		}
		if !json.Valid(ev.Payload) {
			t.Errorf("event %d payload is not JSON: %s", i, ev.Payload)
		}
	}
	if !strings.HasPrefix(evs[2].DedupeKey, "h:") {
		t.Errorf("feed key = %q, want a hash", evs[2].DedupeKey)
	}
	if !evs[0].OccurredAt.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("OccurredAt = %v", evs[0].OccurredAt)
	}
	l, ok := webhooks.LeadgenOf(evs[0].Payload)
	if !ok || l.LeadgenID != "9001" || l.PageID != "5550001" || l.FormID != "77" || l.AdID != "88" || l.CreatedTime != 1700000000 {
		t.Errorf("LeadgenOf = %+v, %v", l, ok)
	}
	if l, ok := webhooks.LeadgenOf(evs[1].Payload); !ok || l.LeadgenID != "9002" {
		t.Errorf("numeric leadgen_id: LeadgenOf = %+v, %v", l, ok)
	}
	if _, ok := webhooks.LeadgenOf(evs[2].Payload); ok {
		t.Error("a feed change reads as a lead")
	}
}

func TestFacebookKeysAreDeterministic(t *testing.T) {
	// The same content with other spacing and key order: the same keys.
	reordered := `{"entry":[{"changes":[{"value":{"page_id":"5550001","leadgen_id":"9001"},"field":"leadgen"}, {"value":{"leadgen_id":9002}, "field":"leadgen"}],"time":1700000000,"id":"5550001"},
	  {"time":1700000005,"id":"5550002","changes":[{"value":{"message":"hello","post_id":"5550002_1","verb":"add","item":"post"},"field":"feed"}]}],"object":"page"}`
	a, err := webhooks.ParseFacebook([]byte(leadBatch))
	if err != nil {
		t.Fatal(err)
	}
	b, err := webhooks.ParseFacebook([]byte(reordered))
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if a[i].DedupeKey != b[i].DedupeKey {
			t.Errorf("event %d: keys %q and %q differ", i, a[i].DedupeKey, b[i].DedupeKey)
		}
	}
	// Another value is another event.
	other, _ := webhooks.ParseFacebook([]byte(strings.Replace(leadBatch, "hello", "hello!", 1)))
	if other[2].DedupeKey == a[2].DedupeKey {
		t.Error("a different feed change has the same key")
	}
}

func TestParseFacebookShapes(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		types []string
	}{
		{"messaging", `{"object":"page","entry":[{"id":"1","time":1700000000000,"messaging":[{"sender":{"id":"2"},"timestamp":1700000000000,"message":{"mid":"m_1","text":"hi"}},{"sender":{"id":"2"},"read":{"watermark":1}}]}]}`,
			[]string{"facebook.messaging", "facebook.messaging"}},
		{"changed_fields", `{"object":"user","entry":[{"id":"10001","time":1700000000,"changed_fields":["email","name"],"uid":"10001"}]}`,
			[]string{"facebook.email", "facebook.name"}},
		{"empty batch", `{"object":"page","entry":[]}`, nil},
		{"unknown entry kept whole", `{"object":"page","entry":[{"id":"1","time":1,"standby":[{}]}]}`, []string{"facebook.unknown"}},
		{"odd field name", `{"object":"page","entry":[{"id":"1","time":1,"changes":[{"field":"Some Field!","value":null}]}]}`, []string{"facebook.some_field_"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := webhooks.ParseFacebook([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			keys := map[string]bool{}
			for _, e := range evs {
				got = append(got, e.Type)
				if keys[e.DedupeKey] {
					t.Errorf("key %q used twice", e.DedupeKey)
				}
				keys[e.DedupeKey] = true
			}
			if strings.Join(got, ",") != strings.Join(tt.types, ",") {
				t.Fatalf("types = %v, want %v", got, tt.types)
			}
		})
	}
	evs, _ := webhooks.ParseFacebook([]byte(tests[0].body))
	if evs[0].DedupeKey != "mid:m_1" {
		t.Errorf("message key = %q, want its mid", evs[0].DedupeKey)
	}
}

func TestParseFacebookMalformed(t *testing.T) {
	for _, body := range []string{``, `not json`, `[]`, `{"entry":[]}`, `{"object":1,"entry":[]}`, `{"object":"page"}`,
		`{"object":"page","entry":{}}`, `{"object":"page","entry":[1]}`, `{"object":"page","entry":[{"changes":{}}]}`,
		`{"object":"page","entry":[{"changes":[1]}]}`, `{"object":"page","entry":[]} trailing`} {
		_, err := webhooks.ParseFacebook([]byte(body))
		var me *webhooks.MalformedError
		if !errors.As(err, &me) {
			t.Errorf("ParseFacebook(%q) = %v, want a MalformedError", body, err)
		}
	}
}

func TestNULsAreReplaced(t *testing.T) {
	evs, err := webhooks.ParseFacebook([]byte(`{"object":"page","entry":[{"id":"1","time":1,"changes":[{"field":"feed","value":{"m\u0000":"a\u0000b"}}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(evs[0].Payload), `\u0000`) {
		t.Fatalf("payload keeps a NUL: %s", evs[0].Payload)
	}
}

func TestParseTikTok(t *testing.T) {
	body := `{"client_key":"bwo2m45353a6k85","event":"authorization.removed","create_time":1615338610,"user_openid":"act.example12345","content":"{\"reason\": 1 }"}`
	ev, err := webhooks.ParseTikTok([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Platform != "tiktok" || ev.Type != "tiktok.authorization.removed" || ev.ObjectID != "act.example12345" ||
		!ev.OccurredAt.Equal(time.Unix(1615338610, 0)) || !strings.HasPrefix(ev.DedupeKey, "h:") {
		t.Fatalf("event = %+v", ev)
	}
	c := webhooks.TikTokContentOf(ev.Payload)
	if c.Reason != "1" || webhooks.AuthorizationRemovedReason(c.Reason) != "the user disconnected adpilot in the TikTok app" {
		t.Fatalf("content = %+v", c)
	}
	again, _ := webhooks.ParseTikTok([]byte(body))
	if again.DedupeKey != ev.DedupeKey {
		t.Error("the same delivery has another key")
	}
	other, _ := webhooks.ParseTikTok([]byte(strings.Replace(body, "1615338610", "1615338611", 1)))
	if other.DedupeKey == ev.DedupeKey {
		t.Error("another event has the same key")
	}

	pub, err := webhooks.ParseTikTok([]byte(`{"client_key":"k","event":"post.publish.failed","create_time":1,"user_openid":"o","content":"{\"publish_id\":\"v_pub_1\",\"publish_type\":\"DIRECT_PUBLISH\",\"reason\":\"spam_risk\"}"}`))
	if err != nil || pub.Type != "tiktok.post.publish.failed" {
		t.Fatalf("publish event = %+v, %v", pub, err)
	}
	if c := webhooks.TikTokContentOf(pub.Payload); c.PublishID != "v_pub_1" || c.PublishType != "DIRECT_PUBLISH" || c.Reason != "spam_risk" {
		t.Fatalf("publish content = %+v", c)
	}

	for _, bad := range []string{``, `[]`, `{}`, `{"event":""}`, `{"event":3}`, `{"event":"x","content":{}}`} {
		var me *webhooks.MalformedError
		if _, err := webhooks.ParseTikTok([]byte(bad)); !errors.As(err, &me) {
			t.Errorf("ParseTikTok(%q) = %v, want a MalformedError", bad, err)
		}
	}
}

func TestEventAutomationConfig(t *testing.T) {
	lead := webhooks.EventFacts{Name: "facebook.leadgen", ConnectionID: "c1", PageID: "p1", FormID: "f1", AdID: "a1"}
	tests := []struct {
		config string
		want   bool
	}{
		{`{"trigger":"event","event":"facebook.leadgen"}`, true},
		{`{"trigger":"event","event":"facebook.leadgen","filters":{"page_id":"p1","form_id":["f0","f1"],"connection_id":"c1"}}`, true},
		{`{"trigger":"event","event":"facebook.leadgen","filters":{"page_id":"","form_id":null}}`, true},
		{`{"trigger":"event","event":"facebook.leadgen","filters":{"page_id":"p2"}}`, false},
		{`{"trigger":"event","event":"facebook.leadgen","filters":{"form_id":["f0"]}}`, false},
		{`{"trigger":"event","event":"facebook.leadgen","filters":{"connection_id":"c2"}}`, false},
		{`{"trigger":"event","event":"facebook.feed"}`, false},
		{`{"event":"facebook.leadgen"}`, false},
		{`{"trigger":"event","event":"facebook.leadgen","filters":{"page_id":7}}`, false},
	}
	for _, tt := range tests {
		c, ok := webhooks.ParseEventAutomationConfig([]byte(tt.config))
		if got := ok && c.Matches(lead); got != tt.want {
			t.Errorf("%s: matches = %v, want %v", tt.config, got, tt.want)
		}
	}
}
