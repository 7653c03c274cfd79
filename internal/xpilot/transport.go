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
)

// maxBody bounds the size of a response body read into memory.
const maxBody = 8 << 20

// Call holds the options of one API call. The zero Call runs the call at
// its endpoint's own priority and never gives it up before sending.
type Call struct {
	// Priority is where the call waits in the Limiter; PriorityDefault
	// keeps the endpoint's own.
	Priority Priority
	// Abort, when closed while the call has not yet written a request
	// (waiting for a rate-limit slot, or for a retry after a refusal),
	// gives the call up: it returns a *NotSentError. Once a request is on
	// its way it goes ahead and its answer is handled as usual.
	Abort <-chan struct{}
	// Sent, when set, is called with the time each attempt's request is
	// handed to the HTTP client, after its rate-limit wait: when it
	// actually goes out, as opposed to when it was wanted.
	Sent func(at time.Time)
}

// call is one API call, which may take several attempts.
type call struct {
	endpoint string // method and path, for errors and logs
	method   string
	u        *url.URL
	body     []byte // JSON body of a POST; nil for GET
	generate bool   // a POST that may start a billed generation
	prio     Priority
	abort    <-chan struct{} // nil: never abort
	sent     func(time.Time) // nil: nobody asks
}

// retryHint says whether and how a failed attempt may be retried.
type retryHint struct {
	ok        bool
	genFailed bool          // a generate answered GENERATION_FAILED
	after     time.Duration // Retry-After of the answer, if any
	limited   bool          // a 429: the limiter is already paused
}

// newCall builds a call at the priority of opts, or def.
func (c *Client) newCall(method string, u *url.URL, body []byte, def Priority, opts []Call) call {
	var o Call
	if len(opts) > 0 {
		o = opts[len(opts)-1]
	}
	p := o.Priority
	if p == PriorityDefault {
		p = def
	}
	return call{endpoint: method + " " + u.EscapedPath(), method: method, u: u, body: body,
		generate: method == http.MethodPost, prio: p, abort: o.Abort, sent: o.Sent}
}

// aborted reports whether the call's Abort channel is closed.
func (cl call) aborted() bool {
	select {
	case <-cl.abort:
		return true
	default:
		return false
	}
}

// do runs cl with retries until decode accepts a 2xx body, or it fails.
// Every retry follows an attempt that was refused or never written, so a
// call given up between attempts was not charged: it returns a
// *NotSentError.
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
		if cl.aborted() {
			return &NotSentError{Endpoint: cl.endpoint, Err: err}
		}
		delay := c.backoff(attempt, hint)
		c.logf("xpilot: %s: attempt %d/%d failed: %v; retrying in %s",
			cl.endpoint, attempt, c.retry.MaxAttempts, err, delay.Round(time.Millisecond))
		switch c.sleep(ctx, cl, delay) {
		case errAborted:
			return &NotSentError{Endpoint: cl.endpoint, Err: err}
		case nil:
		default:
			return fmt.Errorf("%w; gave up retrying: %w", err, ctx.Err())
		}
	}
}

// errAborted is the cause of a call given up through its Abort channel.
var errAborted = errors.New("given up before sending")

// sleep waits d on the client's clock; it returns errAborted if the call
// was aborted meanwhile, ctx's error if ctx ended, or nil.
func (c *Client) sleep(ctx context.Context, cl call, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := c.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return nil
	case <-cl.abort:
		return errAborted
	case <-ctx.Done():
		return ctx.Err()
	}
}

// waitSlot waits in the limiter for a slot held open until release; a
// call aborted while waiting gets errAborted.
func (c *Client) waitSlot(ctx context.Context, cl call) (*grant, error) {
	if cl.abort == nil {
		return c.limiter.acquire(ctx, cl.prio, true)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-cl.abort:
			cancel()
		case <-done:
		}
	}()
	g, err := c.limiter.acquire(wctx, cl.prio, true)
	if err != nil && ctx.Err() == nil && cl.aborted() {
		return nil, errAborted
	}
	return g, err
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
	if cl.aborted() {
		return retryHint{}, &NotSentError{Endpoint: cl.endpoint, Err: errAborted}
	}
	g, err := c.waitSlot(ctx, cl)
	if err != nil {
		return retryHint{}, &NotSentError{Endpoint: cl.endpoint, Err: fmt.Errorf("waiting for the rate limit: %w", err)}
	}
	// The slot is dated from when the answer came back, which is never
	// before the server counted the request.
	defer c.limiter.release(g)
	if cl.aborted() {
		// Aborted as the slot was granted: the slot stays counted, which
		// only errs on the safe side.
		return retryHint{}, &NotSentError{Endpoint: cl.endpoint, Err: errAborted}
	}
	var wrote atomic.Bool
	trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { wrote.Store(true) }}
	req, err := c.newRequest(httptrace.WithClientTrace(ctx, trace), cl)
	if err != nil {
		return retryHint{}, err
	}
	if cl.sent != nil {
		cl.sent(c.clock.Now())
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
