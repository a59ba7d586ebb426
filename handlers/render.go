package handlers

import (
	"context"
	"io"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"adpilot/models"
	"adpilot/views"
)

// render writes a component with the given status. It renders into a buffer
// first, so a failing template never sends half a page.
func render(c echo.Context, status int, cmp templ.Component) error {
	buf := templ.GetBuffer()
	defer templ.ReleaseBuffer(buf)
	if err := cmp.Render(c.Request().Context(), buf); err != nil {
		return err
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// renderPage renders content inside the layout, or the content alone for a
// partial htmx request.
func (h *Handler) renderPage(c echo.Context, status int, title string, content templ.Component) error {
	varyOnHTMX(c)
	// Pages carry a CSRF token and per-user content: never from a shared cache.
	c.Response().Header().Set("Cache-Control", "private, no-cache")
	if IsPartial(c) {
		return render(c, status, content)
	}
	return render(c, status, h.inLayout(c, title, content))
}

func (h *Handler) inLayout(c echo.Context, title string, content templ.Component) templ.Component {
	page := h.page(c, title)
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		return views.Layout(page).Render(templ.WithChildren(ctx, content), w)
	})
}

// page builds the layout's view model for this request.
func (h *Handler) page(c echo.Context, title string) views.Page {
	pg := views.Page{
		Title:     title,
		CSRFToken: csrfToken(c),
		Flashes:   h.popFlashes(c),
		Nav:       h.navFor(c),
		Version:   h.version,
	}
	if p := principal(c); p != nil {
		pg.UserName = p.User.DisplayName()
		if !p.User.EmailVerified {
			pg.VerifyEmailFor = p.User.Email.String
		}
	}
	return pg
}

// navFor lists the main navigation for the current visitor.
func (h *Handler) navFor(c echo.Context) []views.NavLink {
	links := []views.NavLink{
		{Label: "Log in", Href: "/auth/login"},
		{Label: "Sign up", Href: "/auth/register"},
	}
	if p := principal(c); p != nil {
		links = []views.NavLink{
			{Label: "Home", Href: "/"},
			{Label: "Automations", Href: "/automations"},
			{Label: "Connections", Href: "/connections"},
			{Label: "Destinations", Href: "/destinations"},
			{Label: "Events", Href: "/events"},
			{Label: "Team", Href: "/settings/members"},
			{Label: "Settings", Href: "/settings"},
		}
		if p.Can(models.RoleAdmin) {
			links = append(links, views.NavLink{Label: "Audit", Href: "/settings/audit"})
		}
		if p.User.IsPlatformAdmin {
			// One entry: the admin index links every operator section
			// (outbox and all events included).
			links = append(links, views.NavLink{Label: "Admin", Href: "/admin"})
		}
		links = append(links, views.NavLink{Label: "Profile", Href: "/auth/me"})
	}
	path := c.Request().URL.Path
	for i := range links {
		links[i].Current = links[i].Href == path
	}
	return links
}

// csrfToken is the token forms and htmx must send back. Browsers that send
// Sec-Fetch-Site get Echo's placeholder, which its middleware accepts from them.
func csrfToken(c echo.Context) string {
	if t, ok := c.Get(middleware.DefaultCSRFConfig.ContextKey).(string); ok {
		return t
	}
	return ""
}

// requestID returns the ID the RequestID middleware gave this request.
func requestID(c echo.Context) string {
	return c.Response().Header().Get(echo.HeaderXRequestID)
}

// noStore marks a response as private and uncacheable.
func noStore(c echo.Context) { c.Response().Header().Set("Cache-Control", "no-store") }
