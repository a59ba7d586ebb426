package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"adpilot/notify"
	"adpilot/testutil"
)

func TestSignatureRoundTrip(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	body := []byte(`{"id":"d1"}`)
	h := notify.Sign("whsec_a", body, now)
	if !strings.HasPrefix(h, "t=1700000000,v1=") || len(h) != len("t=1700000000,v1=")+64 {
		t.Fatalf("Sign = %q", h)
	}
	v1 := strings.TrimPrefix(h, "t=1700000000,")
	other := "v1=" + strings.Repeat("ab", 32)
	for name, c := range map[string]struct {
		secret, header, body string
		at                   time.Time
		want                 error
	}{
		"valid":            {"whsec_a", h, string(body), now, nil},
		"clock ahead 4m":   {"whsec_a", h, string(body), now.Add(4 * time.Minute), nil},
		"clock behind 4m":  {"whsec_a", h, string(body), now.Add(-4 * time.Minute), nil},
		"reordered":        {"whsec_a", v1 + ", t=1700000000", string(body), now, nil},
		"several v1":       {"whsec_a", "t=1700000000," + other + "," + v1, string(body), now, nil},
		"unknown scheme":   {"whsec_a", "v0=zz," + h + ",v2=abc", string(body), now, nil},
		"tampered body":    {"whsec_a", h, `{"id":"d2"}`, now, notify.ErrSignatureMismatch},
		"wrong secret":     {"whsec_b", h, string(body), now, notify.ErrSignatureMismatch},
		"other t":          {"whsec_a", "t=1700000001," + v1, string(body), now, notify.ErrSignatureMismatch},
		"stale":            {"whsec_a", h, string(body), now.Add(6 * time.Minute), notify.ErrSignatureExpired},
		"future":           {"whsec_a", h, string(body), now.Add(-6 * time.Minute), notify.ErrSignatureExpired},
		"empty":            {"whsec_a", "", string(body), now, notify.ErrSignatureMalformed},
		"no t":             {"whsec_a", v1, string(body), now, notify.ErrSignatureMalformed},
		"no v1":            {"whsec_a", "t=1700000000", string(body), now, notify.ErrSignatureMalformed},
		"two t":            {"whsec_a", "t=1," + h, string(body), now, notify.ErrSignatureMalformed},
		"bad t":            {"whsec_a", "t=soon," + v1, string(body), now, notify.ErrSignatureMalformed},
		"bad hex":          {"whsec_a", "t=1700000000,v1=xyz", string(body), now, notify.ErrSignatureMalformed},
		"part without '='": {"whsec_a", h + ",junk", string(body), now, notify.ErrSignatureMalformed},
	} {
		err := notify.VerifySignature(c.secret, c.header, []byte(c.body), c.at, 5*time.Minute)
		if (c.want == nil) != (err == nil) || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("%s: VerifySignature = %v, want %v", name, err, c.want)
		}
	}
}

func TestNewWebhookSecret(t *testing.T) {
	a, b := notify.NewWebhookSecret(), notify.NewWebhookSecret()
	if !strings.HasPrefix(a, "whsec_") || len(a) != len("whsec_")+43 || a == b || strings.ContainsAny(a, "+/=") {
		t.Errorf("NewWebhookSecret = %q, %q", a, b)
	}
}

var devPolicy = notify.URLPolicy{AllowPrivate: true}

func TestWebhookSendSignedRequest(t *testing.T) {
	secret := notify.NewWebhookSecret()
	rec := testutil.NewWebhookReceiver(t, secret)
	w := notify.NewWebhook(devPolicy)
	target := notify.WebhookTarget{URL: rec.URL + "/hook", Secret: secret, Headers: map[string]string{
		"Authorization": "Bearer receiver-token", "X-Team": "ads",
		"Content-Type": "text/plain", "X-Adpilot-Event": "forged", "User-Agent": "evil", // skipped
	}}
	m := notify.Message{Event: "report", Title: "Daily <report>", Text: "Spend up 12%",
		Data:   map[string]any{"spend": 12.5, "campaigns": []string{"a", "b"}},
		Images: []notify.Attachment{{Name: "chart.png", ContentType: "image/png", Data: []byte("PNGDATA")}},
		Files:  []notify.Attachment{{Name: "rows.csv", ContentType: "text/csv", Data: []byte("a,b\n1,2\n")}}}
	for range 2 {
		if status, err := w.Send(context.Background(), target, "del-42", m); status != 200 || err != nil {
			t.Fatalf("Send = %d, %v", status, err)
		}
	}
	got := rec.WaitFor(2, time.Second)
	if ids := rec.DeliveryIDs(); len(ids) != 2 || ids[0] != "del-42" || ids[1] != "del-42" {
		t.Errorf("delivery ids = %v", ids)
	}
	r := got[0]
	if !r.SignatureValid {
		t.Error("the receiver's own check refused the signature")
	}
	if err := notify.VerifySignature(secret, r.Header.Get("X-Adpilot-Signature"), r.Body, time.Now(), 0); err != nil {
		t.Errorf("VerifySignature: %v", err)
	}
	for k, want := range map[string]string{
		"Content-Type": "application/json", "User-Agent": "adpilot-webhook/1", "X-Adpilot-Event": "report",
		"X-Adpilot-Delivery": "del-42", "Authorization": "Bearer receiver-token", "X-Team": "ads",
	} {
		if v := r.Header.Values(k); len(v) != 1 || v[0] != want {
			t.Errorf("header %s = %q, want %q", k, v, want)
		}
	}
	var body map[string]any
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatal(err)
	}
	if body["id"] != "del-42" || body["event"] != "report" || body["title"] != "Daily <report>" ||
		body["text"] != "Spend up 12%" || body["data"].(map[string]any)["spend"] != 12.5 {
		t.Errorf("body = %s", r.Body)
	}
	if _, err := time.Parse(time.RFC3339, body["sent_at"].(string)); err != nil {
		t.Errorf("sent_at: %v", err)
	}
	atts, _ := json.Marshal(body["attachments"])
	if want := `[{"content_type":"image/png","name":"chart.png","size":7},{"content_type":"text/csv","name":"rows.csv","size":8}]`; string(atts) != want {
		t.Errorf("attachments = %s, want %s", atts, want)
	}

	// A receiver with another secret sees an invalid signature.
	rec.SetSecret("whsec_other")
	_, _ = w.Send(context.Background(), target, "del-43", m)
	if rs := rec.WaitFor(3, time.Second); rs[2].SignatureValid {
		t.Error("signature valid under the wrong secret")
	}
}

func TestWebhookValidateHeaders(t *testing.T) {
	if err := notify.ValidateHeaders(map[string]string{"Authorization": "Bearer x", "X-Api-Key": "k\tv"}); err != nil {
		t.Errorf("valid headers: %v", err)
	}
	many := map[string]string{}
	for i := range 21 {
		many["X-H"+strings.Repeat("a", i)] = "v"
	}
	for name, c := range map[string]struct {
		h    map[string]string
		want string
	}{
		"content-type": {map[string]string{"content-type": "text/plain"}, "Content-Type is set by adpilot"},
		"host":         {map[string]string{"Host": "evil"}, "Host is set by adpilot"},
		"length":       {map[string]string{"Content-Length": "1"}, "cannot be overridden"},
		"user agent":   {map[string]string{"User-Agent": "x"}, "cannot be overridden"},
		"x-adpilot":    {map[string]string{"X-Adpilot-Signature": "x"}, "X-Adpilot-Signature is set by adpilot"},
		"bad name":     {map[string]string{"X Bad": "x"}, "not valid"},
		"empty name":   {map[string]string{"": "x"}, "not valid"},
		"crlf":         {map[string]string{"X-A": "secret-value\r\nX-Injected: 1"}, "line break"},
		"too many":     {many, "at most 20"},
	} {
		err := notify.ValidateHeaders(c.h)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "secret-value") {
			t.Errorf("%s: %v, want an error containing %q", name, err, c.want)
		}
	}
}

func TestWebhookFailureKinds(t *testing.T) {
	rec := testutil.NewWebhookReceiver(t, "whsec_k")
	w := notify.NewWebhook(devPolicy)
	target := notify.WebhookTarget{URL: rec.URL, Secret: "whsec_k"}
	for _, c := range []struct {
		script     func()
		kind       notify.FailureKind
		retryAfter time.Duration
		msg        string
	}{
		{func() { rec.RespondWith(500) }, notify.Retry, 0, "status 500: Internal Server Error: Internal Server Error from the test receiver"},
		{func() { rec.RespondWith(408) }, notify.Retry, 0, "status 408"},
		{func() { rec.RespondRetryAfter(429, "7") }, notify.Retry, 7 * time.Second, "status 429"},
		{func() { rec.RespondRetryAfter(503, time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)) }, notify.Retry, time.Hour, "status 503"},
		{func() { rec.RespondRetryAfter(429, "999999999") }, notify.Retry, 12 * time.Hour, "status 429"},
		{func() { rec.RespondWith(404) }, notify.Permanent, 0, "status 404: Not Found"},
		{func() { rec.RespondWith(301) }, notify.Permanent, 0, "redirects are not followed"},
	} {
		c.script()
		status, err := w.Send(context.Background(), target, "d", notify.Message{Event: "test"})
		var ne *notify.Error
		if !errors.As(err, &ne) || ne.Kind != c.kind || ne.StatusCode != status || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%d: Send = %v, want kind %d containing %q", status, err, c.kind, c.msg)
			continue
		}
		if d := ne.RetryAfter - c.retryAfter; d < -2*time.Second || d > 2*time.Second {
			t.Errorf("%d: RetryAfter = %s, want %s", status, ne.RetryAfter, c.retryAfter)
		}
	}
	if got := len(rec.Requests()); got != 7 { // the 301 was not followed
		t.Errorf("%d requests, want 7", got)
	}

	// Nobody listening: Retry.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	_, err := w.Send(context.Background(), notify.WebhookTarget{URL: dead.URL}, "d", notify.Message{})
	if notify.KindOf(err) != notify.Retry || strings.Contains(err.Error(), dead.URL) {
		t.Errorf("connection refused: %v, want Retry without the URL", err)
	}
	// A refused URL form: Permanent.
	_, err = notify.NewWebhook(notify.URLPolicy{RequireHTTPS: true, AllowPrivate: true}).
		Send(context.Background(), target, "d", notify.Message{})
	if notify.KindOf(err) != notify.Permanent || !strings.Contains(err.Error(), "webhook URL must use https://") {
		t.Errorf("http URL under RequireHTTPS: %v", err)
	}
}

func TestWebhookTimeoutIsRetry(t *testing.T) {
	rec := testutil.NewWebhookReceiver(t, "whsec_k")
	rec.SetDelay(5 * time.Second)
	w := notify.NewWebhook(devPolicy, notify.WithWebhookTimeout(100*time.Millisecond))
	start := time.Now()
	_, err := w.Send(context.Background(), notify.WebhookTarget{URL: rec.URL, Secret: "whsec_k"}, "d", notify.Message{})
	if notify.KindOf(err) != notify.Retry || !strings.Contains(err.Error(), "no answer within 100ms") {
		t.Errorf("Send = %v, want a Retry timeout", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %s", d)
	}
}

// A receiver echoing the request must not get the secret or custom header
// values into the error (which is stored and shown).
func TestWebhookErrorsHideSecrets(t *testing.T) {
	const secret, token = "whsec_do-not-leak", "Bearer tok-do-not-leak"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, "bad request\n\x00from "+r.Header.Get("Authorization")+" signed with "+secret+" "+strings.Repeat("é", 5000))
	}))
	defer srv.Close()
	clock := func() time.Time { return time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC) }
	w := notify.NewWebhook(devPolicy, notify.WithWebhookClock(clock))
	_, err := w.Send(context.Background(), notify.WebhookTarget{URL: srv.URL + "/?k=1", Secret: secret,
		Headers: map[string]string{"Authorization": token}}, "d", notify.Message{})
	msg := err.Error()
	if notify.KindOf(err) != notify.Permanent || strings.Contains(msg, "do-not-leak") ||
		!strings.Contains(msg, "bad request from [redacted] signed with [redacted] éé") || strings.ContainsRune(msg, 0) {
		t.Errorf("Send = %q", msg)
	}
	if n := len([]rune(msg)); n > 250 {
		t.Errorf("message of %d characters", n)
	}
}

func TestRetrySchedule(t *testing.T) {
	var total time.Duration
	for _, d := range notify.RetrySchedule() {
		total += d
	}
	if total < 11*time.Hour || total > 12*time.Hour {
		t.Errorf("schedule spans %s, want about 12 h", total)
	}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, step := range notify.RetrySchedule() {
		for range 50 {
			at, ok := notify.NextAttempt(i+1, now, 0)
			if d := at.Sub(now); !ok || d < step*9/10 || d > step*11/10 {
				t.Fatalf("attempt %d: next in %s (%v), want %s ±10%%", i+1, d, ok, step)
			}
		}
	}
	if _, ok := notify.NextAttempt(len(notify.RetrySchedule())+1, now, time.Hour); ok {
		t.Error("schedule not exhausted after the last attempt")
	}
	if at, _ := notify.NextAttempt(1, now, 3*time.Hour); at != now.Add(3*time.Hour) {
		t.Errorf("retryAfter 3h: %s", at.Sub(now))
	}
	if at, _ := notify.NextAttempt(1, now, 100*time.Hour); at != now.Add(12*time.Hour) {
		t.Errorf("retryAfter 100h: %s, want capped at 12h", at.Sub(now))
	}
	if at, _ := notify.NextAttempt(3, now, time.Second); at.Sub(now) < 9*time.Minute {
		t.Errorf("a short retryAfter shortened the step: %s", at.Sub(now))
	}
}
