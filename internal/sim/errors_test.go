package sim

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// with returns a copy of base with kv pairs set, or deleted when the value is nil.
func with(base map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// errorCase is one request that must answer a documented error.
type errorCase struct {
	method, path string
	key          string // "" means the harness key; "-" means none
	body         any
	contentType  string // when set, body is a string sent with this type
	faults       Faults
	credits      int // balance to set first: >0 that much, <0 zero
	wantStatus   int
	wantCode     string
	wantInMsg    string
}

func TestErrors(t *testing.T) {
	video := map[string]any{"model": "seedance-2.0/text-to-video", "prompt": "a cat", "duration": 8}
	image := map[string]any{"model": "bytedance/seedream-4.5", "prompt": "a city"}
	text := map[string]any{"prompt": "a tweet"}
	tests := map[string]errorCase{
		"models no key":               {method: "GET", path: "/api/v1/models", key: "-", wantStatus: 401, wantCode: "UNAUTHORIZED"},
		"models bad key":              {method: "GET", path: "/api/v1/models", key: "xp_wrong", wantStatus: 401, wantCode: "UNAUTHORIZED"},
		"models forced 429":           {method: "GET", path: "/api/v1/models", faults: Faults{Force429N: 1}, wantStatus: 429, wantCode: "RATE_LIMITED"},
		"models POST":                 {method: "POST", path: "/api/v1/models", body: "{}", wantStatus: 405, wantCode: "METHOD_NOT_ALLOWED"},
		"unknown path":                {method: "GET", path: "/api/v1/nope", wantStatus: 404, wantCode: "NOT_FOUND"},
		"video generate GET":          {method: "GET", path: "/api/v1/video/generate", wantStatus: 405, wantCode: "METHOD_NOT_ALLOWED"},
		"video no key":                {method: "POST", path: "/api/v1/video/generate", key: "-", body: video, wantStatus: 401, wantCode: "UNAUTHORIZED"},
		"video missing prompt":        {method: "POST", path: "/api/v1/video/generate", body: with(video, "prompt", nil), wantStatus: 400, wantCode: "INVALID_PARAMS", wantInMsg: "prompt"},
		"video empty prompt":          {method: "POST", path: "/api/v1/video/generate", body: with(video, "prompt", " "), wantStatus: 400, wantCode: "INVALID_PARAMS", wantInMsg: "prompt"},
		"video missing model":         {method: "POST", path: "/api/v1/video/generate", body: with(video, "model", nil), wantStatus: 400, wantCode: "INVALID_PARAMS", wantInMsg: "model"},
		"video unknown model":         {method: "POST", path: "/api/v1/video/generate", body: with(video, "model", "nope/v1"), wantStatus: 400, wantCode: "INVALID_MODEL", wantInMsg: "nope/v1"},
		"video text model":            {method: "POST", path: "/api/v1/video/generate", body: with(video, "model", "openai/gpt-4o"), wantStatus: 400, wantCode: "INVALID_MODEL", wantInMsg: "not a video model"},
		"video duration not offered":  {method: "POST", path: "/api/v1/video/generate", body: with(video, "duration", 6), wantStatus: 400, wantCode: "INVALID_PARAMS", wantInMsg: "duration"},
		"video duration default 5":    {method: "POST", path: "/api/v1/video/generate", body: with(video, "duration", nil), wantStatus: 400, wantCode: "INVALID_PARAMS", wantInMsg: "duration"},
		"video duration fractional":   {method: "POST", path: "/api/v1/video/generate", body: with(video, "duration", 8.5), wantStatus: 400, wantCode: "INVALID_PARAMS", wantInMsg: "duration"},
		"video duration string":       {method: "POST", path: "/api/v1/video/generate", body: with(video, "duration", "8"), wantStatus: 400, wantCode: "INVALID_PARAMS", wantInMsg: "duration"},
		"video audio as string":       {method: "POST", path: "/api/v1/video/generate", body: with(video, "generate_audio", "yes"), wantStatus: 400, wantCode: "INVALID_PARAMS", wantInMsg: "generate_audio"},
		"video bad aspect":            {method: "POST", path: "/api/v1/video/generate", body: with(video, "aspect_ratio", "2:1"), wantStatus: 400, wantCode: "INVALID_PARAMS", wantInMsg: "aspect_ratio"},
		"video i2v without image":     {method: "POST", path: "/api/v1/video/generate", body: with(video, "model", "seedance-2.0/image-to-video"), wantStatus: 400, wantCode: "INVALID_PARAMS", wantInMsg: "image_url"},
		"video i2v relative image":    {method: "POST", path: "/api/v1/video/generate", body: with(video, "model", "seedance-2.0/image-to-video", "image_url", "cat.png"), wantStatus: 400, wantCode: "INVALID_PARAMS", wantInMsg: "image_url"},
		"video lock_camera on wan":    {method: "POST", path: "/api/v1/video/generate", body: with(video, "model", "wan-2.6/text-to-video", "duration", 5, "lock_camera", true), wantStatus: 400, wantCode: "INVALID_PARAMS", wantInMsg: "lock_camera"},
		"video audio on wan 2.2":      {method: "POST", path: "/api/v1/video/generate", body: with(video, "model", "wan-2.2/image-to-video", "duration", 5, "image_url", "https://x.test/a.png", "generate_audio", true), wantStatus: 400, wantCode: "INVALID_PARAMS", wantInMsg: "generate_audio"},
		"video not JSON":              {method: "POST", path: "/api/v1/video/generate", body: "{not json", wantStatus: 400, wantCode: "INVALID_PARAMS", wantInMsg: "JSON"},
		"video JSON array":            {method: "POST", path: "/api/v1/video/generate", body: "[1]", wantStatus: 400, wantCode: "INVALID_PARAMS", wantInMsg: "JSON object"},
		"video broke":                 {method: "POST", path: "/api/v1/video/generate", body: video, credits: 479, wantStatus: 402, wantCode: "INSUFFICIENT_CREDITS"},
		"video forced 429":            {method: "POST", path: "/api/v1/video/generate", body: video, faults: Faults{Force429N: 1}, wantStatus: 429, wantCode: "RATE_LIMITED"},
		"video submit error":          {method: "POST", path: "/api/v1/video/generate", body: video, faults: Faults{SubmitErrorN: 1}, wantStatus: 500, wantCode: "GENERATION_FAILED"},
		"video poll POST":             {method: "POST", path: "/api/v1/video/abc", body: "{}", wantStatus: 405, wantCode: "METHOD_NOT_ALLOWED"},
		"video poll no key":           {method: "GET", path: "/api/v1/video/abc?provider=seedance", key: "-", wantStatus: 401, wantCode: "UNAUTHORIZED"},
		"video poll bad provider":     {method: "GET", path: "/api/v1/video/abc?provider=runway", wantStatus: 400, wantCode: "INVALID_PARAMS", wantInMsg: "provider"},
		"video poll no pollUrl":       {method: "GET", path: "/api/v1/video/abc", wantStatus: 400, wantCode: "INVALID_PARAMS", wantInMsg: "pollUrl"},
		"video poll unknown task":     {method: "GET", path: "/api/v1/video/abc?provider=seedance", wantStatus: 404, wantCode: "NOT_FOUND", wantInMsg: "abc"},
		"video poll forced 429":       {method: "GET", path: "/api/v1/video/abc?provider=seedance", faults: Faults{Force429N: 1}, wantStatus: 429, wantCode: "RATE_LIMITED"},
		"image no key":                {method: "POST", path: "/api/v1/image/generate", key: "-", body: image, wantStatus: 401, wantCode: "UNAUTHORIZED"},
		"image missing prompt":        {method: "POST", path: "/api/v1/image/generate", body: with(image, "prompt", nil), wantStatus: 400, wantCode: "INVALID_PARAMS", wantInMsg: "prompt"},
		"image unknown model":         {method: "POST", path: "/api/v1/image/generate", body: with(image, "model", "dall-e"), wantStatus: 400, wantCode: "INVALID_MODEL"},
		"image video model":           {method: "POST", path: "/api/v1/image/generate", body: with(image, "model", "wan-2.6/text-to-video"), wantStatus: 400, wantCode: "INVALID_MODEL"},
		"image bad mode":              {method: "POST", path: "/api/v1/image/generate", body: with(image, "mode", "inpaint"), wantStatus: 400, wantCode: "INVALID_PARAMS", wantInMsg: "mode"},
		"image i2i without image":     {method: "POST", path: "/api/v1/image/generate", body: with(image, "mode", "i2i"), wantStatus: 400, wantCode: "INVALID_PARAMS", wantInMsg: "image_url"},
		"image i2i_text without url":  {method: "POST", path: "/api/v1/image/generate", body: with(image, "mode", "i2i_text"), wantStatus: 400, wantCode: "INVALID_PARAMS", wantInMsg: "image_url"},
		"image bad image_urls":        {method: "POST", path: "/api/v1/image/generate", body: with(image, "image_urls", []string{"ftp://x/y"}), wantStatus: 400, wantCode: "INVALID_PARAMS", wantInMsg: "image_urls[0]"},
		"image bad aspect":            {method: "POST", path: "/api/v1/image/generate", body: with(image, "aspect_ratio", "16x9"), wantStatus: 400, wantCode: "INVALID_PARAMS", wantInMsg: "aspect_ratio"},
		"image broke":                 {method: "POST", path: "/api/v1/image/generate", body: image, credits: 4, wantStatus: 402, wantCode: "INSUFFICIENT_CREDITS"},
		"image submit error":          {method: "POST", path: "/api/v1/image/generate", body: image, faults: Faults{SubmitErrorN: 1}, wantStatus: 500, wantCode: "GENERATION_FAILED"},
		"image forced 429":            {method: "POST", path: "/api/v1/image/generate", body: image, faults: Faults{Force429N: 1}, wantStatus: 429, wantCode: "RATE_LIMITED"},
		"image poll no key":           {method: "GET", path: "/api/v1/image/img_1?provider=wavespeed&pollUrl=x", key: "-", wantStatus: 401, wantCode: "UNAUTHORIZED"},
		"image poll unknown":          {method: "GET", path: "/api/v1/image/img_1?provider=wavespeed&pollUrl=x", wantStatus: 404, wantCode: "NOT_FOUND"},
		"image poll no pollUrl":       {method: "GET", path: "/api/v1/image/img_1", wantStatus: 400, wantCode: "INVALID_PARAMS", wantInMsg: "pollUrl"},
		"text no key":                 {method: "POST", path: "/api/v1/text/generate", key: "-", body: text, wantStatus: 401, wantCode: "UNAUTHORIZED"},
		"text wrong content type":     {method: "POST", path: "/api/v1/text/generate", body: `{"prompt":"a tweet"}`, contentType: "text/plain", wantStatus: 400, wantCode: "INVALID_PARAMS", wantInMsg: "Content-Type"},
		"text missing prompt":         {method: "POST", path: "/api/v1/text/generate", body: map[string]any{}, wantStatus: 400, wantCode: "INVALID_PARAMS", wantInMsg: "prompt"},
		"text unknown model":          {method: "POST", path: "/api/v1/text/generate", body: with(text, "model", "gpt-5"), wantStatus: 400, wantCode: "INVALID_MODEL"},
		"text image model":            {method: "POST", path: "/api/v1/text/generate", body: with(text, "model", "flux/pro-async"), wantStatus: 400, wantCode: "INVALID_MODEL"},
		"text temperature high":       {method: "POST", path: "/api/v1/text/generate", body: with(text, "temperature", 2.5), wantStatus: 400, wantCode: "INVALID_PARAMS", wantInMsg: "temperature"},
		"text temperature negative":   {method: "POST", path: "/api/v1/text/generate", body: with(text, "temperature", -0.1), wantStatus: 400, wantCode: "INVALID_PARAMS", wantInMsg: "temperature"},
		"text max_tokens zero":        {method: "POST", path: "/api/v1/text/generate", body: with(text, "max_tokens", 0), wantStatus: 400, wantCode: "INVALID_PARAMS", wantInMsg: "max_tokens"},
		"text max_tokens fractional":  {method: "POST", path: "/api/v1/text/generate", body: with(text, "max_tokens", 2.5), wantStatus: 400, wantCode: "INVALID_PARAMS", wantInMsg: "max_tokens"},
		"text prompt number":          {method: "POST", path: "/api/v1/text/generate", body: with(text, "prompt", 3), wantStatus: 400, wantCode: "INVALID_PARAMS", wantInMsg: "prompt"},
		"text broke":                  {method: "POST", path: "/api/v1/text/generate", body: text, credits: -1, wantStatus: 402, wantCode: "INSUFFICIENT_CREDITS"},
		"text submit error":           {method: "POST", path: "/api/v1/text/generate", body: text, faults: Faults{SubmitErrorN: 1}, wantStatus: 500, wantCode: "GENERATION_FAILED"},
		"text forced 429":             {method: "POST", path: "/api/v1/text/generate", body: text, faults: Faults{Force429N: 1}, wantStatus: 429, wantCode: "RATE_LIMITED"},
		"text revoked-looking bearer": {method: "POST", path: "/api/v1/text/generate", key: "xp_sim_key_old", body: text, wantStatus: 401, wantCode: "UNAUTHORIZED"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) { checkError(t, tc) })
	}
}

// checkError sends tc to a fresh simulator and checks the error answer, and
// that nothing was charged and the key did not leak.
func checkError(t *testing.T, tc errorCase) {
	h := start(t, WithFaults(tc.faults))
	switch {
	case tc.credits > 0:
		h.run.Server.SetCredits(h.key, tc.credits)
	case tc.credits < 0:
		h.run.Server.SetCredits(h.key, 0)
	}
	key := tc.key
	switch key {
	case "":
		key = h.key
	case "-":
		key = ""
	}
	before := h.run.Server.Credits(h.key)
	var r reply
	if tc.contentType != "" {
		r = h.sendRaw(tc.method, tc.path, key, tc.contentType, tc.body.(string))
	} else {
		r = h.send(tc.method, tc.path, key, tc.body)
	}
	e := decodeInto[apiError](t, r)
	got := []any{r.status, e.Error.Code}
	want := []any{tc.wantStatus, tc.wantCode}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("status, code (-want +got):\n%s\nbody: %s", diff, r.body)
	}
	if e.Error.Message == "" || !strings.Contains(e.Error.Message, tc.wantInMsg) {
		t.Errorf("message = %q, want it to mention %q", e.Error.Message, tc.wantInMsg)
	}
	if strings.Contains(e.Error.Message, h.key) || (key != "" && strings.Contains(e.Error.Message, key)) {
		t.Errorf("message %q leaks the key", e.Error.Message)
	}
	if got := h.run.Server.Credits(h.key); got != before {
		t.Errorf("credits after error = %d, want unchanged %d", got, before)
	}
	if tc.wantStatus == 429 && r.header.Get("Retry-After") != "2" {
		t.Errorf("Retry-After = %q, want \"2\"", r.header.Get("Retry-After"))
	}
	if tc.wantStatus == 405 && r.header.Get("Allow") == "" {
		t.Errorf("405 without Allow header")
	}
}
