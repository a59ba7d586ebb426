package notify_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/net/dns/dnsmessage"

	"adpilot/notify"
	"adpilot/testutil"
)

// fakeDNS runs a UDP DNS server answering every A query with answer(name,
// n), n counting A queries from 1, and AAAA queries with no record. It
// returns a resolver that asks only this server.
func fakeDNS(t *testing.T, answer func(name string, n int) netip.Addr) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	var aQueries atomic.Int32
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return // closed
			}
			var p dnsmessage.Parser
			h, err := p.Start(buf[:n])
			if err != nil {
				continue
			}
			q, err := p.Question()
			if err != nil {
				continue
			}
			b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true,
				RecursionDesired: h.RecursionDesired, RecursionAvailable: true})
			_ = b.StartQuestions()
			_ = b.Question(q)
			_ = b.StartAnswers()
			if q.Type == dnsmessage.TypeA {
				a := answer(q.Name.String(), int(aQueries.Add(1)))
				_ = b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET},
					dnsmessage.AResource{A: a.As4()})
			}
			if msg, err := b.Finish(); err == nil {
				_, _ = pc.WriteTo(msg, from)
			}
		}
	}()
	addr := pc.LocalAddr().String()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", addr)
	}}
}

func TestURLPolicyRefusesBlockedLiterals(t *testing.T) {
	p := notify.URLPolicy{}
	for raw, want := range map[string]string{
		"http://127.0.0.1/hook":             "loopback address (127.0.0.1)",
		"http://127.8.9.10:8080/":           "loopback",
		"http://[::1]/":                     "loopback address (::1)",
		"https://10.0.0.5/":                 "private address (10.0.0.5); set WEBHOOK_ALLOW_PRIVATE=true",
		"https://172.16.3.4/":               "private",
		"https://172.31.255.255/":           "private",
		"https://192.168.1.1/":              "private",
		"http://169.254.169.254/latest/":    "the cloud metadata address (169.254.169.254)",
		"http://169.254.1.1/":               "link-local",
		"http://0.0.0.0/":                   "unspecified",
		"http://[::]/":                      "unspecified",
		"http://[::ffff:127.0.0.1]/":        "loopback",
		"http://[::ffff:10.1.2.3]/":         "private",
		"http://[64:ff9b::7f00:1]/":         "loopback", // NAT64 of 127.0.0.1
		"http://[2002:a9fe:a9fe::]/":        "cloud metadata",
		"https://100.64.0.1/":               "shared (CGNAT)",
		"https://[fd12:3456::1]/":           "private",
		"https://[fe80::1%25eth0]/":         "link-local",
		"https://224.0.0.1/":                "multicast",
		"https://255.255.255.255/":          "broadcast",
		"https://[ff02::1]/":                "multicast",
		"https://[fd00:ec2::254]/latest/":   "cloud metadata",
		"https://[0:0:0:0:0:ffff:7f00:1]/x": "loopback",
	} {
		err := p.Validate(context.Background(), raw)
		if !errors.Is(err, notify.ErrBlockedAddress) || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate(%s) = %v, want a blocked-address error containing %q", raw, err, want)
		}
	}
}

func TestURLPolicyForm(t *testing.T) {
	strict := notify.URLPolicy{RequireHTTPS: true}
	for raw, want := range map[string]string{
		"http://93.184.216.34/hook":                          "must use https://",
		"ftp://93.184.216.34/":                               "must start with https://",
		"not a url":                                          "must start with https://",
		"/relative/path":                                     "must start with https://",
		"https://":                                           "has no host",
		"https:93.184.216.34":                                "not a valid URL",
		"https://user:pw@93.184.216.34/":                     "must not contain a user name or password",
		"https://token@93.184.216.34/":                       "must not contain a user name or password",
		"https://93.184.216.34:0/":                           "invalid port",
		"https://93.184.216.34:70000/":                       "invalid port",
		"https://93.184.216.34:abc/":                         "not a valid URL",
		" https://93.184.216.34/":                            "not a valid URL",
		"https://127.1/":                                     "invalid IP address",
		"https://2130706433/":                                "invalid IP address",
		"https://0x7f000001/":                                "invalid IP address",
		"https://93.184.216.34/" + strings.Repeat("a", 2048): "too long",
	} {
		err := strict.Validate(context.Background(), raw)
		var ue *notify.URLError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), want) || errors.Is(err, notify.ErrBlockedAddress) {
			t.Errorf("Validate(%q) = %v, want a form error containing %q", raw, err, want)
		}
	}
	// Literals need no DNS: these pass offline.
	for _, raw := range []string{
		"https://93.184.216.34/hook",
		"https://93.184.216.34:8443/hook?x=1",
		"https://[2606:2800:220:1:248:1893:25c8:1946]/hook",
		"https://[64:ff9b::5db8:d822]/hook", // NAT64 of a public address
	} {
		if err := strict.Validate(context.Background(), raw); err != nil {
			t.Errorf("Validate(%s) = %v, want nil", raw, err)
		}
	}
	dev := notify.URLPolicy{AllowPrivate: true}
	for _, raw := range []string{"http://127.0.0.1:8080/hook", "http://10.0.0.5/", "http://no-such-host.invalid/"} {
		if err := dev.Validate(context.Background(), raw); err != nil {
			t.Errorf("AllowPrivate: Validate(%s) = %v, want nil", raw, err)
		}
	}
}

func TestURLPolicyResolvesHostNames(t *testing.T) {
	if err := (notify.URLPolicy{}).Validate(context.Background(), "http://localhost:8080/"); !errors.Is(err, notify.ErrBlockedAddress) {
		t.Errorf("localhost: %v, want a blocked address", err)
	}
	res := fakeDNS(t, func(name string, _ int) netip.Addr {
		if name == "good.example." {
			return netip.MustParseAddr("93.184.216.34")
		}
		return netip.MustParseAddr("127.0.0.1")
	})
	p := notify.URLPolicy{RequireHTTPS: true, Resolver: res}
	err := p.Validate(context.Background(), "https://evil.example/hook")
	if !errors.Is(err, notify.ErrBlockedAddress) || !strings.Contains(err.Error(), "evil.example → 127.0.0.1") {
		t.Errorf("evil.example: %v, want a blocked address naming the host and address", err)
	}
	if err := p.Validate(context.Background(), "https://good.example/hook"); err != nil {
		t.Errorf("good.example: %v", err)
	}
}

// The dialer checks the address it connects to, whatever Validate said.
func TestSSRFDialGuard(t *testing.T) {
	rec := testutil.NewWebhookReceiver(t, "s3cret-value")
	w := notify.NewWebhook(notify.URLPolicy{})
	_, err := w.Send(context.Background(), notify.WebhookTarget{URL: rec.URL, Secret: "s3cret-value"}, "d1", notify.Message{Event: "test"})
	if notify.KindOf(err) != notify.Permanent || !errors.Is(err, notify.ErrBlockedAddress) ||
		!strings.Contains(err.Error(), "loopback address (127.0.0.1)") {
		t.Errorf("Send to 127.0.0.1 = %v, want a Permanent blocked-address error", err)
	}

	// Plain client on the policy's transport: same refusal.
	c := &http.Client{Transport: notify.URLPolicy{}.Transport()}
	if resp, err := c.Get(rec.URL); err == nil || !errors.Is(err, notify.ErrBlockedAddress) {
		if resp != nil {
			resp.Body.Close()
		}
		t.Errorf("GET through Transport() = %v, want a blocked address", err)
	}

	// DNS rebinding: public when validated, loopback when connecting.
	res := fakeDNS(t, func(_ string, n int) netip.Addr {
		if n == 1 {
			return netip.MustParseAddr("93.184.216.34")
		}
		return netip.MustParseAddr("127.0.0.1")
	})
	p := notify.URLPolicy{Resolver: res}
	url := "http://rebind.example:" + rec.URL[strings.LastIndexByte(rec.URL, ':')+1:] + "/hook"
	if err := p.Validate(context.Background(), url); err != nil {
		t.Fatalf("first resolution should pass: %v", err)
	}
	_, err = notify.NewWebhook(p).Send(context.Background(), notify.WebhookTarget{URL: url}, "d2", notify.Message{Event: "test"})
	if notify.KindOf(err) != notify.Permanent || !errors.Is(err, notify.ErrBlockedAddress) {
		t.Errorf("Send after rebinding = %v, want a Permanent blocked-address error", err)
	}
	if n := len(rec.Requests()); n != 0 {
		t.Errorf("the receiver got %d requests, want 0", n)
	}
}
