package xpilot

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xpflow/xpflow/internal/clock"
)

// Defaults of the documented service.
const (
	DefaultBaseURL           = "https://xpilot.jytech.us"
	DefaultRequestsPerMinute = 30
)

// Environment variables read by ConfigFromEnv.
const (
	EnvBaseURL   = "XPILOT_BASE_URL"
	EnvAPIKey    = "XPILOT_API_KEY"
	EnvRateLimit = "XPILOT_RATE_LIMIT"
)

// RetryPolicy bounds the retries of the client. Zero fields take the
// defaults of DefaultRetryPolicy; a negative MaxGenerationFailed disables
// the resending of generate requests that failed upstream.
type RetryPolicy struct {
	// MaxAttempts bounds the attempts of one call (first try included)
	// for retryable failures of GET requests, and for 429s and failures
	// before sending of generate requests.
	MaxAttempts int
	// MaxGenerationFailed bounds how many times a generate request that
	// answered 500 GENERATION_FAILED is sent again.
	MaxGenerationFailed int
	// BaseDelay is the backoff before the first retry; it doubles at each
	// retry, with jitter, up to MaxDelay.
	BaseDelay time.Duration
	// MaxDelay caps a backoff delay (a longer Retry-After is still honoured).
	MaxDelay time.Duration
}

// DefaultRetryPolicy returns the policy used for zero fields: 6 attempts,
// 3 resends after GENERATION_FAILED, backoff from 1 s doubling up to 30 s.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 6, MaxGenerationFailed: 3, BaseDelay: time.Second, MaxDelay: 30 * time.Second}
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	d := DefaultRetryPolicy()
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = d.MaxAttempts
	}
	if p.MaxGenerationFailed < 0 {
		p.MaxGenerationFailed = 0
	} else if p.MaxGenerationFailed == 0 {
		p.MaxGenerationFailed = d.MaxGenerationFailed
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = d.BaseDelay
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = d.MaxDelay
	}
	return p
}

// DefaultTimeout bounds one request. It is generous because synchronous
// generations (images, long texts) answer only when done, and a generate
// that times out after it was sent is an unknown outcome the user must
// settle by hand.
const DefaultTimeout = 5 * time.Minute

// Config configures a Client. Only APIKey is required.
type Config struct {
	// BaseURL is the service root, DefaultBaseURL when empty.
	BaseURL string
	// APIKey is sent as a bearer token and never written anywhere else.
	APIKey string
	// RequestsPerMinute is the limit of the key, used when Limiter is nil;
	// DefaultRequestsPerMinute when zero.
	RequestsPerMinute int
	// HTTPClient sends requests; a client with a DefaultTimeout when nil.
	HTTPClient *http.Client
	// Clock times the limiter, backoffs and Retry-After; clock.Real() when nil.
	Clock clock.Clock
	// Limiter is the shared limiter of the key; the client makes its own
	// when nil. Share one between every client of the same key.
	Limiter *Limiter
	// Logf receives one line per retry; lines never contain the key.
	Logf func(format string, args ...any)
	// Retry bounds retries.
	Retry RetryPolicy
	// Seed seeds the backoff jitter, so that tests are reproducible.
	Seed uint64
}

// ConfigFromEnv returns base with the environment's values laid over it:
// XPILOT_BASE_URL, XPILOT_API_KEY and XPILOT_RATE_LIMIT win over base, and
// defaults fill what neither sets. A rate limit that is not a positive
// integer is an error.
func ConfigFromEnv(getenv func(string) string, base Config) (Config, error) {
	cfg := base
	if v := strings.TrimSpace(getenv(EnvBaseURL)); v != "" {
		cfg.BaseURL = v
	}
	if v := strings.TrimSpace(getenv(EnvAPIKey)); v != "" {
		cfg.APIKey = v
	}
	if v := strings.TrimSpace(getenv(EnvRateLimit)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return base, fmt.Errorf("%s=%q: want a positive number of requests per minute", EnvRateLimit, v)
		}
		cfg.RequestsPerMinute = n
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.RequestsPerMinute == 0 {
		cfg.RequestsPerMinute = DefaultRequestsPerMinute
	}
	return cfg, nil
}

// Client calls the xPilot v1 API. It is safe for concurrent use.
type Client struct {
	base     *url.URL
	key      string
	scrub    scrubber
	http     *http.Client
	clock    clock.Clock
	limiter  *Limiter
	logf     func(format string, args ...any)
	retry    RetryPolicy
	requests atomic.Int64

	randMu sync.Mutex // guards rand
	rand   *rand.Rand
}

// New checks cfg and returns a client.
func New(cfg Config) (*Client, error) {
	if cfg.APIKey == "" {
		return nil, errors.New("xpilot: no API key: set " + EnvAPIKey)
	}
	if strings.ContainsFunc(cfg.APIKey, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return nil, errors.New("xpilot: the API key contains spaces or control characters")
	}
	sc := scrubber{key: cfg.APIKey}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("xpilot: base URL: %w", sc.err(err))
	}
	if (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("xpilot: base URL %q: want http(s)://host", sc.str(cfg.BaseURL))
	}
	if cfg.RequestsPerMinute < 0 {
		return nil, fmt.Errorf("xpilot: requests per minute %d: want a positive number", cfg.RequestsPerMinute)
	}
	if cfg.RequestsPerMinute == 0 {
		cfg.RequestsPerMinute = DefaultRequestsPerMinute
	}
	c := &Client{base: base, key: cfg.APIKey, scrub: sc, http: cfg.HTTPClient, clock: cfg.Clock,
		limiter: cfg.Limiter, retry: cfg.Retry.withDefaults(), rand: rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15))}
	if c.http == nil {
		c.http = &http.Client{Timeout: DefaultTimeout, CheckRedirect: sameHostRedirect}
	}
	if c.clock == nil {
		c.clock = clock.Real()
	}
	if c.limiter == nil {
		c.limiter = NewLimiter(cfg.RequestsPerMinute, c.clock)
	}
	if cfg.Logf != nil {
		logf := cfg.Logf
		c.logf = func(format string, args ...any) { logf("%s", sc.str(fmt.Sprintf(format, args...))) }
	} else {
		c.logf = func(string, ...any) {}
	}
	return c, nil
}

// Requests returns the number of API requests sent so far (retries
// included, downloads never).
func (c *Client) Requests() int64 { return c.requests.Load() }

// Limiter returns the limiter the client waits on.
func (c *Client) Limiter() *Limiter { return c.limiter }

// BaseURL returns the base URL requests are resolved against.
func (c *Client) BaseURL() string { return c.base.String() }

// jitter returns a duration in [d/2, d].
func (c *Client) jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	c.randMu.Lock()
	defer c.randMu.Unlock()
	return d/2 + time.Duration(c.rand.Int64N(int64(d/2)+1))
}

// sameHostRedirect follows redirects only within the host of the request,
// so that the Authorization header never travels elsewhere.
func sameHostRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if !strings.EqualFold(req.URL.Host, via[0].URL.Host) || req.URL.Scheme != via[0].URL.Scheme {
		return errNoKeyHost
	}
	return nil
}
