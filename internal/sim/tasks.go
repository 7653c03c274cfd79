package sim

import (
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Task statuses.
const (
	statusProcessing = "processing"
	statusCompleted  = "completed"
	statusFailed     = "failed"
)

// failureTexts are the errors failed tasks carry, as an upstream would word them.
var failureTexts = []string{
	"upstream generation failed: content moderation rejected the output",
	"upstream generation failed: worker timed out",
	"upstream generation failed: internal model error",
}

// task is one generation. Fields are set at creation and never change, so a
// *task may be read without s.mu once it has been looked up.
type task struct {
	id       string
	key      string
	kind     string // kindVideo or kindImage
	model    string
	provider string
	prompt   string
	aspect   string
	upstream string    // wavespeed poll URL, "" for seedance and sync images
	ready    time.Time // when the task completes or fails
	failed   bool
	errText  string
}

// status is the task's status at now.
func (t *task) status(now time.Time) string {
	switch {
	case now.Before(t.ready):
		return statusProcessing
	case t.failed:
		return statusFailed
	}
	return statusCompleted
}

// file is the CDN file name of the task's output.
func (t *task) file() string {
	if t.kind == kindVideo {
		return t.id + ".mp4"
	}
	return t.id + ".png"
}

// pollURL is the path a client polls, as the generate response gives it.
func (t *task) pollURL() string {
	p := "/api/v1/" + t.kind + "/" + t.id + "?provider=" + t.provider
	if t.upstream != "" {
		p += "&pollUrl=" + url.QueryEscape(t.upstream)
	}
	return p
}

// newTaskLocked creates and stores a task. Async tasks draw their latency
// and their fate from the seed. Caller holds s.mu.
func (s *Server) newTaskLocked(key string, m *model, prompt, aspect string, async bool) *task {
	seq := uint64(s.taskSeq)
	s.taskSeq++
	prefix := map[string]string{provSeedance: "sd_", provWavespeed: "ws_"}[m.Provider]
	if m.Type == kindImage {
		prefix = "img_"
	}
	now := s.clock.Now()
	t := &task{key: key, kind: m.Type, model: m.ID, provider: m.Provider, prompt: prompt, aspect: aspect, ready: now}
	if async {
		lat := s.latency[t.kind]
		t.ready = t.ready.Add(lat.min + time.Duration(s.rand("latency", seq)%uint64(lat.max-lat.min+1)))
		if s.hit("taskfail", s.nextInScope(scopeTask), 0, s.faults.TaskFailureRate) {
			t.failed = true
			t.errText = failureTexts[s.rand("failtext", seq)%uint64(len(failureTexts))]
		}
	}
	id := ""
	if len(s.taskSecret) > 0 {
		// A signed id keeps milliseconds: round so that this process and
		// a later one agree on when the task is ready.
		sub := now.Truncate(time.Millisecond)
		t.ready = sub.Add(t.ready.Sub(now).Truncate(time.Millisecond))
		id = s.signedID(prefix, t, async, sub, seq)
	}
	for salt := uint64(0); id == "" || s.tasks[id] != nil; salt++ {
		id = fmt.Sprintf("%s%012x", prefix, s.rand("taskid", seq+salt<<40)&0xffffffffffff)
	}
	t.id = id
	if async && t.provider == provWavespeed {
		t.upstream = "https://api.wavespeed.ai/api/v3/predictions/" + id + "/result"
	}
	s.tasks[id] = t
	return t
}

// taskResult is a poll answer.
type taskResult struct {
	TaskID   string   `json:"task_id"`
	Status   string   `json:"status"`
	Outputs  []string `json:"outputs"`
	Provider string   `json:"provider"`
	Error    string   `json:"error,omitempty"`
}

// poll answers GET /api/v1/{video,image}/:taskId. Choices where the document
// is silent, modelled on a proxy that forwards to the provider:
//   - provider other than "wavespeed" or "seedance": 400 INVALID_PARAMS;
//   - provider "wavespeed" (also the default) without pollUrl: 400
//     INVALID_PARAMS, so a seedance task polled without provider fails;
//   - no task with that id, kind and provider visible to this key: 404
//     NOT_FOUND (a task of another key or provider is indistinguishable
//     from an unknown one);
//   - wavespeed pollUrl that is not the task's own: 400 INVALID_PARAMS.
func (s *Server) poll(r *http.Request, key, kind, id string) response {
	q := r.URL.Query()
	provider := q.Get("provider")
	if provider == "" {
		provider = provWavespeed
	}
	if provider != provWavespeed && provider != provSeedance {
		return *invalid("provider: %q is not one of wavespeed, seedance", provider)
	}
	pollURL := q.Get("pollUrl")
	if provider == provWavespeed && pollURL == "" {
		return *invalid("pollUrl is required when provider is wavespeed (the default); poll the poll_url of the generate response as given")
	}
	s.mu.Lock()
	t := s.lookupTaskLocked(key, id)
	now := s.clock.Now()
	s.mu.Unlock()
	if t == nil || t.kind != kind || t.provider != provider {
		resp := errorResponse(http.StatusNotFound, CodeNotFound, fmt.Sprintf("task %q not found at provider %s", id, provider))
		resp.taskID = id
		return resp
	}
	if provider == provWavespeed && pollURL != t.upstream {
		return *invalid("pollUrl does not belong to task %q", id)
	}
	res := taskResult{TaskID: t.id, Status: t.status(now), Outputs: []string{}, Provider: t.provider}
	switch res.Status {
	case statusCompleted:
		res.Outputs = []string{s.cdnURL(r, t)}
	case statusFailed:
		res.Error = t.errText
	}
	resp := jsonResponse(http.StatusOK, res)
	resp.taskID, resp.model = t.id, t.model
	return resp
}

// cdnURL is where the task's output is served: this server, as a CDN would.
// With signed ids the URL names a stable host (cdnHost) that outlives this
// process; Running.Client dials it.
func (s *Server) cdnURL(r *http.Request, t *task) string {
	if len(s.taskSecret) > 0 {
		return "http://" + cdnHost + "/cdn/" + t.file()
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/cdn/" + t.file()
}
