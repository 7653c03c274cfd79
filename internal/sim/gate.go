package sim

import (
	"fmt"
	"hash/fnv"
	"net/http"
	"sort"
	"strconv"
	"time"
)

// window is the rate-limit window.
const window = time.Minute

// Fault scopes: each counts the requests it has seen since faults were set.
const (
	scopeAPI    = "api"    // every request on an API route
	scopeAuthed = "authed" // every authenticated API request
	scopeSubmit = "submit" // valid generate requests
	scopeTask   = "task"   // async tasks at submit
)

// answerPlan is what faults do to one API request's answer.
type answerPlan struct {
	drop, truncate bool
	slow           time.Duration
}

// drawAnswerFaults draws the connection and answer faults of one API request.
func (s *Server) drawAnswerFaults() answerPlan {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.nextInScope(scopeAPI)
	f := s.faults
	var p answerPlan
	p.drop = s.hit("drop", n, f.DropConnN, f.DropConnRate)
	p.truncate = s.hit("truncate", n, f.TruncateJSONN, f.TruncateJSONRate)
	if f.SlowResponse > 0 && (f.SlowResponseRate == 0 || s.roll("slow", n) < f.SlowResponseRate) {
		p.slow = f.SlowResponse
	}
	return p
}

// admit checks the key, then forced 429s, then the sliding-window limit. A
// request that answers 429 does not take a slot in the window: only admitted
// requests are remembered, so a client that keeps retrying too early is not
// locked out for longer.
func (s *Server) admit(key string) (response, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.credits[key]; !ok || key == "" {
		// The message never echoes the key: keys must not reach logs.
		return errorResponse(http.StatusUnauthorized, CodeUnauthorized, "Invalid or missing API key"), false
	}
	n := s.nextInScope(scopeAuthed)
	if s.hit("429", n, s.faults.Force429N, s.faults.Force429Rate) {
		ra := s.faults.RetryAfter
		if ra <= 0 {
			ra = 2 * time.Second
		}
		return rateLimited(ra, "Rate limit exceeded, retry later"), false
	}
	if s.limit <= 0 {
		return response{}, true
	}
	now := s.clock.Now()
	times := s.windows[key]
	for len(times) > 0 && !times[0].Add(window).After(now) {
		times = times[1:]
	}
	if len(times) >= s.limit {
		s.windows[key] = times
		wait := times[0].Add(window).Sub(now)
		return rateLimited(wait, fmt.Sprintf("Rate limit exceeded: %d requests per minute", s.limit)), false
	}
	s.windows[key] = append(times, now)
	return response{}, true
}

// FillWindow records n requests of key at time at in its rate-limit window,
// as if a client the test does not control had sent them: they take slots
// until at+1m. They appear in no log or counter.
func (s *Server) FillWindow(key string, n int, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	times := s.windows[key]
	for range n {
		times = append(times, at)
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	s.windows[key] = times
}

// rateLimited is a 429 with Retry-After in whole seconds, rounded up, at least 1.
func rateLimited(wait time.Duration, msg string) response {
	secs := int64((wait + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	resp := errorResponse(http.StatusTooManyRequests, CodeRateLimited, msg)
	resp.header.Set("Retry-After", strconv.FormatInt(secs, 10))
	return resp
}

// nextInScope returns the 0-based index of this request in scope. Caller holds s.mu.
func (s *Server) nextInScope(scope string) int64 {
	n := s.scopeSeq[scope]
	s.scopeSeq[scope] = n + 1
	return n
}

// hit reports whether the n-th request of a scope gets a fault: the first
// firstN always do, the rest with probability rate. It uses only the seed.
func (s *Server) hit(kind string, n int64, firstN int, rate float64) bool {
	return n < int64(firstN) || (rate > 0 && s.roll(kind, n) < rate)
}

// roll returns a number in [0,1) determined by the seed, kind and n.
func (s *Server) roll(kind string, n int64) float64 {
	return float64(s.rand(kind, uint64(n))>>11) / (1 << 53)
}

// rand returns 64 bits determined by the seed and its arguments.
func (s *Server) rand(kind string, n uint64) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(kind))
	return mix(s.seed ^ mix(h.Sum64()) ^ mix(n+0x9e3779b97f4a7c15))
}

// mix is the splitmix64 finaliser.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// hashString returns 64 bits determined by the seed and the parts.
func (s *Server) hashString(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		_, _ = h.Write([]byte(p))
		_, _ = h.Write([]byte{0})
	}
	return mix(s.seed ^ h.Sum64())
}
