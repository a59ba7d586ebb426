package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-telegram/bot"
	"golang.org/x/time/rate"
)

// Telegram's documented send limits (core.telegram.org/bots/faq): about one
// message a second per chat, 20 a minute per group, 30 a second overall.
const (
	defaultPerChat           = 1.0
	defaultPerGroupPerMinute = 20.0
	defaultGlobal            = 30.0
)

// maxIdleLimiters bounds the per-chat maps; beyond it, limiters with a full
// bucket (idle chats) are dropped, which forgets nothing that matters.
const maxIdleLimiters = 1024

// telegramLimits throttles calls in process, before they reach Telegram, so
// a burst of deliveries meets 429s rarely. Buckets hold one token: a token
// bucket cannot express "20 in any minute" exactly, and a burst of 1 is the
// closest conservative reading.
type telegramLimits struct {
	perChat, perGroup rate.Limit

	mu     sync.Mutex
	global *rate.Limiter
	chats  map[int64]*rate.Limiter
	groups map[int64]*rate.Limiter
}

// perSecond turns a rate into a rate.Limit; zero or less means no limit.
func perSecond(v float64) rate.Limit {
	if v <= 0 {
		return rate.Inf
	}
	return rate.Limit(v)
}

func newTelegramLimits(perChat, perGroupPerMinute, global float64) *telegramLimits {
	g := perSecond(perGroupPerMinute)
	if g != rate.Inf {
		g /= 60
	}
	return &telegramLimits{
		perChat:  perSecond(perChat),
		perGroup: g,
		global:   rate.NewLimiter(perSecond(global), 1),
		chats:    map[int64]*rate.Limiter{},
		groups:   map[int64]*rate.Limiter{},
	}
}

// limiters returns the limiters a call to chatID must pass; l.mu is held.
// chatID 0 means a call bound to no chat (answerCallbackQuery).
func (l *telegramLimits) limiters(chatID int64, now time.Time) []*rate.Limiter {
	out := []*rate.Limiter{l.global}
	if chatID != 0 {
		out = append(out, limiterFor(l.chats, chatID, l.perChat, now))
		if chatID < 0 { // negative ids are groups, supergroups and channels
			out = append(out, limiterFor(l.groups, chatID, l.perGroup, now))
		}
	}
	return out
}

func limiterFor(m map[int64]*rate.Limiter, id int64, r rate.Limit, now time.Time) *rate.Limiter {
	if lim, ok := m[id]; ok {
		return lim
	}
	if len(m) >= maxIdleLimiters {
		for k, lim := range m {
			if lim.TokensAt(now) >= float64(lim.Burst()) {
				delete(m, k)
			}
		}
	}
	lim := rate.NewLimiter(r, 1)
	m[id] = lim
	return lim
}

// wait blocks (through sleep, so tests control time) until every limiter
// of chatID has a token, then takes them all at once, or until ctx ends.
// Taking tokens only when all are there (not one limiter after another)
// stamps each bucket with the moment the call really goes out, so the
// spacing Telegram sees is never shorter than the limits.
func (l *telegramLimits) wait(ctx context.Context, chatID int64, now func() time.Time, sleep func(context.Context, time.Duration) error) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		d := l.take(chatID, now())
		if d == 0 {
			return nil
		}
		if err := sleep(ctx, d); err != nil {
			return err
		}
	}
}

// take takes a token from every limiter of chatID and returns 0, or, when
// one is short, takes nothing and returns how long to wait.
func (l *telegramLimits) take(chatID int64, t time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	lims := l.limiters(chatID, t)
	var wait time.Duration
	for _, lim := range lims {
		if lim.Limit() == rate.Inf {
			continue
		}
		// The tolerance absorbs float rounding (20/60 per second).
		if short := 1 - lim.TokensAt(t); short > 1e-6 {
			d := time.Duration(short / float64(lim.Limit()) * float64(time.Second)).Round(time.Millisecond)
			wait = max(wait, d, time.Millisecond)
		}
	}
	if wait > 0 {
		return wait
	}
	for _, lim := range lims {
		lim.ReserveN(t, 1) // never refused with a burst of 1; a rounding-sized debt is fine
	}
	return 0
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// call runs fn after the rate limits, with the per-call timeout, waiting
// out short 429s while budget lasts; any error comes back as an *Error.
func (t *Telegram) call(ctx context.Context, chatID int64, budget *int, what string, fn func(context.Context) error) error {
	for {
		if err := t.limits.wait(ctx, chatID, t.now, t.sleep); err != nil {
			return &Error{Kind: Retry, Message: "telegram " + what + ": " + err.Error(), Err: err}
		}
		cctx, cancel := context.WithTimeout(ctx, telegramCallTimeout)
		err := fn(cctx)
		cancel()
		if err == nil {
			return nil
		}
		var tm *bot.TooManyRequestsError
		if errors.As(err, &tm) && *budget > 0 {
			wait := max(time.Duration(tm.RetryAfter)*time.Second, time.Second)
			if wait <= telegramMaxInlineWait {
				*budget--
				if serr := t.sleep(ctx, wait); serr != nil {
					return &Error{Kind: Retry, StatusCode: http.StatusTooManyRequests, RetryAfter: wait,
						Message: "telegram " + what + ": " + serr.Error(), Err: serr}
				}
				continue
			}
		}
		return t.classify(ctx, what, err)
	}
}

// classify maps a go-telegram/bot error to an *Error. The kinds:
//   - 429: Retry after retry_after;
//   - 403 (bot blocked, kicked, chat deleted): Gone;
//   - 400 with migrate_to_chat_id: Migrated;
//   - 400 whose description says "chat not found" or PEER_ID_INVALID: Gone
//     (the chat no longer exists or never let the bot in); other 400s:
//     Permanent (this message cannot be sent, the chat is fine);
//   - 401/404 (bad token or API URL): Retry, the operator must fix the
//     configuration, the destination is not at fault;
//   - network errors, timeouts, 5xx, undecodable answers: Retry.
func (t *Telegram) classify(ctx context.Context, what string, err error) *Error {
	e := &Error{Kind: Retry, Err: scrubbedError{t.scrub(err.Error()), err}}
	desc := func(sentinel error) string {
		return t.scrub(strings.TrimPrefix(err.Error(), sentinel.Error()+", "))
	}
	var tm *bot.TooManyRequestsError
	var mig *bot.MigrateError
	switch {
	case errors.As(err, &tm):
		e.StatusCode, e.RetryAfter = http.StatusTooManyRequests, time.Duration(tm.RetryAfter)*time.Second
		e.Message = "telegram " + what + ": too many requests, retry after " + e.RetryAfter.String()
	case errors.As(err, &mig):
		e.Kind, e.StatusCode, e.NewChatID = Migrated, http.StatusBadRequest, int64(mig.MigrateToChatID)
		e.Message = fmt.Sprintf("telegram %s: the group became a supergroup with chat id %d", what, mig.MigrateToChatID)
	case errors.Is(err, bot.ErrorForbidden):
		e.Kind, e.StatusCode, e.Message = Gone, http.StatusForbidden, "telegram "+what+": "+desc(bot.ErrorForbidden)
	case errors.Is(err, bot.ErrorBadRequest):
		d := desc(bot.ErrorBadRequest)
		e.Kind, e.StatusCode, e.Message = Permanent, http.StatusBadRequest, "telegram "+what+": "+d
		if l := strings.ToLower(d); strings.Contains(l, "chat not found") || strings.Contains(l, "peer_id_invalid") {
			e.Kind = Gone
		}
	case errors.Is(err, bot.ErrorUnauthorized):
		e.StatusCode = http.StatusUnauthorized
		e.Message = "telegram " + what + ": Telegram rejected the bot token (401 Unauthorized); check TELEGRAM_BOT_TOKEN"
	case errors.Is(err, bot.ErrorNotFound):
		e.StatusCode = http.StatusNotFound
		e.Message = "telegram " + what + ": Telegram answered 404; check TELEGRAM_API_URL and TELEGRAM_BOT_TOKEN"
	case ctx.Err() != nil:
		e.Message = "telegram " + what + ": " + ctx.Err().Error()
	case errors.Is(err, context.DeadlineExceeded):
		e.Message = "telegram " + what + ": no answer within " + telegramCallTimeout.String()
	default:
		msg := t.scrub(err.Error())
		// "error response from telegram for method M, CODE DESC"
		if _, rest, ok := strings.Cut(msg, "error response from telegram for method "); ok {
			if _, rest, ok = strings.Cut(rest, ", "); ok {
				codeStr, d, _ := strings.Cut(rest, " ")
				if code, cerr := strconv.Atoi(codeStr); cerr == nil {
					e.StatusCode, msg = code, d
					if code >= 400 && code < 500 && code != http.StatusRequestTimeout && code != http.StatusConflict {
						e.Kind = Permanent
					}
				}
			}
		}
		if len(msg) > 300 { // an HTML error page from a proxy
			msg = msg[:300] + "…"
		}
		e.Message = "telegram " + what + ": " + msg
	}
	return e
}

// scrub removes the bot token from s: the library's errors may quote
// request URLs (…/bot<token>/sendMessage).
func (t *Telegram) scrub(s string) string {
	if t.token == "" {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "bot"+t.token, "bot[token]"), t.token, "[token]")
}

// scrubbedError carries the library's error for errors.Is/As while its
// text is the scrubbed one.
type scrubbedError struct {
	msg string
	err error
}

func (e scrubbedError) Error() string { return e.msg }
func (e scrubbedError) Unwrap() error { return e.err }
