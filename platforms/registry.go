package platforms

import (
	"log/slog"
	"net/http"
	"time"
)

// Registry holds one client per platform, built once at start-up and
// shared (clients are safe for concurrent use).
type Registry struct {
	Facebook  *FacebookClient
	TikTok    *TikTokClient
	TikTokAds *TikTokAdsClient
	Demo      *DemoClient
	// DemoOffered: new demo accounts may be connected (DEMO_PLATFORM). The
	// demo client itself always exists, so existing demo rows keep working.
	DemoOffered bool
}

// NewRegistry builds every client from s; demo adds the demo platform.
func NewRegistry(s Settings, demo bool) *Registry {
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if s.CallTimeout <= 0 {
		s.CallTimeout = 30 * time.Second
	}
	if s.HTTPClient == nil {
		// The per-call context bounds each call; this bounds a stuck body read.
		// Keep-alive connections for as many calls as run at once (the
		// default keeps 2 per host, so busy workers would open a TLS
		// connection per call).
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns, t.MaxIdleConnsPerHost = 256, 64
		s.HTTPClient = &http.Client{Timeout: 2 * s.CallTimeout, Transport: t}
	}
	return &Registry{Facebook: NewFacebook(observed(s, Facebook)), TikTok: NewTikTok(observed(s, TikTok)),
		TikTokAds: NewTikTokAds(observed(s, TikTokAds)),
		Demo:      NewDemo(s.Now), DemoOffered: demo}
}

// Client returns the client of a platform (as stored in ad_token.platform).
func (r *Registry) Client(platform string) (Client, bool) {
	switch platform {
	case Facebook:
		return r.Facebook, true
	case TikTok:
		return r.TikTok, true
	case TikTokAds:
		return r.TikTokAds, true
	case Demo:
		return r.Demo, true
	}
	return nil, false
}

// Connector returns the OAuth connector of a platform.
func (r *Registry) Connector(platform string) (Connector, bool) {
	switch platform {
	case Facebook:
		return r.Facebook, true
	case TikTok:
		return r.TikTok, true
	case TikTokAds:
		return r.TikTokAds, true
	}
	return nil, false
}

// Label is a platform's name for people.
func Label(platform string) string {
	switch platform {
	case Facebook:
		return "Facebook"
	case TikTok:
		return "TikTok"
	case TikTokAds:
		return "TikTok Ads"
	case Demo:
		return "Demo"
	}
	return platform
}
