package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// aspectRatios are the ratios the API accepts, with the pixel size of the
// images the simulator draws for them (longer side 512).
var aspectRatios = map[string][2]int{
	"16:9": {512, 288},
	"9:16": {288, 512},
	"1:1":  {512, 512},
	"4:3":  {512, 384},
	"3:4":  {384, 512},
	"21:9": {512, 219},
}

var imageModes = []string{"t2i", "i2i", "i2i_text"}

type videoBody struct {
	Model         *string  `json:"model"`
	Prompt        *string  `json:"prompt"`
	Duration      *float64 `json:"duration"`
	AspectRatio   *string  `json:"aspect_ratio"`
	ImageURL      *string  `json:"image_url"`
	GenerateAudio *bool    `json:"generate_audio"`
	LockCamera    *bool    `json:"lock_camera"`
}

type imageBody struct {
	Model       *string  `json:"model"`
	Prompt      *string  `json:"prompt"`
	AspectRatio *string  `json:"aspect_ratio"`
	Mode        *string  `json:"mode"`
	ImageURL    *string  `json:"image_url"`
	ImageURLs   []string `json:"image_urls"`
}

type textBody struct {
	Model       *string  `json:"model"`
	Prompt      *string  `json:"prompt"`
	System      *string  `json:"system"`
	MaxTokens   *float64 `json:"max_tokens"`
	Temperature *float64 `json:"temperature"`
}

func invalid(format string, args ...any) *response {
	r := errorResponse(http.StatusBadRequest, CodeInvalidParams, fmt.Sprintf(format, args...))
	return &r
}

// decode parses a JSON object body into v. Unknown fields are ignored, as a
// typical API does; wrong types and malformed JSON are INVALID_PARAMS.
func decode(r *http.Request, body []byte, v any) *response {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return invalid("Content-Type must be application/json")
	}
	trimmed := strings.TrimSpace(string(body))
	if !strings.HasPrefix(trimmed, "{") {
		return invalid("request body must be a JSON object")
	}
	err = json.Unmarshal(body, v)
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &te):
		return invalid("%s: must be a %s, got %s", te.Field, jsonKind(te.Type.Kind().String()), te.Value)
	case err != nil:
		return invalid("request body is not valid JSON: %v", err)
	}
	return nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "float64", "int":
		return "number"
	case "ptr":
		return "value of another type"
	case "slice":
		return "array"
	}
	return goKind
}

// required returns the trimmed value of a required string field.
func required(name string, p *string) (string, *response) {
	if p == nil || strings.TrimSpace(*p) == "" {
		return "", invalid("%s is required", name)
	}
	return *p, nil
}

// aspect validates an optional aspect ratio, returning def when omitted.
func aspect(p *string, def string) (string, *response) {
	if p == nil {
		return def, nil
	}
	if _, ok := aspectRatios[*p]; !ok {
		return "", invalid("aspect_ratio: %q is not one of 16:9, 9:16, 1:1, 4:3, 3:4, 21:9", *p)
	}
	return *p, nil
}

// httpURL validates an image URL: absolute http or https.
func httpURL(name, s string) *response {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return invalid("%s: %q is not an http(s) URL", name, s)
	}
	return nil
}

// wholeNumber returns *p as an int if it is a whole number.
func wholeNumber(name string, p *float64) (int, *response) {
	if *p != math.Trunc(*p) || math.Abs(*p) > 1e9 {
		return 0, invalid("%s: must be a whole number, got %v", name, *p)
	}
	return int(*p), nil
}

// videoRequest is a validated video generate request.
type videoRequest struct {
	m        *model
	prompt   string
	duration int
	aspect   string
}

func (s *Server) validateVideo(b *videoBody) (videoRequest, *response) {
	var v videoRequest
	id, e := required("model", b.Model)
	if e != nil {
		return v, e
	}
	if v.m, e = s.cat.lookup(id, kindVideo); e != nil {
		return v, e
	}
	if v.prompt, e = required("prompt", b.Prompt); e != nil {
		return v, e
	}
	v.duration = 5
	if b.Duration != nil {
		if v.duration, e = wholeNumber("duration", b.Duration); e != nil {
			return v, e
		}
	}
	if !slices.Contains(v.m.Durations, v.duration) {
		return v, invalid("duration: %d s is not supported by %s (supported: %v; the default is 5)", v.duration, v.m.ID, v.m.Durations)
	}
	if v.aspect, e = aspect(b.AspectRatio, "16:9"); e != nil {
		return v, e
	}
	if v.m.Mode == "image-to-video" {
		if b.ImageURL == nil || *b.ImageURL == "" {
			return v, invalid("image_url is required for image-to-video model %s", v.m.ID)
		}
		if e = httpURL("image_url", *b.ImageURL); e != nil {
			return v, e
		}
	}
	if b.GenerateAudio != nil && *b.GenerateAudio && !v.m.SupportsAudio {
		return v, invalid("generate_audio: model %s does not support audio", v.m.ID)
	}
	if b.LockCamera != nil && *b.LockCamera && !v.m.SupportsLockCamera {
		return v, invalid("lock_camera: model %s does not support lock_camera", v.m.ID)
	}
	return v, nil
}

// imageRequest is a validated image generate request.
type imageRequest struct {
	m      *model
	prompt string
	aspect string
}

func (s *Server) validateImage(b *imageBody) (imageRequest, *response) {
	var v imageRequest
	id, e := required("model", b.Model)
	if e != nil {
		return v, e
	}
	if v.m, e = s.cat.lookup(id, kindImage); e != nil {
		return v, e
	}
	if v.prompt, e = required("prompt", b.Prompt); e != nil {
		return v, e
	}
	if v.aspect, e = aspect(b.AspectRatio, "1:1"); e != nil {
		return v, e
	}
	mode := "t2i"
	if b.Mode != nil {
		mode = *b.Mode
	}
	if !slices.Contains(imageModes, mode) {
		return v, invalid("mode: %q is not one of t2i, i2i, i2i_text", mode)
	}
	if mode != "t2i" && (b.ImageURL == nil || *b.ImageURL == "") {
		return v, invalid("image_url is required for mode %s", mode)
	}
	if b.ImageURL != nil && *b.ImageURL != "" {
		if e = httpURL("image_url", *b.ImageURL); e != nil {
			return v, e
		}
	}
	for i, u := range b.ImageURLs {
		if e = httpURL(fmt.Sprintf("image_urls[%d]", i), u); e != nil {
			return v, e
		}
	}
	return v, nil
}

// textRequest is a validated text generate request.
type textRequest struct {
	m           *model
	prompt      string
	system      string
	maxTokens   int
	temperature float64
}

func (s *Server) validateText(b *textBody) (textRequest, *response) {
	v := textRequest{maxTokens: 1000, temperature: 0.7}
	id := "openai/gpt-4o"
	if b.Model != nil {
		id = *b.Model
	}
	var e *response
	if v.m, e = s.cat.lookup(id, kindText); e != nil {
		return v, e
	}
	if v.prompt, e = required("prompt", b.Prompt); e != nil {
		return v, e
	}
	if b.System != nil {
		v.system = *b.System
	}
	if b.MaxTokens != nil {
		if v.maxTokens, e = wholeNumber("max_tokens", b.MaxTokens); e != nil {
			return v, e
		}
		if v.maxTokens <= 0 {
			return v, invalid("max_tokens: must be positive, got %d", v.maxTokens)
		}
	}
	if b.Temperature != nil {
		v.temperature = *b.Temperature
		if v.temperature < 0 || v.temperature > 2 {
			return v, invalid("temperature: must be between 0 and 2, got %v", v.temperature)
		}
	}
	return v, nil
}
