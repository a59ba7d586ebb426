package platforms_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"adpilot/platforms"
	"adpilot/testutil"
)

func TestFacebookGraphErrorKinds(t *testing.T) {
	h := newFB(t, func(s *platforms.Settings) { s.Retry.Attempts = 1 }) // classify only
	cred := h.userCred()
	buc := map[string]string{"X-Business-Use-Case-Usage": `{"111":[{"type":"ads_insights","call_count":100,"total_cputime":20,"total_time":30,"estimated_time_to_regain_access":3}]}`}
	acc := map[string]string{"X-Ad-Account-Usage": `{"acc_id_util_pct":100,"reset_time_duration":120}`}
	for _, c := range []struct {
		name          string
		status        int
		code, subcode int
		body          string
		headers       map[string]string
		kind          platforms.Kind
		retryAfter    time.Duration
	}{
		{name: "190/463 expired", status: 400, code: 190, subcode: 463, kind: platforms.KindTokenInvalid},
		{name: "102 session", status: 401, code: 102, kind: platforms.KindTokenInvalid},
		{name: "10 permission", status: 403, code: 10, kind: platforms.KindPermission},
		{name: "200 permission", status: 403, code: 200, kind: platforms.KindPermission},
		{name: "4 app throttle", status: 400, code: 4, kind: platforms.KindRateLimited},
		{name: "17 user throttle", status: 400, code: 17, kind: platforms.KindRateLimited},
		{name: "32 page throttle", status: 400, code: 32, kind: platforms.KindRateLimited},
		{name: "613 account throttle", status: 400, code: 613, kind: platforms.KindRateLimited},
		{name: "80000 BUC", status: 400, code: 80000, headers: buc, kind: platforms.KindRateLimited, retryAfter: 3 * time.Minute},
		{name: "80004 ad account usage", status: 400, code: 80004, headers: acc, kind: platforms.KindRateLimited, retryAfter: 2 * time.Minute},
		{name: "1 unknown", status: 500, code: 1, kind: platforms.KindTransient},
		{name: "2 service", status: 503, code: 2, kind: platforms.KindTransient},
		{name: "2/1504038 too large", status: 500, code: 2, subcode: 1504038, kind: platforms.KindTooLarge},
		{name: "100/1504018 too large", status: 400, code: 100, subcode: 1504018, kind: platforms.KindTooLarge},
		{name: "368 policy", status: 400, code: 368, kind: platforms.KindInvalidRequest},
		{name: "100 bad param", status: 400, code: 100, kind: platforms.KindInvalidRequest},
		{name: "500 garbage", status: 500, body: "<html>upstream error</html>", kind: platforms.KindTransient},
		{name: "429 Retry-After", status: 429, body: "slow down", headers: map[string]string{"Retry-After": "7"}, kind: platforms.KindRateLimited, retryAfter: 7 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := c.body
			if body == "" {
				body = testutil.FakeGraphError(c.code, c.subcode, "")
			}
			h.fake.Fail(testutil.FakeFailure{Path: "/11101", Status: c.status, Body: body, Headers: c.headers})
			err := h.c.SetStatus(h.ctx, cred, platforms.LevelCampaign, "11101", false)
			pe := h.wantKind(t, err, c.kind)
			if pe.HTTPStatus != c.status || pe.RetryAfter != c.retryAfter {
				t.Errorf("status %d retryAfter %v, want %d %v", pe.HTTPStatus, pe.RetryAfter, c.status, c.retryAfter)
			}
			if c.code != 0 && (pe.Code != strconv.Itoa(c.code) || pe.TraceID == "" || pe.Message == "") {
				t.Errorf("error = %+v", pe)
			}
			if c.subcode != 0 && pe.Subcode != strconv.Itoa(c.subcode) {
				t.Errorf("subcode = %q", pe.Subcode)
			}
		})
	}
	if n := len(h.fake.StatusChanges()); n != 0 {
		t.Errorf("%d status changes went through failures", n)
	}
}

func TestFacebookRetries(t *testing.T) {
	h := newFB(t)
	cred := h.userCred()

	h.fake.FailNextCode("/11101", 500, 2, 0, nil)
	if err := h.c.SetStatus(h.ctx, cred, platforms.LevelCampaign, "11101", false); err != nil {
		t.Fatalf("transient failure not retried: %v", err)
	}
	if n := h.fake.Calls("/11101"); n != 2 || len(h.recordedWaits()) != 1 {
		t.Errorf("calls=%d waits=%v, want 2 calls and 1 wait", n, h.recordedWaits())
	}

	h.fake.FailNextCode("/11102", 400, 190, 460, nil)
	h.wantKind(t, h.c.SetStatus(h.ctx, cred, platforms.LevelCampaign, "11102", false), platforms.KindTokenInvalid)
	if n := h.fake.Calls("/11102"); n != 1 || len(h.recordedWaits()) != 1 {
		t.Errorf("token-invalid retried: calls=%d waits=%v", n, h.recordedWaits())
	}

	h.fake.FailNextCode("/1110101", 400, 17, 0, map[string]string{"Retry-After": "5"})
	if err := h.c.SetStatus(h.ctx, cred, platforms.LevelAdSet, "1110101", true); err != nil {
		t.Fatal(err)
	}
	if w := h.recordedWaits(); len(w) != 2 || w[1] != 5*time.Second {
		t.Errorf("waits = %v, want the 5 s Retry-After", w)
	}

	// A wait beyond Retry.Max is left to the caller to reschedule.
	h.fake.FailNextCode("/1110102", 400, 80004, 0, map[string]string{"Retry-After": "3600"})
	pe := h.wantKind(t, h.c.SetStatus(h.ctx, cred, platforms.LevelAdSet, "1110102", true), platforms.KindRateLimited)
	if pe.RetryAfter != time.Hour || h.fake.Calls("/1110102") != 1 {
		t.Errorf("RetryAfter = %v, calls = %d", pe.RetryAfter, h.fake.Calls("/1110102"))
	}

	// Attempts run out on a platform that keeps failing.
	h.fake.Fail(testutil.FakeFailure{Path: "/111010101", Times: 10, Status: 503, Body: "busy"})
	h.wantKind(t, h.c.SetStatus(h.ctx, cred, platforms.LevelAd, "111010101", true), platforms.KindTransient)
	if n := h.fake.Calls("/111010101"); n != 4 {
		t.Errorf("calls = %d, want 4 attempts", n)
	}
}

func TestFacebookUsageSlowdown(t *testing.T) {
	h := newFB(t)
	cred := h.userCred()
	h.fake.SetUsageHeaders(map[string]string{"X-App-Usage": `{"call_count":40,"total_cputime":12,"total_time":20}`})
	for range 2 {
		if err := h.c.SetStatus(h.ctx, cred, platforms.LevelCampaign, "11101", false); err != nil {
			t.Fatalf("below the threshold: %v", err)
		}
	}
	if h.c.UsagePercent() != 40 {
		t.Errorf("UsagePercent = %v", h.c.UsagePercent())
	}
	h.fake.SetUsageHeaders(map[string]string{
		"X-Business-Use-Case-Usage": `{"111":[{"type":"ads_management","call_count":97,"total_cputime":30,"total_time":40,"estimated_time_to_regain_access":4}]}`})
	if err := h.c.SetStatus(h.ctx, cred, platforms.LevelCampaign, "11101", false); err != nil {
		t.Fatal(err)
	}
	calls := h.fake.Calls("/11101")
	pe := h.wantKind(t, h.c.SetStatus(h.ctx, cred, platforms.LevelCampaign, "11101", true), platforms.KindRateLimited)
	if pe.RetryAfter != 4*time.Minute || h.fake.Calls("/11101") != calls || h.c.UsagePercent() != 97 {
		t.Errorf("gate: RetryAfter=%v calls %d→%d usage %v", pe.RetryAfter, calls, h.fake.Calls("/11101"), h.c.UsagePercent())
	}
	// Another account is not held back.
	other := cred
	other.AccountRef = "act_222"
	h.fake.SetUsageHeaders(nil)
	if err := h.c.SetStatus(h.ctx, other, platforms.LevelCampaign, "22201", false); err != nil {
		t.Errorf("other account: %v", err)
	}
	h.advance(3 * time.Minute)
	pe = h.wantKind(t, h.c.SetStatus(h.ctx, cred, platforms.LevelCampaign, "11101", true), platforms.KindRateLimited)
	if pe.RetryAfter != time.Minute {
		t.Errorf("RetryAfter after 3 min = %v", pe.RetryAfter)
	}
	h.advance(time.Minute)
	if err := h.c.SetStatus(h.ctx, cred, platforms.LevelCampaign, "11101", true); err != nil {
		t.Errorf("after the window: %v", err)
	}
}

func TestFacebookNoSecretsInErrors(t *testing.T) {
	h := newFB(t)
	cred := h.userCred()
	// Facebook echoing the token in a message.
	h.fake.FailNext("/11101", 400, testutil.FakeGraphError(100, 0, "Invalid parameter for token "+cred.AccessToken))
	pe := h.wantKind(t, h.c.SetStatus(h.ctx, cred, platforms.LevelCampaign, "11101", false), platforms.KindInvalidRequest)
	if !strings.Contains(pe.Message, "[redacted]") {
		t.Errorf("message = %q", pe.Message)
	}
	// Network errors carry the request URL, whose query holds the token.
	dead := httptest.NewServer(nil)
	dead.Close()
	c := platforms.NewFacebook(func() platforms.Settings { s := h.s; s.GraphURL = dead.URL; s.Retry.Attempts = 1; return s }())
	_, err := c.TokenInfo(h.ctx, cred)
	if pe := h.wantKind(t, err, platforms.KindTransient); pe.Err == nil || pe.HTTPStatus != 0 {
		t.Errorf("network error = %+v", pe)
	}
	_, err = c.Accounts(h.ctx, cred.AccessToken)
	h.wantKind(t, err, platforms.KindTransient)
	// A paging link to another host is not followed with the token.
	h.fake.FailNext("/me/adaccounts", 200, `{"data":[{"id":"act_1","account_id":"1"}],"paging":{"next":"https://evil.example/v24.0/me/adaccounts?after=x"}}`)
	_, err = h.c.Accounts(h.ctx, cred.AccessToken)
	h.wantKind(t, err, platforms.KindInvalidRequest)
	// Every token-bearing request carried appsecret_proof (the fake requires it).
	for _, r := range h.fake.Requests() {
		if r.Form.Get("access_token") != "" && r.Form.Get("appsecret_proof") == "" {
			t.Errorf("%s %s without appsecret_proof", r.Method, r.Path)
		}
	}
}

func TestFacebookCallTimeout(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	}))
	defer slow.Close()
	h := newFB(t, func(s *platforms.Settings) {
		s.GraphURL = slow.URL
		s.CallTimeout = 20 * time.Millisecond
		s.Retry.Attempts = 2
	})
	start := time.Now()
	_, err := h.c.Accounts(h.ctx, h.userCred().AccessToken)
	pe := h.wantKind(t, err, platforms.KindTransient)
	if !errors.Is(pe, context.DeadlineExceeded) || len(h.recordedWaits()) != 1 || time.Since(start) > time.Second {
		t.Errorf("err = %v (Err %v), waits %v, took %v", pe, pe.Err, h.recordedWaits(), time.Since(start))
	}
}
