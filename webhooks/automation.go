package webhooks

import (
	"encoding/json"
	"slices"
	"strings"
)

// EventAutomationConfig is what makes an alert automation an event
// automation, in its automation_config:
//
//	{"trigger": "event", "event": "facebook.leadgen",
//	 "filters": {"page_id": "123", "form_id": ["77", "78"], "connection_id": "<uuid>"}}
//
// Each filter is a string or a list of strings; an absent or empty one
// matches anything.
type EventAutomationConfig struct {
	Trigger string       `json:"trigger"`
	Event   string       `json:"event"`
	Filters EventFilters `json:"filters"`
}

// EventFilters narrow an event automation down.
type EventFilters struct {
	PageID       StringList `json:"page_id,omitempty"`
	FormID       StringList `json:"form_id,omitempty"`
	AdID         StringList `json:"ad_id,omitempty"`
	ConnectionID StringList `json:"connection_id,omitempty"`
}

// EventFacts are what filters are tested against.
type EventFacts struct {
	Name         string // facebook.leadgen, …
	ConnectionID string // the connection the event matched through
	PageID       string
	FormID       string
	AdID         string
}

// StringList reads a JSON string or list of strings.
type StringList []string

// UnmarshalJSON takes "a" or ["a", "b"] (null: empty).
func (l *StringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = nil
		if one != "" {
			*l = StringList{one}
		}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*l = many
	return nil
}

// ParseEventAutomationConfig reads an automation_config; ok is false unless
// it is an event automation naming an event.
func ParseEventAutomationConfig(raw []byte) (EventAutomationConfig, bool) {
	var c EventAutomationConfig
	if err := json.Unmarshal(raw, &c); err != nil {
		return EventAutomationConfig{}, false
	}
	return c, c.Trigger == "event" && c.Event != ""
}

// Matches reports whether the event is the one named and passes every filter.
func (c EventAutomationConfig) Matches(f EventFacts) bool {
	pass := func(l StringList, v string) bool { return len(l) == 0 || slices.Contains(l, v) }
	return c.Trigger == "event" && c.Event == f.Name &&
		pass(c.Filters.PageID, f.PageID) && pass(c.Filters.FormID, f.FormID) &&
		pass(c.Filters.AdID, f.AdID) && pass(c.Filters.ConnectionID, f.ConnectionID)
}

// EventNames are the events an event automation can name, in the editor's
// order, with what they mean.
var EventNames = []struct{ Name, Label string }{
	{"facebook.leadgen", "Facebook: a new lead from a Lead Ads form"},
	{"facebook.feed", "Facebook: a change on a Page's feed"},
	{"tiktok.post.publish.complete", "TikTok: a post was published"},
	{"tiktok.post.publish.publicly_available", "TikTok: a post became public"},
	{"tiktok.post.publish.inbox_delivered", "TikTok: a post reached the creator's inbox"},
	{"tiktok.post.publish.failed", "TikTok: a post failed to publish"},
	{"tiktok.video.upload.failed", "TikTok: a video upload failed"},
	{"tiktok.authorization.removed", "TikTok: a creator removed adpilot's access"},
}

// KnownEvent reports whether name is one of EventNames.
func KnownEvent(name string) bool {
	return slices.ContainsFunc(EventNames, func(e struct{ Name, Label string }) bool { return e.Name == name })
}

// Validate returns messages keyed by field ("event", "filters.form_id"), or
// nil when the config is a valid event automation.
func (c EventAutomationConfig) Validate() map[string]string {
	errs := map[string]string{}
	if c.Trigger != "event" {
		errs["trigger"] = `must be "event" (or leave it out for an alert on metrics)`
	}
	if !KnownEvent(c.Event) {
		names := make([]string, len(EventNames))
		for i, e := range EventNames {
			names[i] = e.Name
		}
		errs["event"] = "must be one of " + strings.Join(names, ", ")
	}
	for field, l := range map[string]StringList{"page_id": c.Filters.PageID, "form_id": c.Filters.FormID,
		"ad_id": c.Filters.AdID, "connection_id": c.Filters.ConnectionID} {
		if len(l) > 50 {
			errs["filters."+field] = "at most 50 values"
		}
		for _, v := range l {
			if v == "" || len(v) > 100 || strings.ContainsAny(v, " \t\r\n\x00") {
				errs["filters."+field] = "each value must be a plain id of at most 100 characters"
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// IsEventConfig reports whether an alert's config asks for the event
// trigger (whatever else it holds), so callers pick the right validation.
func IsEventConfig(raw []byte) bool {
	var c struct {
		Trigger string `json:"trigger"`
	}
	return json.Unmarshal(raw, &c) == nil && c.Trigger == "event"
}
