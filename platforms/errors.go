package platforms

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies a platform error by what the caller should do about it.
type Kind int

const (
	// KindTransient: a network error, a timeout, a 5xx or a platform
	// "temporary" code. Retry with backoff.
	KindTransient Kind = iota + 1
	// KindRateLimited: throttled. Retry after RetryAfter (or backoff).
	KindRateLimited
	// KindTokenInvalid: the token is expired, revoked or otherwise dead.
	// Mark the connection invalid; only a reconnect helps.
	KindTokenInvalid
	// KindPermission: the token works but lacks a scope or a role.
	KindPermission
	// KindInvalidRequest: the request itself is wrong (bad parameter, unknown
	// entity). Retrying cannot help.
	KindInvalidRequest
	// KindTooLarge: Facebook insights query too large for a synchronous
	// call; the client switches to an async report run.
	KindTooLarge
	// KindUnsupported: the platform cannot do this at all.
	KindUnsupported
)

func (k Kind) String() string {
	switch k {
	case KindTransient:
		return "transient"
	case KindRateLimited:
		return "rate_limited"
	case KindTokenInvalid:
		return "token_invalid"
	case KindPermission:
		return "permission"
	case KindInvalidRequest:
		return "invalid_request"
	case KindTooLarge:
		return "too_large"
	case KindUnsupported:
		return "unsupported"
	}
	return "unknown"
}

// Error is every failure a platform client returns.
type Error struct {
	Platform   string
	Kind       Kind
	Code       string        // the platform's code ("190", "access_token_invalid", "40105")
	Subcode    string        // Facebook error_subcode, when given
	Message    string        // the platform's message; never contains a token
	HTTPStatus int           // 0 when no response arrived
	RetryAfter time.Duration // rate limits: how long the platform asks us to wait
	TraceID    string        // fbtrace_id, log_id or request_id, for support
	Err        error         // the underlying transport error, if any
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s: %s", e.Platform, e.Kind)
	if e.Code != "" {
		s += " (code " + e.Code
		if e.Subcode != "" {
			s += "/" + e.Subcode
		}
		s += ")"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil && e.Message == "" {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether trying again later can succeed.
func (e *Error) Retryable() bool { return e.Kind == KindTransient || e.Kind == KindRateLimited }

// KindOf returns err's Kind, or 0 when err is not a platform error.
func KindOf(err error) Kind {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Kind
	}
	return 0
}

// IsTokenInvalid reports whether err says the token is dead.
func IsTokenInvalid(err error) bool { return KindOf(err) == KindTokenInvalid }

// IsRateLimited reports whether err is a throttle.
func IsRateLimited(err error) bool { return KindOf(err) == KindRateLimited }

// Unsupported is the error of a method a platform cannot do.
func Unsupported(platform, what string) error {
	return &Error{Platform: platform, Kind: KindUnsupported, Message: what + " is not supported"}
}
