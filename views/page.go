// Package views renders adpilot's HTML with templ. Views receive plain
// view-model structs built by handlers and never touch services or the database.
package views

// Page is what the layout needs around every page's content.
type Page struct {
	Title     string
	CSRFToken string
	Flashes   []Flash
	Nav       []NavLink
	Version   string
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
