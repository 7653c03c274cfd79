package sim

import (
	"time"

	"github.com/xpflow/xpflow/internal/clock"
)

// DefaultKey is the API key a simulator accepts when no WithKey option is given.
const DefaultKey = "xp_sim_key"

// DefaultCredits is the balance, in cents, of DefaultKey.
const DefaultCredits = 100000

// Option configures a Server built by New or Start.
type Option func(*config)

type keyCredits struct {
	key   string
	cents int
}

type latencyRange struct{ min, max time.Duration }

type config struct {
	keys      []keyCredits
	rateLimit int
	clock     clock.Clock
	seed      int64
	latency   map[string]latencyRange
	faults    Faults
	// taskSecret signs task ids (WithTaskSecret); nil: plain ids.
	taskSecret []byte
	unseen     []unseenRequests
}

type unseenRequests struct {
	key string
	n   int
	age time.Duration
}

func defaultConfig() config {
	return config{
		rateLimit: 30,
		clock:     clock.Real(),
		seed:      1,
		latency: map[string]latencyRange{
			kindVideo: {30 * time.Second, 120 * time.Second},
			kindImage: {5 * time.Second, 20 * time.Second},
		},
	}
}

// WithKey adds an API key with a starting balance in cents. It may be given
// many times. When no WithKey is given the server accepts DefaultKey with
// DefaultCredits.
func WithKey(key string, creditsCents int) Option {
	return func(c *config) { c.keys = append(c.keys, keyCredits{key, creditsCents}) }
}

// WithRateLimit sets how many API requests one key may make in any 60 s
// window (default 30). A value <= 0 disables the limit.
func WithRateLimit(perMinute int) Option {
	return func(c *config) { c.rateLimit = perMinute }
}

// WithUnseenRequests makes the server start with n requests of key already
// in its rate-limit window, sent age ago by a client nobody else sees (another
// machine, a curl script). They count against the limit until they are a
// window old, as real requests would. It may be given many times.
func WithUnseenRequests(key string, n int, age time.Duration) Option {
	return func(c *config) { c.unseen = append(c.unseen, unseenRequests{key, n, age}) }
}

// WithClock sets the clock that task latency, the rate-limit window, output
// expiry and slow responses are measured on (default clock.Real()).
func WithClock(cl clock.Clock) Option {
	return func(c *config) {
		if cl != nil {
			c.clock = cl
		}
	}
}

// WithSeed sets the seed that every random choice derives from (default 1):
// task ids, latencies, fault draws and output content.
func WithSeed(seed int64) Option {
	return func(c *config) { c.seed = seed }
}

// WithLatency sets how long async tasks of a kind take: "video" (default
// 30-120 s) or "image" (async image models, default 5-20 s). Each task draws
// its latency from [lo, hi]. Unknown kinds are ignored.
func WithLatency(kind string, lo, hi time.Duration) Option {
	return func(c *config) {
		if kind != kindVideo && kind != kindImage {
			return
		}
		if hi < lo {
			hi = lo
		}
		c.latency[kind] = latencyRange{lo, hi}
	}
}

// WithFaults sets the faults the server starts with; see Server.SetFaults.
func WithFaults(f Faults) Option {
	return func(c *config) { c.faults = f }
}

// Faults describes injected failures. Every draw is deterministic given the
// seed and the order of requests. Rates are probabilities in [0,1]; each N
// field makes the first N requests of that fault's scope fail, counted from
// the moment the faults were set.
//
// Scopes: DropConn, TruncateJSON and SlowResponse apply to every request on
// an API route (never to /cdn or unknown paths). Force429 applies to every
// authenticated API request, before the rate limit. SubmitError applies to
// generate requests that passed validation and the credit check.
// TaskFailure applies to async tasks (video, async image) at submit.
type Faults struct {
	// TaskFailureRate makes an async task end "failed" with an error text.
	TaskFailureRate float64
	// SubmitErrorRate makes a generate answer 500 GENERATION_FAILED; nothing is charged.
	SubmitErrorRate float64
	// SlowResponse delays API answers on the server's clock. The request is
	// processed (and charged) first; only the answer is late, as with a slow
	// network. If the client goes away meanwhile, no answer is sent.
	SlowResponse time.Duration
	// SlowResponseRate is the fraction of answers delayed by SlowResponse;
	// 0 means every answer (when SlowResponse > 0).
	SlowResponseRate float64
	// DropConnRate makes the server close the connection without answering,
	// before processing the request (nothing charged, no rate-limit slot used).
	DropConnRate float64
	// TruncateJSONRate makes the server process the request normally (a
	// generate is charged) and answer with the right status but the body cut
	// in half.
	TruncateJSONRate float64
	// Force429Rate makes the server answer 429 RATE_LIMITED with Retry-After.
	Force429Rate float64
	// RetryAfter is the Retry-After of forced 429s (default 2 s).
	RetryAfter time.Duration
	// OutputExpiry makes output URLs answer 403 this long after the task
	// completed (0: never).
	OutputExpiry time.Duration
	// CDNHTML makes output URLs answer 200 text/html instead of the media.
	CDNHTML bool
	// Force429N forces 429 on the first N authenticated API requests.
	Force429N int
	// SubmitErrorN fails the first N valid generate requests with 500.
	SubmitErrorN int
	// DropConnN drops the connection of the first N API requests.
	DropConnN int
	// TruncateJSONN truncates the answer to the first N API requests.
	TruncateJSONN int
	// EchoKeyInText makes every text answer end with the caller's API
	// key, as a model might repeat a secret it was shown: the client must
	// never store or print it.
	EchoKeyInText bool
}
