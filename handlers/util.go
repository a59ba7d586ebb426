package handlers

import "strings"

func lowerTrim(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// nameOr is the first non-empty of name and fallback.
func nameOr(name, fallback string) string {
	if name != "" {
		return name
	}
	return fallback
}
