package sim

import (
	"fmt"
	"net/http"
)

// submitted is a video or async image generate answer.
type submitted struct {
	TaskID    string `json:"task_id"`
	Status    string `json:"status"`
	Provider  string `json:"provider"`
	PollURL   string `json:"poll_url"`
	CostCents int    `json:"cost_cents"`
	Remaining int    `json:"remaining_credits_cents"`
}

// imageDone is a synchronous image generate answer.
type imageDone struct {
	TaskID    string   `json:"task_id"`
	Status    string   `json:"status"`
	Outputs   []string `json:"outputs"`
	CostCents int      `json:"cost_cents"`
	Remaining int      `json:"remaining_credits_cents"`
}

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

type textDone struct {
	Content   string `json:"content"`
	Model     string `json:"model"`
	Usage     usage  `json:"usage"`
	CostCents int    `json:"cost_cents"`
	Remaining int    `json:"remaining_credits_cents"`
}

// charge takes cost from key's balance unless it is too low or a submit
// fault hits, in which case it returns the error answer. On success it
// calls create, still under s.mu, and returns the balance left.
func (s *Server) charge(key string, cost int, create func()) (int, *response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	bal := s.credits[key]
	if cost > bal {
		r := errorResponse(http.StatusPaymentRequired, CodeInsufficientCredits,
			fmt.Sprintf("Insufficient credits: this request costs %d cents, balance is %d cents", cost, bal))
		return 0, &r
	}
	if s.hit("submit", s.nextInScope(scopeSubmit), s.faults.SubmitErrorN, s.faults.SubmitErrorRate) {
		r := errorResponse(http.StatusInternalServerError, CodeGenerationFailed, "upstream generation failed; you were not charged")
		return 0, &r
	}
	s.credits[key] = bal - cost
	create()
	return bal - cost, nil
}

func (s *Server) videoGenerate(r *http.Request, key string, body []byte) response {
	var b videoBody
	if e := decode(r, body, &b); e != nil {
		return withModel(*e, b.Model)
	}
	v, e := s.validateVideo(&b)
	if e != nil {
		return withModel(*e, b.Model)
	}
	cost := videoCents(v.m, v.duration)
	var t *task
	left, e := s.charge(key, cost, func() { t = s.newTaskLocked(key, v.m, v.prompt, v.aspect, true) })
	if e != nil {
		return withModel(*e, b.Model)
	}
	resp := jsonResponse(http.StatusOK, submitted{t.id, statusProcessing, t.provider, t.pollURL(), cost, left})
	resp.charged, resp.taskID, resp.model = cost, t.id, t.model
	return resp
}

func (s *Server) imageGenerate(r *http.Request, key string, body []byte) response {
	var b imageBody
	if e := decode(r, body, &b); e != nil {
		return withModel(*e, b.Model)
	}
	v, e := s.validateImage(&b)
	if e != nil {
		return withModel(*e, b.Model)
	}
	cost := v.m.callCents
	var t *task
	left, e := s.charge(key, cost, func() { t = s.newTaskLocked(key, v.m, v.prompt, v.aspect, v.m.async) })
	if e != nil {
		return withModel(*e, b.Model)
	}
	var resp response
	if v.m.async {
		resp = jsonResponse(http.StatusOK, submitted{t.id, statusProcessing, t.provider, t.pollURL(), cost, left})
	} else {
		resp = jsonResponse(http.StatusOK, imageDone{t.id, statusCompleted, []string{s.cdnURL(r, t)}, cost, left})
	}
	resp.charged, resp.taskID, resp.model = cost, t.id, t.model
	return resp
}

func (s *Server) textGenerate(r *http.Request, key string, body []byte) response {
	var b textBody
	if e := decode(r, body, &b); e != nil {
		return withModel(*e, b.Model)
	}
	v, e := s.validateText(&b)
	if e != nil {
		return withModel(*e, b.Model)
	}
	cost := v.m.callCents
	left, e := s.charge(key, cost, func() {})
	if e != nil {
		return withModel(*e, b.Model)
	}
	content, u := s.writeText(v)
	s.mu.Lock()
	echo := s.faults.EchoKeyInText
	s.mu.Unlock()
	if echo {
		content += " " + key
	}
	resp := jsonResponse(http.StatusOK, textDone{content, v.m.ID, u, cost, left})
	resp.charged, resp.model = cost, v.m.ID
	return resp
}

// withModel notes the requested model on an error answer, for the log.
func withModel(r response, id *string) response {
	if id != nil {
		r.model = *id
	}
	return r
}
