package xpilot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/xpflow/xpflow/internal/clock"
)

// maxBody bounds the size of a response body read into memory.
const maxBody = 8 << 20

// call is one API call, which may take several attempts.
type call struct {
	endpoint string // method and path, for errors and logs
	method   string
	u        *url.URL
	body     []byte // JSON body of a POST; nil for GET
	generate bool   // a POST that may start a billed generation
	prio     Priority
}

// retryHint says whether and how a failed attempt may be retried.
type retryHint struct {
	ok        bool
	genFailed bool          // a generate answered GENERATION_FAILED
	after     time.Duration // Retry-After of the answer, if any
	limited   bool          // a 429: the limiter is already paused
}

// newCall builds a call to path (relative to the base URL) at the priority
// set on ctx, or def.
func (c *Client) newCall(ctx context.Context, method string, u *url.URL, body []byte, def Priority) call {
	p, ok := PriorityFrom(ctx)
	if !ok {
		p = def
	}
	return call{endpoint: method + " " + u.EscapedPath(), method: method, u: u, body: body,
		generate: method == http.MethodPost, prio: p}
}

type retryGateKey struct{}

// WithRetryGate returns a context whose calls ask gate before every retry;
// when it returns false the call stops with a *RetryCancelledError instead.
// Every retry follows an attempt that was refused or never sent, so a call
// stopped this way was not charged: the executor uses it to drop submits
// waiting out a 429 once apply is interrupted.
func WithRetryGate(ctx context.Context, gate func() bool) context.Context {
	return context.WithValue(ctx, retryGateKey{}, gate)
}

// RetryCancelledError is the last refusal of a call whose retry the gate
// of WithRetryGate declined. Nothing it sent was charged.
type RetryCancelledError struct{ Err error }

func (e *RetryCancelledError) Error() string { return e.Err.Error() + "; not retried" }

// Unwrap returns the last refusal.
func (e *RetryCancelledError) Unwrap() error { return e.Err }

// do runs cl with retries until decode accepts a 2xx body, or it fails.
func (c *Client) do(ctx context.Context, cl call, decode func([]byte) error) error {
	genFailures := 0
	for attempt := 1; ; attempt++ {
		hint, err := c.once(ctx, cl, decode)
		if err == nil || !hint.ok {
			return err
		}
		if hint.genFailed {
			genFailures++
		}
		if attempt >= c.retry.MaxAttempts || genFailures > c.retry.MaxGenerationFailed {
			return err
		}
		if gate, ok := ctx.Value(retryGateKey{}).(func() bool); ok && !gate() {
			return &RetryCancelledError{Err: err}
		}
		delay := c.backoff(attempt, hint)
		c.logf("xpilot: %s: attempt %d/%d failed: %v; retrying in %s",
			cl.endpoint, attempt, c.retry.MaxAttempts, err, delay.Round(time.Millisecond))
		if !clock.Sleep(c.clock, delay, ctx.Done()) {
			return fmt.Errorf("%w; gave up retrying: %w", err, ctx.Err())
		}
	}
}

// backoff is the delay before retry number attempt: capped exponential
// with jitter, never shorter than Retry-After. After a 429 the limiter is
// paused already, so there is nothing more to wait.
func (c *Client) backoff(attempt int, hint retryHint) time.Duration {
	if hint.limited {
		return 0
	}
	d := c.retry.BaseDelay
	for i := 1; i < attempt && d < c.retry.MaxDelay; i++ {
		d *= 2
	}
	d = c.jitter(min(d, c.retry.MaxDelay))
	return max(d, hint.after)
}

// once sends one attempt of cl through the limiter and classifies the
// outcome.
func (c *Client) once(ctx context.Context, cl call, decode func([]byte) error) (retryHint, error) {
	g, err := c.limiter.acquire(ctx, cl.prio, true)
	if err != nil {
		return retryHint{}, fmt.Errorf("xpilot: %s: waiting for the rate limit: %w", cl.endpoint, err)
	}
	// The slot is dated from when the answer came back, which is never
	// before the server counted the request.
	defer c.limiter.release(g)
	var wrote atomic.Bool
	trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { wrote.Store(true) }}
	req, err := c.newRequest(httptrace.WithClientTrace(ctx, trace), cl)
	if err != nil {
		return retryHint{}, err
	}
	resp, err := c.http.Do(req)
	if wrote.Load() {
		c.requests.Add(1)
	}
	if err != nil {
		err = fmt.Errorf("xpilot: %s: %w", cl.endpoint, c.scrub.err(err))
		switch {
		case cl.generate && wrote.Load():
			return retryHint{}, &UnknownOutcomeError{Endpoint: cl.endpoint, Err: err}
		case ctx.Err() != nil:
			return retryHint{}, err
		}
		// Nothing was written (dial, DNS, TLS), or the request is a GET.
		return retryHint{ok: true}, err
	}
	defer resp.Body.Close()
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if resp.StatusCode/100 == 2 {
		return c.accept(ctx, cl, resp.StatusCode, body, readErr, decode)
	}
	return c.refuse(cl, resp, body)
}

func (c *Client) newRequest(ctx context.Context, cl call) (*http.Request, error) {
	var body io.Reader
	if cl.body != nil {
		body = bytes.NewReader(cl.body)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, cl.u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("xpilot: %s: %w", cl.endpoint, c.scrub.err(err))
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "xpflow")
	if cl.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// accept decodes a 2xx answer. A generate answer that cannot be used is an
// unknown outcome: the generation may have been charged.
func (c *Client) accept(ctx context.Context, cl call, status int, body []byte, readErr error, decode func([]byte) error) (retryHint, error) {
	var err error
	if readErr != nil {
		err = fmt.Errorf("xpilot: %s: HTTP %d, reading the body: %w", cl.endpoint, status, c.scrub.err(readErr))
	} else if derr := decode(body); derr != nil {
		err = &APIError{Status: status, Code: CodeBadResponse, Message: c.scrub.str(derr.Error()),
			Endpoint: cl.endpoint, Excerpt: c.scrub.excerpt(body)}
	} else {
		return retryHint{}, nil
	}
	if cl.generate {
		return retryHint{}, &UnknownOutcomeError{Endpoint: cl.endpoint, Err: err}
	}
	return retryHint{ok: ctx.Err() == nil}, err
}

// refuse turns a non-2xx answer into an *APIError and decides on a retry.
func (c *Client) refuse(cl call, resp *http.Response, body []byte) (retryHint, error) {
	apiErr := c.apiError(cl, resp, body)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		// Refused, not charged: safe to resend for every endpoint. The
		// limit belongs to the key, so every caller pauses.
		pause := apiErr.RetryAfter
		if pause <= 0 {
			pause = c.retry.BaseDelay
		}
		c.limiter.Pause(c.clock.Now().Add(pause))
		return retryHint{ok: true, limited: true}, apiErr
	case resp.StatusCode >= 500 && !cl.generate:
		return retryHint{ok: true, after: apiErr.RetryAfter}, apiErr
	case resp.StatusCode >= 500 && apiErr.Code == CodeGenerationFailed:
		// Documented: upstream failed, nothing started, nothing charged.
		return retryHint{ok: true, genFailed: true, after: apiErr.RetryAfter}, apiErr
	case cl.generate && resp.StatusCode >= 500 && resp.StatusCode != http.StatusServiceUnavailable:
		// Any other server error (a gateway that gave up waiting, a crash
		// after the charge) may come after the job started: only
		// GENERATION_FAILED is documented as not charged, and a 503 says the
		// service did not take the request.
		return retryHint{}, &UnknownOutcomeError{Endpoint: cl.endpoint, Err: apiErr}
	}
	return retryHint{}, apiErr
}

// apiError reads the documented error body, or describes a body that is not.
func (c *Client) apiError(cl call, resp *http.Response, body []byte) *APIError {
	e := &APIError{Status: resp.StatusCode, Endpoint: cl.endpoint,
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), c.clock.Now())}
	var wire struct {
		Error *struct {
			Message string `json:"message"`
			Code    string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &wire); err != nil || wire.Error == nil || (wire.Error.Code == "" && wire.Error.Message == "") {
		e.Code = CodeBadResponse
		e.Message = "the body is not the documented error JSON"
		if ct := resp.Header.Get("Content-Type"); ct != "" && !strings.Contains(ct, "json") {
			e.Message += " (Content-Type " + c.scrub.excerpt([]byte(ct)) + ")"
		}
		e.Excerpt = c.scrub.excerpt(body)
		return e
	}
	if wire.Error.Code != "" {
		e.Code = c.scrub.excerpt([]byte(wire.Error.Code))
	}
	e.Message = c.scrub.str(wire.Error.Message)
	return e
}

// errNoKeyHost is returned for a redirect that would carry the key away.
var errNoKeyHost = errors.New("refusing a redirect to another host")
