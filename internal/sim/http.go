package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/xpflow/xpflow/internal/clock"
)

// Endpoint names used in Request.Endpoint.
const (
	epModels        = "models"
	epVideoGenerate = "video.generate"
	epVideoPoll     = "video.poll"
	epImageGenerate = "image.generate"
	epImagePoll     = "image.poll"
	epTextGenerate  = "text.generate"
	epCDN           = "cdn"
)

// Error codes. The first six are documented; NOT_FOUND and
// METHOD_NOT_ALLOWED are the simulator's choice for what the document does
// not cover.
const (
	CodeInvalidParams       = "INVALID_PARAMS"
	CodeInvalidModel        = "INVALID_MODEL"
	CodeUnauthorized        = "UNAUTHORIZED"
	CodeInsufficientCredits = "INSUFFICIENT_CREDITS"
	CodeRateLimited         = "RATE_LIMITED"
	CodeGenerationFailed    = "GENERATION_FAILED"
	CodeNotFound            = "NOT_FOUND"
	CodeMethodNotAllowed    = "METHOD_NOT_ALLOWED"
)

const maxBody = 1 << 20

// response is an answer decided but not yet written.
type response struct {
	status  int
	header  http.Header
	body    []byte
	code    string // error code, if any
	charged int
	taskID  string
	model   string
}

// route is what a path resolves to.
type route struct {
	endpoint string
	id       string // task id or CDN file name
	method   string // the one allowed method ("GET" also allows HEAD on CDN)
}

func resolve(path string) (route, bool) {
	switch path {
	case "/api/v1/models":
		return route{endpoint: epModels, method: http.MethodGet}, true
	case "/api/v1/video/generate":
		return route{endpoint: epVideoGenerate, method: http.MethodPost}, true
	case "/api/v1/image/generate":
		return route{endpoint: epImageGenerate, method: http.MethodPost}, true
	case "/api/v1/text/generate":
		return route{endpoint: epTextGenerate, method: http.MethodPost}, true
	}
	for _, p := range []struct{ prefix, endpoint string }{
		{"/api/v1/video/", epVideoPoll},
		{"/api/v1/image/", epImagePoll},
		{"/cdn/", epCDN},
	} {
		if id, ok := strings.CutPrefix(path, p.prefix); ok && id != "" && !strings.Contains(id, "/") {
			return route{endpoint: p.endpoint, id: id, method: http.MethodGet}, true
		}
	}
	return route{}, false
}

// ServeHTTP answers one request: routing, then (for API routes) connection
// faults, auth, rate limit, the endpoint itself, and answer faults.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	entry := Request{At: s.clock.Now(), Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Key: bearer(r)}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	entry.Body = body
	rt, found := resolve(r.URL.Path)
	entry.Endpoint = rt.endpoint
	switch {
	case !found:
		s.finish(w, entry, errorResponse(http.StatusNotFound, CodeNotFound, fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path)))
		return
	case rt.endpoint == epCDN:
		s.finish(w, entry, s.serveCDN(r, rt.id))
		return
	case r.Method != rt.method:
		resp := errorResponse(http.StatusMethodNotAllowed, CodeMethodNotAllowed, fmt.Sprintf("%s is not allowed on %s; use %s", r.Method, r.URL.Path, rt.method))
		resp.header.Set("Allow", rt.method)
		s.finish(w, entry, resp)
		return
	case err != nil:
		s.finish(w, entry, errorResponse(http.StatusBadRequest, CodeInvalidParams, "request body too large or unreadable"))
		return
	}
	plan := s.drawAnswerFaults()
	if plan.drop {
		entry.Code = "CONNECTION_DROPPED"
		s.record(entry)
		dropConn(w)
		return
	}
	resp := s.serveAPI(r, rt, body)
	if plan.truncate {
		resp.body = resp.body[:len(resp.body)/2]
	}
	if plan.slow > 0 && !clock.Sleep(s.clock, plan.slow, r.Context().Done()) {
		entry.Code, entry.Charged, entry.TaskID, entry.Model = "CLIENT_GONE", resp.charged, resp.taskID, resp.model
		s.record(entry)
		return
	}
	s.finish(w, entry, resp)
}

// serveAPI runs auth, forced and real rate limits, then the endpoint.
func (s *Server) serveAPI(r *http.Request, rt route, body []byte) response {
	key := bearer(r)
	if resp, ok := s.admit(key); !ok {
		return resp
	}
	switch rt.endpoint {
	case epModels:
		return jsonResponse(http.StatusOK, rawJSON(s.cat.raw))
	case epVideoGenerate:
		return s.videoGenerate(r, key, body)
	case epImageGenerate:
		return s.imageGenerate(r, key, body)
	case epTextGenerate:
		return s.textGenerate(r, key, body)
	case epVideoPoll:
		return s.poll(r, key, kindVideo, rt.id)
	case epImagePoll:
		return s.poll(r, key, kindImage, rt.id)
	}
	return errorResponse(http.StatusNotFound, CodeNotFound, "no such endpoint")
}

// finish logs the answer and writes it.
func (s *Server) finish(w http.ResponseWriter, entry Request, resp response) {
	entry.Status, entry.Code, entry.Charged = resp.status, resp.code, resp.charged
	if resp.taskID != "" {
		entry.TaskID = resp.taskID
	}
	if resp.model != "" {
		entry.Model = resp.model
	}
	s.record(entry)
	h := w.Header()
	for k, v := range resp.header {
		h[k] = v
	}
	h.Set("Content-Length", fmt.Sprint(len(resp.body)))
	w.WriteHeader(resp.status)
	_, _ = w.Write(resp.body)
}

// dropConn closes the connection without writing a byte.
func dropConn(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// bearer returns the key of an "Authorization: Bearer <key>" header, or "".
func bearer(r *http.Request) string {
	scheme, key, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(key)
}

type rawJSON []byte

func (m rawJSON) MarshalJSON() ([]byte, error) { return m, nil }

func jsonResponse(status int, v any) response {
	b, err := json.Marshal(v)
	if err != nil {
		return errorResponse(http.StatusInternalServerError, CodeGenerationFailed, "simulator could not encode its answer")
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json; charset=utf-8")
	return response{status: status, header: h, body: b}
}

type errorBody struct {
	Error struct {
		Message string `json:"message"`
		Code    string `json:"code"`
	} `json:"error"`
}

func errorResponse(status int, code, message string) response {
	var e errorBody
	e.Error.Message, e.Error.Code = message, code
	resp := jsonResponse(status, e)
	resp.code = code
	return resp
}
