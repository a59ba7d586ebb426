// Package views renders adpilot's HTML with templ. Views receive plain
// view-model structs built by handlers and never touch services or the database.
package views

import (
	"strconv"

	"github.com/a-h/templ"
)

// Page is what the layout needs around every page's content.
type Page struct {
	Title     string
	CSRFToken string
	Flashes   []Flash
	Nav       []NavLink
	Version   string
	// Signed-in visitors only.
	UserName       string
	VerifyEmailFor string // the unverified address to offer a new link for
}

// Flash is a one-time message shown at the top of the next page.
type Flash struct {
	Kind    string // success, info, warning or error
	Message string
}

// NavLink is one entry of the main navigation.
type NavLink struct {
	Label   string
	Href    string
	Current bool
}

// ErrorInfo describes an error page or notice.
type ErrorInfo struct {
	Status    int
	Title     string
	Message   string
	RequestID string
}

// flashRole makes errors interrupt screen readers (alert) and other
// messages wait their turn (status).
func flashRole(kind string) string {
	if kind == "error" {
		return "alert"
	}
	return "status"
}

// currentPage marks the navigation link of the page being shown.
func currentPage(link NavLink) templ.Attributes {
	if link.Current {
		return templ.Attributes{"aria-current": "page"}
	}
	return nil
}

func pluralEntries(n int) string {
	if n == 1 {
		return "1 entry"
	}
	return strconv.Itoa(n) + " entries"
}

func pluralConnections(n int) string {
	if n == 1 {
		return "1 connection"
	}
	return strconv.Itoa(n) + " connections"
}
