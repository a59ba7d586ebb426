package handlers

import (
	"errors"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"adpilot/models"
	"adpilot/views"
	"adpilot/views/emails"
)

func inviteFields(email string, errs fieldErrors) []views.Field {
	return []views.Field{{Name: "email", Label: "Email", Type: "email", Value: email, Error: errs["email"],
		Autocomplete: "off", Required: true, MaxLength: 254}}
}

func (h *Handler) renderMembers(c echo.Context, status int, email, role string, errs fieldErrors, formErr string) error {
	p := principal(c)
	users, err := h.store.ListMembers(c.Request().Context(), p.Tenant.ID)
	if err != nil {
		return err
	}
	rows := make([]views.MemberRow, len(users))
	for i, u := range users {
		rows[i] = views.MemberRow{ID: u.ID, Name: u.DisplayName(), Email: u.Email.String, Role: u.Role, Active: u.IsActive,
			Invited: !u.PasswordHash.Valid, IsSelf: u.ID == p.User.ID, LastLogin: "never"}
		if u.LastLogin.Valid {
			rows[i].LastLogin = u.LastLogin.Time.UTC().Format("2006-01-02 15:04 UTC")
		}
	}
	if role == "" {
		role = models.RoleUser
	}
	return h.renderPage(c, status, "Team members", views.MembersPage(views.Members{
		CSRFToken: csrfToken(c), CanManage: p.Can(models.RoleAdmin), Rows: rows,
		InviteFields: inviteFields(email, errs), InviteRole: role, InviteError: formErr,
	}))
}

// membersPage lists the team.
func (h *Handler) membersPage(c echo.Context) error {
	return h.renderMembers(c, http.StatusOK, "", "", fieldErrors{}, "")
}

// inviteMember emails an invitation link (admins only).
func (h *Handler) inviteMember(c echo.Context) error {
	p := principal(c)
	email, role := lowerTrim(c.FormValue("email")), c.FormValue("role")
	errs := fieldErrors{}
	checkEmail(errs, "email", email)
	if !slices.Contains(views.Roles, role) {
		errs.add("role", "Choose admin, user or viewer.")
	}
	if len(errs) > 0 {
		return h.renderMembers(c, http.StatusUnprocessableEntity, email, role, errs, errs["role"])
	}
	token, tokenHash := newOneTimeToken()
	msg, err := emails.Invitation(emails.InvitationData{InviterName: p.User.DisplayName(), TenantName: p.Tenant.Name,
		Role: role, Link: h.cfg.BaseURL + "/auth/invite?token=" + token})
	if err != nil {
		return err
	}
	_, err = h.store.InviteMember(c.Request().Context(), p.User, email, role, tokenHash,
		models.Email{Subject: msg.Subject, Text: msg.Text, HTML: msg.HTML}, c.RealIP())
	if errors.Is(err, models.ErrConflict) {
		return h.renderMembers(c, http.StatusUnprocessableEntity, email, role,
			fieldErrors{"email": "This person is already a member of the team."}, "")
	}
	if err != nil {
		return err
	}
	_ = AddFlash(c, "success", "Invitation sent to "+email+".")
	return c.Redirect(http.StatusSeeOther, "/settings/members")
}

// changeMemberRole sets a member's role (admins only).
func (h *Handler) changeMemberRole(c echo.Context) error {
	role := c.FormValue("role")
	if !slices.Contains(views.Roles, role) {
		return echo.NewHTTPError(http.StatusUnprocessableEntity, "Choose admin, user or viewer.")
	}
	p := principal(c)
	return h.memberChanged(c, h.store.ChangeRole(c.Request().Context(), p.User, c.Param("id"), role, c.RealIP()), "Role changed.")
}

// setMemberActive deactivates or reactivates a member (admins only).
func (h *Handler) setMemberActive(active bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		p := principal(c)
		msg := "Member deactivated."
		if active {
			msg = "Member reactivated."
		}
		return h.memberChanged(c, h.store.SetMemberActive(c.Request().Context(), p.User, c.Param("id"), active, c.RealIP()), msg)
	}
}

// memberChanged answers a member change: the last admin is a 409 with a
// message, another tenant's member a plain 404.
func (h *Handler) memberChanged(c echo.Context, err error, done string) error {
	switch {
	case errors.Is(err, models.ErrLastAdmin):
		return echo.NewHTTPError(http.StatusConflict, "The team needs at least one active admin: promote someone else first.")
	case err != nil:
		return err
	}
	if wantsJSON(c) {
		return c.NoContent(http.StatusNoContent)
	}
	_ = AddFlash(c, "success", done)
	return c.Redirect(http.StatusSeeOther, "/settings/members")
}
