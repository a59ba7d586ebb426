package notify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// URLPolicy decides which webhook URLs adpilot may call. Without
// AllowPrivate, URLs may not reach the server's own network (loopback,
// private ranges, the cloud metadata endpoint...): tenants must not be able
// to make the server probe internal services (SSRF).
//
// Production uses {RequireHTTPS: true, AllowPrivate: WEBHOOK_ALLOW_PRIVATE},
// development {AllowPrivate: true}.
type URLPolicy struct {
	RequireHTTPS bool
	AllowPrivate bool
	Resolver     *net.Resolver // nil: net.DefaultResolver
}

// MaxWebhookURLLength is the longest webhook URL accepted.
const MaxWebhookURLLength = 2048

const resolveTimeout = 3 * time.Second

// ErrBlockedAddress matches (errors.Is) a *URLError refusing where a URL points.
var ErrBlockedAddress = errors.New("blocked address")

// URLError is a webhook URL the policy refuses. Msg continues a sentence
// about the URL ("must use https://", "points to a private address
// (10.0.0.5); ...") so a form can show it beside the field.
type URLError struct {
	Msg  string
	Addr netip.Addr // the refused address; zero when the form itself is wrong
	Err  error      // the underlying cause (a DNS error), if any
}

func (e *URLError) Error() string { return e.Msg }
func (e *URLError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrBlockedAddress) true for address refusals.
func (e *URLError) Is(target error) bool { return target == ErrBlockedAddress && e.Addr.IsValid() }

// Validate checks a webhook URL for the destination form: an absolute
// http(s) URL (https only when RequireHTTPS) with a host, no credentials, a
// sane length and port; without AllowPrivate, neither the literal address nor
// any address the host resolves to may be blocked. Errors are *URLError.
//
// A later DNS answer may differ (rebinding): the dialer of Transport checks
// the address actually connected to as well.
func (p URLPolicy) Validate(ctx context.Context, raw string) error {
	_, host, err := p.checkForm(raw)
	if err != nil || p.AllowPrivate {
		return err
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		return checkAddr(addr, host)
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	r := p.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		msg := fmt.Sprintf("host %s could not be resolved", host)
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
			msg = fmt.Sprintf("host %s does not exist", host)
		}
		return &URLError{Msg: msg, Err: err}
	}
	if len(addrs) == 0 {
		return &URLError{Msg: fmt.Sprintf("host %s has no address", host)}
	}
	// Any blocked answer refuses the URL: the dialer may pick any of them.
	for _, a := range addrs {
		if err := checkAddr(a.Unmap(), host); err != nil { // Go reports IPv4 answers as ::ffff:a.b.c.d
			return err
		}
	}
	return nil
}

// checkForm checks everything but the addresses and returns the parsed URL
// and its host (brackets and port removed).
func (p URLPolicy) checkForm(raw string) (*url.URL, string, error) {
	bad := func(msg string) (*url.URL, string, error) { return nil, "", &URLError{Msg: msg} }
	want := "http:// or https://"
	if p.RequireHTTPS {
		want = "https://"
	}
	if len(raw) > MaxWebhookURLLength {
		return bad(fmt.Sprintf("is too long (at most %d characters)", MaxWebhookURLLength))
	}
	u, err := url.Parse(raw)
	if err != nil || strings.TrimSpace(raw) != raw {
		return bad("is not a valid URL")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return bad("must start with " + want)
	case p.RequireHTTPS && u.Scheme != "https":
		return bad("must use https://")
	case u.Opaque != "":
		return bad("is not a valid URL (expected " + want + "host/path)")
	case u.User != nil:
		return bad("must not contain a user name or password; send credentials in a custom header")
	case u.Hostname() == "":
		return bad("has no host")
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return bad("has an invalid port (1-65535)")
		}
	}
	host := u.Hostname()
	// "127.1", "2130706433", "0x7f000001": not IPs to Go, but some resolvers
	// read them as such. No real host name looks like this.
	if _, err := netip.ParseAddr(host); err != nil && looksNumeric(host) {
		return bad(fmt.Sprintf("has an invalid IP address (%s)", host))
	}
	return u, host, nil
}

func looksNumeric(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	last := host[strings.LastIndexByte(host, '.')+1:]
	return last != "" && (strings.Trim(last, "0123456789") == "" || strings.HasPrefix(last, "0x"))
}

// DialContext dials like net.Dialer but, without AllowPrivate, refuses to
// connect to a blocked address. The check runs in Control, on the address
// actually being connected to after every resolution: a host that resolved
// to a public address during Validate and to 127.0.0.1 now is still refused.
func (p URLPolicy) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	d := net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Resolver: p.Resolver}
	if !p.AllowPrivate {
		d.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil { // fail closed
				return &URLError{Msg: "has an address that cannot be checked", Err: err}
			}
			return checkAddr(ap.Addr(), "")
		}
	}
	return d.DialContext(ctx, network, address)
}

// Transport returns an HTTP transport dialing through DialContext and
// ignoring proxy environment variables (a proxy would connect on our behalf,
// out of reach of the check).
func (p URLPolicy) Transport() *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           p.DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          256,
		// Many destinations share a host (one receiver per tenant, or a
		// service's hooks): keep enough connections to it for the
		// deliveries going out at once, instead of dialing for most.
		MaxIdleConnsPerHost:    64,
		MaxResponseHeaderBytes: 64 << 10,
	}
}

// checkAddr returns a *URLError when addr is blocked; host is the name it
// came from, if any (for the message).
func checkAddr(addr netip.Addr, host string) error {
	kind, blocked := blockedKind(addr)
	if !blocked {
		return nil
	}
	shown := addr.String()
	if host != "" && host != shown {
		shown = host + " → " + shown
	}
	return &URLError{
		Msg:  fmt.Sprintf("points to %s address (%s); set WEBHOOK_ALLOW_PRIVATE=true for on-premises receivers", kind, shown),
		Addr: addr,
	}
}

type blockedRange struct {
	prefix netip.Prefix
	kind   string // with its article, for the message
}

// The first matching range names the kind, so specific ranges come first.
var blockedRanges = func() []blockedRange {
	var rs []blockedRange
	for _, r := range [][2]string{
		{"169.254.169.254/32", "the cloud metadata"},
		{"fd00:ec2::254/128", "the cloud metadata"}, // AWS over IPv6
		{"0.0.0.0/8", "an unspecified"},
		{"127.0.0.0/8", "a loopback"},
		{"10.0.0.0/8", "a private"},
		{"172.16.0.0/12", "a private"},
		{"192.168.0.0/16", "a private"},
		{"100.64.0.0/10", "a shared (CGNAT)"},
		{"169.254.0.0/16", "a link-local"},
		{"192.0.0.0/24", "a reserved"},
		{"198.18.0.0/15", "a reserved"}, // benchmarking
		{"224.0.0.0/4", "a multicast"},
		{"255.255.255.255/32", "a broadcast"},
		{"240.0.0.0/4", "a reserved"},
		{"::/128", "an unspecified"},
		{"::1/128", "a loopback"},
		{"::/96", "a reserved"},         // deprecated IPv4-compatible addresses
		{"64:ff9b:1::/48", "a private"}, // local-use NAT64
		{"fc00::/7", "a private"},
		{"fec0::/10", "a private"}, // deprecated site-local
		{"fe80::/10", "a link-local"},
		{"ff00::/8", "a multicast"},
	} {
		rs = append(rs, blockedRange{netip.MustParsePrefix(r[0]), r[1]})
	}
	return rs
}()

var (
	nat64Prefix = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour   = netip.MustParsePrefix("2002::/16")
)

// blockedKind reports whether addr is in a blocked range, looking through
// the IPv6 forms that embed an IPv4 address (::ffff:a.b.c.d mapped, NAT64,
// 6to4): they reach the embedded address.
func blockedKind(addr netip.Addr) (string, bool) {
	addr = addr.WithZone("").Unmap()
	if addr.Is6() {
		b := addr.As16()
		switch {
		case nat64Prefix.Contains(addr):
			return blockedKind(netip.AddrFrom4([4]byte(b[12:16])))
		case sixToFour.Contains(addr):
			return blockedKind(netip.AddrFrom4([4]byte(b[2:6])))
		}
	}
	for _, r := range blockedRanges {
		if r.prefix.Contains(addr) {
			return r.kind, true
		}
	}
	return "", false
}
