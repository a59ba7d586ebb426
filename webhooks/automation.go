package webhooks

import (
	"encoding/json"
	"slices"
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
