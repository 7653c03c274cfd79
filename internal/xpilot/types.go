package xpilot

// Model types as grouped by GET /api/v1/models.
const (
	TypeText  = "text"
	TypeImage = "image"
	TypeVideo = "video"
)

// Task statuses returned by generate and poll responses.
const (
	StatusProcessing = "processing"
	StatusCompleted  = "completed"
	StatusFailed     = "failed"
)

// Model is one entry of the catalog. Fields the document does not list for a
// model type are zero; CostCentsPer5s is nil when the price is not listed,
// which means unpriced, never free.
type Model struct {
	ID                 string `json:"id"`
	Label              string `json:"label,omitempty"`
	Type               string `json:"type"`
	Tier               string `json:"tier,omitempty"`
	SupportsAudio      bool   `json:"supports_audio,omitempty"`
	SupportsLockCamera bool   `json:"supports_lock_camera,omitempty"`
	Durations          []int  `json:"durations,omitempty"`
	CostCentsPer5s     *int   `json:"cost_cents_per_5s,omitempty"`
	Mode               string `json:"mode,omitempty"`
	Provider           string `json:"provider,omitempty"`
}

// Priced reports whether the catalog lists a price for the model.
func (m Model) Priced() bool { return m.CostCentsPer5s != nil }

// Catalog is the model list grouped by type, as GET /models returns it.
type Catalog struct {
	Text  []Model `json:"text"`
	Video []Model `json:"video"`
	Image []Model `json:"image"`
}

// Lookup finds a model by id in any group.
func (c *Catalog) Lookup(id string) (Model, bool) {
	if c == nil {
		return Model{}, false
	}
	for _, group := range [][]Model{c.Text, c.Image, c.Video} {
		for _, m := range group {
			if m.ID == id {
				return m, true
			}
		}
	}
	return Model{}, false
}

// All returns every model, text then image then video.
func (c *Catalog) All() []Model {
	if c == nil {
		return nil
	}
	out := make([]Model, 0, len(c.Text)+len(c.Image)+len(c.Video))
	out = append(out, c.Text...)
	out = append(out, c.Image...)
	return append(out, c.Video...)
}

// VideoCostCents is the documented video price: cost_cents_per_5s × duration
// / 5, rounded up. ok is false when the model is unpriced.
func VideoCostCents(m Model, duration int) (cents int, ok bool) {
	if m.CostCentsPer5s == nil {
		return 0, false
	}
	return (*m.CostCentsPer5s*duration + 4) / 5, true
}

// VideoRequest is the body of POST /api/v1/video/generate. Optional fields
// left nil or empty are omitted so that the API's defaults apply.
type VideoRequest struct {
	Model         string `json:"model"`
	Prompt        string `json:"prompt"`
	Duration      *int   `json:"duration,omitempty"`
	AspectRatio   string `json:"aspect_ratio,omitempty"`
	ImageURL      string `json:"image_url,omitempty"`
	GenerateAudio *bool  `json:"generate_audio,omitempty"`
	LockCamera    *bool  `json:"lock_camera,omitempty"`
}

// ImageRequest is the body of POST /api/v1/image/generate.
type ImageRequest struct {
	Model       string   `json:"model"`
	Prompt      string   `json:"prompt"`
	AspectRatio string   `json:"aspect_ratio,omitempty"`
	Mode        string   `json:"mode,omitempty"`
	ImageURL    string   `json:"image_url,omitempty"`
	ImageURLs   []string `json:"image_urls,omitempty"`
}

// TextRequest is the body of POST /api/v1/text/generate.
type TextRequest struct {
	Model       string   `json:"model,omitempty"`
	Prompt      string   `json:"prompt"`
	System      string   `json:"system,omitempty"`
	MaxTokens   *int     `json:"max_tokens,omitempty"`
	Temperature *float64 `json:"temperature,omitempty"`
}

// Task is a generate or poll response for video and image. PollURL is empty
// for a synchronous image. CostCents and RemainingCreditsCents are present on
// generate responses only.
type Task struct {
	TaskID                string   `json:"task_id"`
	Status                string   `json:"status"`
	Provider              string   `json:"provider,omitempty"`
	PollURL               string   `json:"poll_url,omitempty"`
	Outputs               []string `json:"outputs"`
	Error                 string   `json:"error,omitempty"`
	CostCents             *int     `json:"cost_cents,omitempty"`
	RemainingCreditsCents *int     `json:"remaining_credits_cents,omitempty"`
	// Redacted says the answer held the API key, replaced by [REDACTED].
	Redacted bool `json:"-"`
}

// Usage is the token accounting of a text response.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// TextResult is the response of POST /api/v1/text/generate.
type TextResult struct {
	Content               string `json:"content"`
	Model                 string `json:"model"`
	Usage                 Usage  `json:"usage"`
	CostCents             *int   `json:"cost_cents,omitempty"`
	RemainingCreditsCents *int   `json:"remaining_credits_cents,omitempty"`
	// Redacted says the answer held the API key, replaced by [REDACTED]
	// in Content: a model can be made to repeat whatever reaches it.
	Redacted bool `json:"-"`
}
