package sim

import (
	"sync"
	"time"

	"github.com/xpflow/xpflow/internal/clock"
)

// Server is the simulator; it implements http.Handler. It is safe for
// concurrent use.
type Server struct {
	clock   clock.Clock
	seed    uint64
	limit   int
	latency map[string]latencyRange
	cat     *catalog
	// taskSecret signs task ids so another process can answer for them.
	taskSecret []byte

	mu       sync.Mutex             // guards every field below
	credits  map[string]int         // balance per key; a key is valid when present
	windows  map[string][]time.Time // accepted request times per key, oldest first
	tasks    map[string]*task       // by task id
	taskSeq  int64                  // tasks created so far
	faults   Faults                 // current faults
	scopeSeq map[string]int64       // requests seen per fault scope since faults were set
	log      []Request
	counters Counters
}

// Request is one entry of the request log.
type Request struct {
	// At is when the request arrived, on the server's clock.
	At time.Time
	// Method, Path and RawQuery are as received.
	Method, Path, RawQuery string
	// Key is the bearer key as sent (for tests; never print it).
	Key string
	// Status is the HTTP status answered; 0 means no answer was sent
	// (connection dropped, or the client went away during a slow answer).
	Status int
	// Code is the error code answered, if any.
	Code string
	// Endpoint is one of "models", "video.generate", "video.poll",
	// "image.generate", "image.poll", "text.generate", "cdn", or "" for an
	// unknown path.
	Endpoint string
	// TaskID is the task created or polled, if any.
	TaskID string
	// Model is the model of the request body or task, if any.
	Model string
	// Body is the request body.
	Body []byte
	// Charged is what this request cost, in cents.
	Charged int
}

// Counters are totals over every request the server has answered or dropped.
type Counters struct {
	// Requests counts every request, CDN and unknown paths included.
	Requests int
	// Generates counts requests to the generate endpoints, whatever the outcome.
	Generates int
	// Polls counts requests to the poll endpoints.
	Polls int
	// CDN counts requests for output files.
	CDN int
	// RateLimited counts 429 answers, forced ones included.
	RateLimited int
	// Status counts answers by HTTP status (0: no answer sent).
	Status map[int]int
	// ChargedCents is the total charged across keys.
	ChargedCents int
}

// New returns a simulator configured by opts.
func New(opts ...Option) *Server {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if len(cfg.keys) == 0 {
		cfg.keys = []keyCredits{{DefaultKey, DefaultCredits}}
	}
	s := &Server{
		clock:      cfg.clock,
		seed:       uint64(cfg.seed),
		limit:      cfg.rateLimit,
		latency:    cfg.latency,
		cat:        mustLoadCatalog(),
		taskSecret: cfg.taskSecret,
		credits:    map[string]int{},
		windows:    map[string][]time.Time{},
		tasks:      map[string]*task{},
		scopeSeq:   map[string]int64{},
		faults:     cfg.faults,
		counters:   Counters{Status: map[int]int{}},
	}
	for _, k := range cfg.keys {
		s.credits[k.key] = k.cents
	}
	for _, u := range cfg.unseen {
		s.FillWindow(u.key, u.n, s.clock.Now().Add(-u.age))
	}
	return s
}

// Catalog returns the model catalog JSON exactly as GET /api/v1/models serves it.
func (s *Server) Catalog() []byte {
	return append([]byte(nil), s.cat.raw...)
}

// SetFaults replaces the current faults. The N counters start again from
// zero, so Force429N: 3 means the next three requests in scope.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
	s.scopeSeq = map[string]int64{}
}

// SetCredits sets the balance of key, adding the key if it is new.
func (s *Server) SetCredits(key string, cents int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.credits[key] = cents
}

// Credits returns the balance of key, or 0 for an unknown key.
func (s *Server) Credits(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.credits[key]
}

// RevokeKey makes key invalid: later requests with it answer 401.
func (s *Server) RevokeKey(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.credits, key)
}

// Log returns a copy of the request log, in the order answers were decided.
func (s *Server) Log() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.log))
	for i, r := range s.log {
		r.Body = append([]byte(nil), r.Body...)
		out[i] = r
	}
	return out
}

// Counters returns a copy of the totals.
func (s *Server) Counters() Counters {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.counters
	c.Status = make(map[int]int, len(s.counters.Status))
	for k, v := range s.counters.Status {
		c.Status[k] = v
	}
	return c
}

// record appends r to the log and updates the counters.
func (s *Server) record(r Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, r)
	c := &s.counters
	c.Requests++
	c.Status[r.Status]++
	c.ChargedCents += r.Charged
	switch r.Endpoint {
	case epVideoGenerate, epImageGenerate, epTextGenerate:
		c.Generates++
	case epVideoPoll, epImagePoll:
		c.Polls++
	case epCDN:
		c.CDN++
	}
	if r.Status == 429 {
		c.RateLimited++
	}
}
