package xpilot

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Error codes documented by the API, plus CodeBadResponse for answers that
// are not the documented JSON.
const (
	CodeInvalidParams       = "INVALID_PARAMS"
	CodeInvalidModel        = "INVALID_MODEL"
	CodeUnauthorized        = "UNAUTHORIZED"
	CodeInsufficientCredits = "INSUFFICIENT_CREDITS"
	CodeRateLimited         = "RATE_LIMITED"
	CodeGenerationFailed    = "GENERATION_FAILED"
	// CodeBadResponse marks a response whose body is not the documented
	// JSON: an HTML page from a proxy, an empty or truncated body, or a
	// generate answer without task_id or status.
	CodeBadResponse = "BAD_RESPONSE"
)

// excerptLen is the longest body excerpt an error carries.
const excerptLen = 120

// APIError is an error answer of the API, or an answer that is not the
// documented JSON (Code CodeBadResponse). It never carries the API key.
type APIError struct {
	// Status is the HTTP status code.
	Status int
	// Code is the documented error code, CodeBadResponse, or "" when the
	// body carried none.
	Code string
	// Message is the error message of the body.
	Message string
	// RetryAfter is the parsed Retry-After header, zero when absent.
	RetryAfter time.Duration
	// Endpoint is the method and path of the request, e.g.
	// "POST /api/v1/video/generate".
	Endpoint string
	// Excerpt is the start of the body, sanitised to printable text, when
	// the body was not the documented JSON.
	Excerpt string
}

// Error describes the failure on one line.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "xpilot: %s: HTTP %d", e.Endpoint, e.Status)
	if t := http.StatusText(e.Status); t != "" {
		b.WriteString(" " + t)
	}
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	if e.Excerpt != "" {
		fmt.Fprintf(&b, "; body starts %q", e.Excerpt)
	}
	return b.String()
}

// Temporary reports whether the same request may succeed later: rate
// limits and server errors.
func (e *APIError) Temporary() bool {
	return e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// ErrUnknownOutcome is matched (errors.Is) by every *UnknownOutcomeError.
var ErrUnknownOutcome = errors.New("outcome of the generate request is unknown")

// UnknownOutcomeError reports a generate request that was, or may have been,
// received by the API but whose answer never arrived intact: a timeout, a
// connection reset after the request was written, a truncated body. The
// generation may have started and been charged; sending the request again
// blindly may pay twice.
type UnknownOutcomeError struct {
	// Endpoint is the method and path of the request.
	Endpoint string
	// Err is what went wrong, already scrubbed of the key.
	Err error
}

// Error says what happened and why the request must not be resent blindly.
func (e *UnknownOutcomeError) Error() string {
	return fmt.Sprintf("xpilot: %s: request sent but no usable answer (%v); "+
		"the generation may have started and been charged, do not resend it blindly", e.Endpoint, e.Err)
}

// Unwrap returns the underlying error.
func (e *UnknownOutcomeError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrUnknownOutcome) true.
func (e *UnknownOutcomeError) Is(target error) bool { return target == ErrUnknownOutcome }

// NotSentError reports a call given up before any request of it could have
// been charged: it was aborted or cancelled while waiting for a rate-limit
// slot, or before a retry that followed a refusal (a 429, a documented
// GENERATION_FAILED). A generate call that ends with it did not start a
// generation; it is never an unknown outcome.
type NotSentError struct {
	// Endpoint is the method and path of the request.
	Endpoint string
	// Err is why the call ended: the abort, the context's error, or the
	// last refusal before the call was given up.
	Err error
}

// Error says that nothing was sent and why.
func (e *NotSentError) Error() string {
	return fmt.Sprintf("xpilot: %s: not sent: %v", e.Endpoint, e.Err)
}

// Unwrap returns the cause.
func (e *NotSentError) Unwrap() error { return e.Err }

// scrubbedError replaces the message of an error that contained the key.
// It does not unwrap, so that no caller can reach the original message, but
// errors.Is still sees through it (context.Canceled, net errors).
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }

// Is reports whether the scrubbed error matches target.
func (e *scrubbedError) Is(target error) bool { return errors.Is(e.err, target) }

// redacted replaces the key wherever it appears in text the client produces.
const redacted = "[REDACTED]"

// scrubber removes a key from strings.
type scrubber struct{ key string }

func (s scrubber) str(text string) string {
	if s.key == "" {
		return text
	}
	return strings.ReplaceAll(text, s.key, redacted)
}

// err returns err with a message free of the key; nil stays nil.
func (s scrubber) err(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := s.str(msg)
	if clean == msg {
		return err
	}
	return &scrubbedError{msg: clean, err: err}
}

// excerpt scrubs the key from text before cutting an excerpt of it, so
// that no part of a key straddling the cut survives.
func (s scrubber) excerpt(text []byte) string {
	return excerpt([]byte(s.str(string(text))))
}

// excerpt returns the first excerptLen bytes of body as printable text.
func excerpt(body []byte) string {
	if len(body) == 0 {
		return "(empty body)"
	}
	cut := body
	if len(cut) > excerptLen {
		cut = cut[:excerptLen]
	}
	s := strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			return ' '
		case r == unicode.ReplacementChar || !unicode.IsPrint(r):
			return '?'
		}
		return r
	}, string(cut))
	if len(body) > excerptLen {
		s += "..."
	}
	return s
}

// parseRetryAfter reads a Retry-After header given in seconds or as an
// HTTP date, relative to now. It returns zero when absent or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(n * float64(time.Second))
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	if d := t.Sub(now); d > 0 {
		return d
	}
	return 0
}
