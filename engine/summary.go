package engine

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Summarize is one line about a run's stored result, for run history
// ("3 accounts, yesterday"; "checked 12, fired 1"); "" when there is none.
func Summarize(automationType string, result json.RawMessage) string {
	if len(result) == 0 || string(result) == "null" {
		return ""
	}
	switch automationType {
	case TypeReport:
		var r struct {
			Period struct {
				Name  string `json:"name"`
				Since string `json:"since"`
				Until string `json:"until"`
			} `json:"period"`
			Accounts []json.RawMessage `json:"accounts"`
		}
		if json.Unmarshal(result, &r) != nil {
			return ""
		}
		out := plural(len(r.Accounts), "account")
		if r.Period.Since != "" {
			out += fmt.Sprintf(", %s to %s", r.Period.Since, r.Period.Until)
		}
		return out
	case TypeAlert:
		var r alertRunResult
		if json.Unmarshal(result, &r) != nil {
			return ""
		}
		parts := []string{fmt.Sprintf("checked %d", r.Checked), fmt.Sprintf("fired %d", len(r.Fired))}
		if len(r.Resolved) > 0 {
			parts = append(parts, fmt.Sprintf("resolved %d", len(r.Resolved)))
		}
		if len(r.Paused) > 0 {
			parts = append(parts, fmt.Sprintf("paused %d", len(r.Paused)))
		}
		if r.Guarded > 0 {
			parts = append(parts, fmt.Sprintf("%d below the minimum data", r.Guarded))
		}
		return strings.Join(parts, ", ")
	case TypeSync:
		var r syncResult
		if json.Unmarshal(result, &r) != nil {
			return ""
		}
		return fmt.Sprintf("%s fetched, %s new or changed (%s to %s)", plural(r.RowsFetched, "row"), plural(r.RowsChanged, "row"), r.Since, r.Until)
	}
	return ""
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
