package config

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

var (
	graphVersion   = regexp.MustCompile(`^v\d+\.\d+$`)
	telegramSecret = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)
)

// validatePlatforms checks the platform base URLs and the Facebook Graph
// version, and that each app's id and secret come in pairs.
func (c *Config) validatePlatforms(unparsed map[string]bool) []string {
	var p []string
	for _, u := range []struct {
		name  string
		value *string
	}{
		{"FB_GRAPH_URL", &c.FBGraphURL},
		{"FB_DIALOG_URL", &c.FBDialogURL},
		{"TIKTOK_AUTH_URL", &c.TikTokAuthURL},
		{"TIKTOK_API_URL", &c.TikTokAPIURL},
		{"TIKTOK_BUSINESS_URL", &c.TikTokBusinessURL},
		{"TELEGRAM_API_URL", &c.TelegramAPIURL},
	} {
		if unparsed[u.name] {
			continue
		}
		parsed, err := url.Parse(*u.value)
		if err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" || parsed.RawQuery != "" {
			p = append(p, fmt.Sprintf("%s=%q: must be an absolute http(s) base URL without a query", u.name, *u.value))
			continue
		}
		*u.value = strings.TrimRight(*u.value, "/")
	}
	if !graphVersion.MatchString(c.FBGraphVersion) {
		p = append(p, fmt.Sprintf("FB_GRAPH_VERSION=%q: must look like v24.0", c.FBGraphVersion))
	}
	pair := func(idName, id, secretName string, secret Secret) {
		if (id == "") != (secret == "") {
			p = append(p, fmt.Sprintf("%s and %s: set both or neither", idName, secretName))
		}
	}
	if s := c.TelegramWebhookSecret.Reveal(); s != "" && !telegramSecret.MatchString(s) {
		p = append(p, "TELEGRAM_WEBHOOK_SECRET: 1 to 256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule for secret_token)")
	}
	if c.TelegramWebhookSecret != "" && c.TelegramBotToken == "" {
		p = append(p, "TELEGRAM_WEBHOOK_SECRET: set TELEGRAM_BOT_TOKEN too (webhook mode is a mode of the bot)")
	}
	pair("FB_APP_ID", c.FBAppID, "FB_APP_SECRET", c.FBAppSecret)
	pair("TIKTOK_CLIENT_KEY", c.TikTokClientKey, "TIKTOK_CLIENT_SECRET", c.TikTokClientSecret)
	pair("TIKTOK_ADS_APP_ID", c.TikTokAdsAppID, "TIKTOK_ADS_APP_SECRET", c.TikTokAdsAppSecret)
	return p
}
