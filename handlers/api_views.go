package handlers

import "adpilot/models"

// JSON shapes of the auth API (the seed's contract).
type apiTenant struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Slug string `json:"slug"`
}

type apiUser struct {
	ID            string     `json:"id"`
	Email         string     `json:"email"`
	Username      *string    `json:"username"`
	Role          string     `json:"role"`
	EmailVerified bool       `json:"email_verified"`
	Tenant        *apiTenant `json:"tenant,omitempty"`
}

func toAPITenant(t models.Tenant) *apiTenant {
	return &apiTenant{ID: t.ID, Name: t.Name, Slug: t.Slug}
}

func toAPIUser(u models.User) apiUser {
	out := apiUser{ID: u.ID, Email: u.Email.String, Role: u.Role, EmailVerified: u.EmailVerified}
	if u.Username.Valid {
		out.Username = &u.Username.String
	}
	return out
}
