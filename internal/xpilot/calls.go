package xpilot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// API paths, relative to the base URL.
const (
	PathModels        = "/api/v1/models"
	PathVideoGenerate = "/api/v1/video/generate"
	PathImageGenerate = "/api/v1/image/generate"
	PathTextGenerate  = "/api/v1/text/generate"
)

// Models fetches the model catalog. Unknown fields and groups are ignored;
// a model whose price is not listed keeps a nil price (unpriced, not free).
func (c *Client) Models(ctx context.Context, opts ...Call) (*Catalog, error) {
	var cat *Catalog
	cl := c.newCall(http.MethodGet, c.resolve(PathModels), nil, PriorityModels, opts)
	err := c.do(ctx, cl, func(body []byte) error {
		var err error
		cat, err = decodeCatalog(body)
		return err
	})
	if err != nil {
		return nil, err
	}
	return cat, nil
}

// GenerateVideo submits a video task. The answer is processing with a
// poll_url to Poll. opts, when given, are the call's options (the last one
// counts); a call given up before sending returns a *NotSentError.
func (c *Client) GenerateVideo(ctx context.Context, req VideoRequest, opts ...Call) (*Task, error) {
	return c.generateTask(ctx, PathVideoGenerate, req, opts)
}

// GenerateImage submits an image. Some models answer at once (status
// completed with outputs), others with a poll_url to Poll.
func (c *Client) GenerateImage(ctx context.Context, req ImageRequest, opts ...Call) (*Task, error) {
	return c.generateTask(ctx, PathImageGenerate, req, opts)
}

// GenerateText generates text synchronously.
func (c *Client) GenerateText(ctx context.Context, req TextRequest, opts ...Call) (*TextResult, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("xpilot: encoding the text request: %w", err)
	}
	var res *TextResult
	cl := c.newCall(http.MethodPost, c.resolve(PathTextGenerate), body, PrioritySubmit, opts)
	err = c.do(ctx, cl, func(b []byte) error {
		var err error
		res, err = c.scrub.textResult(decodeText(b))
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// Poll fetches the state of a task from the poll_url of its generate answer,
// used as given: it is resolved against the base URL, keeping its provider
// and pollUrl query intact. An absolute poll_url on another host than the
// base URL is refused, because the key would be sent there.
func (c *Client) Poll(ctx context.Context, pollURL string, opts ...Call) (*Task, error) {
	u, err := c.resolvePoll(pollURL)
	if err != nil {
		return nil, err
	}
	var task *Task
	cl := c.newCall(http.MethodGet, u, nil, PriorityPoll, opts)
	err = c.do(ctx, cl, func(body []byte) error {
		var err error
		task, err = c.scrub.task(decodeTask(body, false))
		return err
	})
	if err != nil {
		return nil, err
	}
	return task, nil
}

func (c *Client) generateTask(ctx context.Context, path string, req any, opts []Call) (*Task, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("xpilot: encoding the request: %w", err)
	}
	var task *Task
	cl := c.newCall(http.MethodPost, c.resolve(path), body, PrioritySubmit, opts)
	err = c.do(ctx, cl, func(b []byte) error {
		var err error
		task, err = c.scrub.task(decodeTask(b, true))
		return err
	})
	if err != nil {
		return nil, err
	}
	return task, nil
}

// resolve returns a path of the API under the base URL. The base URL's
// own path is kept: with base http://host/prefix, PathModels is
// http://host/prefix/api/v1/models (url.ResolveReference would drop
// /prefix, since the API paths are absolute).
func (c *Client) resolve(path string) *url.URL {
	u := *c.base
	u.Path, u.RawPath = underBase(c.base.Path, path), ""
	u.RawQuery, u.Fragment = "", ""
	return &u
}

// apiRoot is the path every API endpoint and poll_url of the document
// starts with.
const apiRoot = "/api/v1/"

// underBase puts the absolute path p under the base path, unless p is
// already there: the base path followed by the API's own root (a server
// that knows its prefix may name it in a poll_url). A base path that is
// itself a prefix of the API's paths (http://host/api, http://host/api/v1)
// is still a prefix: the API's paths go under it, never merged with it.
func underBase(base, p string) string {
	base = strings.TrimSuffix(base, "/")
	if base == "" || strings.HasPrefix(p, base+apiRoot) {
		return p
	}
	return base + p
}

func (c *Client) resolvePoll(pollURL string) (*url.URL, error) {
	if strings.TrimSpace(pollURL) == "" {
		return nil, errors.New("xpilot: poll: empty poll_url")
	}
	ref, err := url.Parse(pollURL)
	if err != nil {
		return nil, fmt.Errorf("xpilot: poll: poll_url %q: %w", c.scrub.excerpt([]byte(pollURL)), c.scrub.err(err))
	}
	if ref.Scheme != "" || ref.Host != "" {
		scheme := ref.Scheme
		if scheme == "" {
			scheme = c.base.Scheme
		}
		if !strings.EqualFold(ref.Host, c.base.Host) || !strings.EqualFold(scheme, c.base.Scheme) {
			return nil, fmt.Errorf("xpilot: poll: refusing poll_url on %s://%s: it is not the API host %s://%s and the key would be sent there",
				scheme, c.scrub.str(ref.Host), c.base.Scheme, c.base.Host)
		}
		return c.base.ResolveReference(ref), nil // a full URL is used as given
	}
	if strings.HasPrefix(ref.Path, "/") {
		u := *c.base
		u.Path, u.RawPath = underBase(c.base.Path, ref.Path), ""
		u.RawQuery, u.Fragment = ref.RawQuery, ""
		return &u, nil
	}
	return c.base.ResolveReference(ref), nil
}

// taskWire is a generate or poll answer as sent, tolerant of ids given as
// numbers and of errors given as objects.
type taskWire struct {
	TaskID                json.RawMessage `json:"task_id"`
	Status                *string         `json:"status"`
	Provider              string          `json:"provider"`
	PollURL               string          `json:"poll_url"`
	Outputs               []string        `json:"outputs"`
	Error                 json.RawMessage `json:"error"`
	CostCents             *int            `json:"cost_cents"`
	RemainingCreditsCents *int            `json:"remaining_credits_cents"`
}

// decodeTask checks the documented shape: a generate answer needs task_id,
// status and either a poll_url or outputs; a poll answer needs status.
func decodeTask(body []byte, generate bool) (*Task, error) {
	var w taskWire
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("the body is not the documented JSON: %w", err)
	}
	t := &Task{TaskID: rawText(w.TaskID), Provider: w.Provider, PollURL: w.PollURL, Outputs: w.Outputs,
		Error: errorText(w.Error), CostCents: w.CostCents, RemainingCreditsCents: w.RemainingCreditsCents}
	if w.Status == nil || *w.Status == "" {
		return nil, errors.New("the answer has no status")
	}
	t.Status = *w.Status
	if t.Outputs == nil {
		t.Outputs = []string{}
	}
	if generate && t.TaskID == "" {
		return nil, fmt.Errorf("the answer (status %q) has no task_id", t.Status)
	}
	switch {
	case t.Status == StatusCompleted && len(t.Outputs) == 0:
		return nil, errors.New("the answer is completed but has no outputs")
	case generate && t.Status == StatusProcessing && t.PollURL == "":
		return nil, errors.New("the answer is processing but has no poll_url")
	}
	return t, nil
}

// rawText returns a JSON string's value or a number's text.
func rawText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// errorText renders a task's error, which may be a string or an object.
func errorText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	if s := rawText(raw); s != "" {
		return s
	}
	var obj struct {
		Message string `json:"message"`
		Code    string `json:"code"`
	}
	if json.Unmarshal(raw, &obj) == nil && obj.Message != "" {
		if obj.Code != "" {
			return obj.Code + ": " + obj.Message
		}
		return obj.Message
	}
	return excerpt(raw)
}

func decodeText(body []byte) (*TextResult, error) {
	var w struct {
		Content *string `json:"content"`
		TextResult
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("the body is not the documented JSON: %w", err)
	}
	if w.Content == nil {
		return nil, errors.New("the answer has no content")
	}
	res := w.TextResult
	res.Content = *w.Content
	return &res, nil
}

// modelWire is a catalog entry as sent; a price may come as a decimal.
type modelWire struct {
	Model
	CostCentsPer5s *json.Number `json:"cost_cents_per_5s"`
}

func decodeCatalog(body []byte) (*Catalog, error) {
	var w struct {
		Models *struct {
			Text  []modelWire `json:"text"`
			Video []modelWire `json:"video"`
			Image []modelWire `json:"image"`
		} `json:"models"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("the body is not the documented JSON: %w", err)
	}
	if w.Models == nil {
		return nil, errors.New(`the answer has no "models" object`)
	}
	cat := &Catalog{}
	var err error
	if cat.Text, err = models(w.Models.Text, TypeText); err != nil {
		return nil, err
	}
	if cat.Video, err = models(w.Models.Video, TypeVideo); err != nil {
		return nil, err
	}
	if cat.Image, err = models(w.Models.Image, TypeImage); err != nil {
		return nil, err
	}
	return cat, nil
}

// models converts one group; a missing type is the group's, a decimal
// price is rounded up (never under-estimate a cost).
func models(group []modelWire, typ string) ([]Model, error) {
	out := make([]Model, 0, len(group))
	for i, w := range group {
		m := w.Model
		if m.ID == "" {
			return nil, fmt.Errorf("%s model #%d has no id", typ, i+1)
		}
		if m.Type == "" {
			m.Type = typ
		}
		m.CostCentsPer5s = nil
		if w.CostCentsPer5s != nil {
			f, err := strconv.ParseFloat(w.CostCentsPer5s.String(), 64)
			if err != nil || f < 0 || f > math.MaxInt32 {
				return nil, fmt.Errorf("model %q: bad cost_cents_per_5s %q", m.ID, w.CostCentsPer5s.String())
			}
			cents := int(math.Ceil(f))
			m.CostCentsPer5s = &cents
		}
		out = append(out, m)
	}
	return out, nil
}
