package handlers

import (
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"adpilot/models"
)

// accessTokenTTL is the lifetime of API bearer tokens (the seed's 30 minutes).
const accessTokenTTL = 30 * time.Minute

// accessClaims are the claims of an API bearer token. The epoch ties the
// token to the user's password: a change or reset ends every older token.
type accessClaims struct {
	jwt.RegisteredClaims
	TenantID string `json:"tid"`
	Role     string `json:"role"`
	Epoch    int    `json:"epoch"`
}

// issueToken signs a bearer token for u.
func (h *Handler) issueToken(u models.User, now time.Time) (string, error) {
	claims := accessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			ID:        uuid.NewString(),
			Subject:   u.ID,
			Issuer:    h.cfg.BaseURL,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(accessTokenTTL)),
		},
		TenantID: u.TenantID,
		Role:     u.Role,
		Epoch:    u.AuthEpoch,
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(h.jwtKey)
}

var errBadToken = errors.New("invalid or expired token")

// parseToken verifies signature, algorithm, issuer and expiry.
func (h *Handler) parseToken(raw string) (*accessClaims, error) {
	claims := &accessClaims{}
	_, err := jwt.ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) { return h.jwtKey, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(h.cfg.BaseURL),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(5*time.Second),
	)
	if err != nil || claims.Subject == "" || claims.ID == "" {
		return nil, errBadToken
	}
	return claims, nil
}
