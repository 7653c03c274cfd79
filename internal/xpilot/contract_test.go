package xpilot_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/xpflow/xpflow/internal/clock"
	"github.com/xpflow/xpflow/internal/sim"
	"github.com/xpflow/xpflow/internal/xpilot"
)

// The contract tests run the client against the simulator over loopback:
// whatever the client and the simulator agree on here is what the API
// document says, since both are built from it.

const simKey = "xp_contract_key_5d1e"

var start = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// env is one simulator and a client of it on a shared fake clock.
type env struct {
	r *sim.Running
	f *clock.Fake
	c *xpilot.Client
}

func newEnv(t *testing.T, clientLimit int, opts ...sim.Option) *env {
	t.Helper()
	f := clock.NewFake(start)
	opts = append([]sim.Option{sim.WithKey(simKey, 10000), sim.WithClock(f), sim.WithSeed(7),
		sim.WithLatency("video", 30*time.Second, 60*time.Second), sim.WithLatency("image", 5*time.Second, 10*time.Second)}, opts...)
	r, err := sim.Start("", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	c, err := xpilot.New(xpilot.Config{BaseURL: r.URL, APIKey: r.Key, RequestsPerMinute: clientLimit, Clock: f, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	go func() { // pass backoffs and limiter waits at once, in order
		for f.WaitForTimers(1, done) {
			if next, ok := f.Next(); ok {
				f.Set(next)
			}
		}
	}()
	return &env{r: r, f: f, c: c}
}

// log renders the simulator's log as "endpoint status" lines.
func (e *env) log() []string {
	var out []string
	for _, r := range e.r.Server.Log() {
		out = append(out, fmt.Sprintf("%s %d", r.Endpoint, r.Status))
	}
	return out
}

// pollUntilDone advances the clock past the longest latency and polls.
func (e *env) pollUntilDone(pollURL string) (*xpilot.Task, error) {
	if _, err := e.c.Poll(context.Background(), pollURL); err != nil {
		return nil, err
	}
	e.f.Advance(61 * time.Second)
	return e.c.Poll(context.Background(), pollURL)
}

func ptr[T any](v T) *T { return &v }

type contractCase struct {
	opts        []sim.Option
	prepare     func(e *env)
	call        func(e *env) (any, error)
	check       func(t *testing.T, e *env, got any) // optional, on success
	wantCode    string                              // APIError code; "" for success
	wantUnknown bool
	wantLog     []string
	wantCharged int
}

func videoCall(req xpilot.VideoRequest, poll bool) func(e *env) (any, error) {
	return func(e *env) (any, error) {
		task, err := e.c.GenerateVideo(context.Background(), req)
		if err != nil || !poll {
			return task, err
		}
		return e.pollUntilDone(task.PollURL)
	}
}

func imageCall(req xpilot.ImageRequest, poll bool) func(e *env) (any, error) {
	return func(e *env) (any, error) {
		task, err := e.c.GenerateImage(context.Background(), req)
		if err != nil || !poll {
			return task, err
		}
		return e.pollUntilDone(task.PollURL)
	}
}

func textCall(req xpilot.TextRequest) func(e *env) (any, error) {
	return func(e *env) (any, error) { return e.c.GenerateText(context.Background(), req) }
}

// completed checks a finished task whose outputs are served by the
// simulator's CDN.
func completed(t *testing.T, e *env, got any) {
	task := got.(*xpilot.Task)
	if task.Status != xpilot.StatusCompleted || len(task.Outputs) == 0 || !strings.HasPrefix(task.Outputs[0], e.r.URL+"/cdn/") {
		t.Errorf("got task %+v, want completed with outputs on %s/cdn/", task, e.r.URL)
	}
}

var seedance8 = xpilot.VideoRequest{Model: "seedance-2.0/text-to-video", Prompt: "A cat walking on a beach at sunset",
	Duration: ptr(8), AspectRatio: "16:9", GenerateAudio: ptr(true), LockCamera: ptr(false)}

func successCases() map[string]contractCase {
	return map[string]contractCase{
		"video/seedance text-to-video polled to completion": {
			call:        videoCall(seedance8, true),
			check:       completed,
			wantLog:     []string{"video.generate 200", "video.poll 200", "video.poll 200"},
			wantCharged: 480,
		},
		"video/seedance image-to-video": {
			call: videoCall(xpilot.VideoRequest{Model: "seedance-2.0/image-to-video", Prompt: "zoom",
				Duration: ptr(4), ImageURL: "https://cdn.example.com/in.png"}, true),
			check:       completed,
			wantLog:     []string{"video.generate 200", "video.poll 200", "video.poll 200"},
			wantCharged: 240,
		},
		"video/wavespeed polled through pollUrl": {
			call: videoCall(xpilot.VideoRequest{Model: "wan-2.6/text-to-video", Prompt: "a meadow", Duration: ptr(10)}, true),
			check: func(t *testing.T, e *env, got any) {
				completed(t, e, got)
				if q := e.r.Server.Log()[1].RawQuery; !strings.Contains(q, "provider=wavespeed") || !strings.Contains(q, "pollUrl=") {
					t.Errorf("poll query %q lacks provider and pollUrl", q)
				}
			},
			wantLog:     []string{"video.generate 200", "video.poll 200", "video.poll 200"},
			wantCharged: 300,
		},
		"video/submit answer carries cost and balance": {
			call: videoCall(seedance8, false),
			check: func(t *testing.T, e *env, got any) {
				task := got.(*xpilot.Task)
				want := []any{xpilot.StatusProcessing, "seedance", 480, 10000 - 480}
				gotv := []any{task.Status, task.Provider, *task.CostCents, *task.RemainingCreditsCents}
				if diff := cmp.Diff(want, gotv); diff != "" {
					t.Errorf("submit answer (-want +got):\n%s", diff)
				}
			},
			wantLog:     []string{"video.generate 200"},
			wantCharged: 480,
		},
		"image/sync seedream": {
			call: imageCall(xpilot.ImageRequest{Model: "bytedance/seedream-4.5", Prompt: "A futuristic cityscape at dawn", AspectRatio: "16:9"}, false),
			check: func(t *testing.T, e *env, got any) {
				completed(t, e, got)
				if got.(*xpilot.Task).PollURL != "" {
					t.Errorf("a sync image carries a poll_url")
				}
			},
			wantLog:     []string{"image.generate 200"},
			wantCharged: 5,
		},
		"image/async flux polled to completion": {
			call:        imageCall(xpilot.ImageRequest{Model: "flux/pro-async", Prompt: "a lighthouse", Mode: "t2i"}, true),
			check:       completed,
			wantLog:     []string{"image.generate 200", "image.poll 200", "image.poll 200"},
			wantCharged: 8,
		},
		"text/gpt-4o": {
			call: textCall(xpilot.TextRequest{Model: "openai/gpt-4o", Prompt: "Write a tweet about AI video generation", MaxTokens: ptr(280)}),
			check: func(t *testing.T, e *env, got any) {
				if res := got.(*xpilot.TextResult); res.Content == "" || res.Usage.TotalTokens == 0 || *res.CostCents != 1 {
					t.Errorf("got %+v, want content, usage and cost 1", res)
				}
			},
			wantLog:     []string{"text.generate 200"},
			wantCharged: 1,
		},
		"text/second model, default fields": {
			call:        textCall(xpilot.TextRequest{Model: "anthropic/claude-sonnet", Prompt: "hello", System: "be brief", Temperature: ptr(0.2)}),
			wantLog:     []string{"text.generate 200"},
			wantCharged: 2,
		},
		"models/catalog as documented": {
			call: func(e *env) (any, error) { return e.c.Models(context.Background()) },
			check: func(t *testing.T, e *env, got any) {
				cat := got.(*xpilot.Catalog)
				want := xpilot.Model{ID: "seedance-2.0/text-to-video", Label: "Seedance 2.0", Type: "video", Tier: "premium",
					SupportsAudio: true, SupportsLockCamera: true, Durations: []int{4, 8, 12}, CostCentsPer5s: ptr(300),
					Mode: "text-to-video", Provider: "seedance"}
				m, _ := cat.Lookup(want.ID)
				if diff := cmp.Diff(want, m); diff != "" {
					t.Errorf("documented model (-want +got):\n%s", diff)
				}
				for _, id := range []string{"openai/gpt-4o", "bytedance/seedream-4.5", "flux/pro-async", "anthropic/claude-sonnet"} {
					if m, ok := cat.Lookup(id); !ok || m.Priced() {
						t.Errorf("model %s: found %v, priced %v; want found and unpriced", id, ok, m.Priced())
					}
				}
			},
			wantLog: []string{"models 200"},
		},
	}
}

func errorCases() map[string]contractCase {
	return map[string]contractCase{
		"video/INVALID_PARAMS empty prompt": {
			call:     videoCall(xpilot.VideoRequest{Model: "seedance-2.0/text-to-video", Duration: ptr(4)}, false),
			wantCode: xpilot.CodeInvalidParams, wantLog: []string{"video.generate 400"},
		},
		"video/INVALID_PARAMS default duration 5 on seedance": {
			call:     videoCall(xpilot.VideoRequest{Model: "seedance-2.0/text-to-video", Prompt: "x"}, false),
			wantCode: xpilot.CodeInvalidParams, wantLog: []string{"video.generate 400"},
		},
		"video/INVALID_MODEL": {
			call:     videoCall(xpilot.VideoRequest{Model: "nope/none", Prompt: "x"}, false),
			wantCode: xpilot.CodeInvalidModel, wantLog: []string{"video.generate 400"},
		},
		"image/INVALID_MODEL video model on image endpoint": {
			call:     imageCall(xpilot.ImageRequest{Model: "seedance-2.0/text-to-video", Prompt: "x"}, false),
			wantCode: xpilot.CodeInvalidModel, wantLog: []string{"image.generate 400"},
		},
		"text/INVALID_PARAMS temperature": {
			call:     textCall(xpilot.TextRequest{Prompt: "x", Temperature: ptr(2.5)}),
			wantCode: xpilot.CodeInvalidParams, wantLog: []string{"text.generate 400"},
		},
		"models/UNAUTHORIZED revoked key is not retried": {
			prepare:  func(e *env) { e.r.Server.RevokeKey(simKey) },
			call:     func(e *env) (any, error) { return e.c.Models(context.Background()) },
			wantCode: xpilot.CodeUnauthorized, wantLog: []string{"models 401"},
		},
		"video/INSUFFICIENT_CREDITS charges nothing": {
			prepare:  func(e *env) { e.r.Server.SetCredits(simKey, 479) },
			call:     videoCall(seedance8, false),
			wantCode: xpilot.CodeInsufficientCredits, wantLog: []string{"video.generate 402"},
		},
		"video/credit exhaustion after two submits": {
			prepare: func(e *env) { e.r.Server.SetCredits(simKey, 600) },
			call: func(e *env) (any, error) {
				req := seedance8
				req.Duration = ptr(4)
				for i := 0; i < 3; i++ {
					task, err := e.c.GenerateVideo(context.Background(), req)
					if err != nil {
						return nil, err
					}
					if want := 600 - 240*(i+1); *task.RemainingCreditsCents != want {
						return nil, fmt.Errorf("remaining %d, want %d", *task.RemainingCreditsCents, want)
					}
				}
				return nil, nil
			},
			wantCode:    xpilot.CodeInsufficientCredits,
			wantLog:     []string{"video.generate 200", "video.generate 200", "video.generate 402"},
			wantCharged: 480,
		},
		"image/RATE_LIMITED forced twice, then accepted and charged once": {
			opts:        []sim.Option{sim.WithFaults(sim.Faults{Force429N: 2, RetryAfter: 5 * time.Second})},
			call:        imageCall(xpilot.ImageRequest{Model: "bytedance/seedream-4.5", Prompt: "x"}, false),
			check:       completed,
			wantLog:     []string{"image.generate 429", "image.generate 429", "image.generate 200"},
			wantCharged: 5,
		},
		"video/GENERATION_FAILED twice, then accepted": {
			opts:        []sim.Option{sim.WithFaults(sim.Faults{SubmitErrorN: 2})},
			call:        videoCall(seedance8, false),
			wantLog:     []string{"video.generate 500", "video.generate 500", "video.generate 200"},
			wantCharged: 480,
		},
		"video/GENERATION_FAILED every time gives up after 3 resends": {
			opts:     []sim.Option{sim.WithFaults(sim.Faults{SubmitErrorRate: 1})},
			call:     videoCall(seedance8, false),
			wantCode: xpilot.CodeGenerationFailed,
			wantLog:  []string{"video.generate 500", "video.generate 500", "video.generate 500", "video.generate 500"},
		},
		"video/dropped connection is an unknown outcome, not resent": {
			opts:        []sim.Option{sim.WithFaults(sim.Faults{DropConnN: 1})},
			call:        videoCall(seedance8, false),
			wantUnknown: true, wantLog: []string{"video.generate 0"},
		},
		"text/truncated answer is an unknown outcome, charged once": {
			opts:        []sim.Option{sim.WithFaults(sim.Faults{TruncateJSONN: 1})},
			call:        textCall(xpilot.TextRequest{Prompt: "x"}),
			wantUnknown: true, wantCode: xpilot.CodeBadResponse,
			wantLog: []string{"text.generate 200"}, wantCharged: 1,
		},
		"models/dropped connections are retried": {
			opts:    []sim.Option{sim.WithFaults(sim.Faults{DropConnN: 2})},
			call:    func(e *env) (any, error) { return e.c.Models(context.Background()) },
			wantLog: []string{"models 0", "models 0", "models 200"},
		},
		"video/poll of a seedance task without provider fails": {
			call: func(e *env) (any, error) {
				task, err := e.c.GenerateVideo(context.Background(), seedance8)
				if err != nil {
					return nil, err
				}
				return e.c.Poll(context.Background(), "/api/v1/video/"+task.TaskID)
			},
			wantCode: xpilot.CodeInvalidParams, wantLog: []string{"video.generate 200", "video.poll 400"},
			wantCharged: 480,
		},
		"video/poll of an unknown task is not found": {
			call: func(e *env) (any, error) {
				return e.c.Poll(context.Background(), "/api/v1/video/nope?provider=seedance")
			},
			wantCode: "NOT_FOUND", wantLog: []string{"video.poll 404"},
		},
		"image/truncated poll answers are retried": {
			call: func(e *env) (any, error) {
				task, err := e.c.GenerateImage(context.Background(), xpilot.ImageRequest{Model: "flux/pro-async", Prompt: "x"})
				if err != nil {
					return nil, err
				}
				e.r.Server.SetFaults(sim.Faults{TruncateJSONN: 2})
				return e.c.Poll(context.Background(), task.PollURL)
			},
			wantLog:     []string{"image.generate 200", "image.poll 200", "image.poll 200", "image.poll 200"},
			wantCharged: 8,
		},
	}
}

func TestContractWithSimulator(t *testing.T) {
	cases := successCases()
	for name, tc := range errorCases() {
		cases[name] = tc
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, 30, tc.opts...)
			if tc.prepare != nil {
				tc.prepare(e)
			}
			before := e.r.Server.Credits(simKey)
			got, err := tc.call(e)
			switch {
			case tc.wantCode == "" && !tc.wantUnknown:
				if err != nil {
					t.Fatalf("got error %v, want success", err)
				}
				if tc.check != nil {
					tc.check(t, e, got)
				}
			default:
				var ae *xpilot.APIError
				if tc.wantCode != "" && (!errors.As(err, &ae) || ae.Code != tc.wantCode) {
					t.Errorf("got error %v, want *APIError %s", err, tc.wantCode)
				}
				if gotUnknown := errors.Is(err, xpilot.ErrUnknownOutcome); gotUnknown != tc.wantUnknown {
					t.Errorf("got error %v: unknown outcome %v, want %v", err, gotUnknown, tc.wantUnknown)
				}
				if err != nil && strings.Contains(err.Error(), simKey) {
					t.Errorf("error leaks the key: %v", err)
				}
			}
			if diff := cmp.Diff(tc.wantLog, e.log()); diff != "" {
				t.Errorf("simulator log (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantCharged, before-e.r.Server.Credits(simKey)); diff != "" {
				t.Errorf("credits charged (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(int64(len(tc.wantLog)), e.c.Requests()); diff != "" {
				t.Errorf("client's request count (-want +got):\n%s", diff)
			}
		})
	}
}

func TestContractRateLimit(t *testing.T) {
	tests := map[string]struct {
		clientLimit, simLimit, calls int
		wantLimited                  bool
	}{
		"client limiter matches the key: never a 429":            {clientLimit: 30, simLimit: 30, calls: 70},
		"client limiter far above the key: 429s paused, no loss": {clientLimit: 1000, simLimit: 30, calls: 70, wantLimited: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, tc.clientLimit, sim.WithRateLimit(tc.simLimit))
			var wg sync.WaitGroup
			errs := make(chan error, tc.calls)
			for i := 0; i < tc.calls; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := e.c.Models(context.Background()); err != nil {
						errs <- err
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Errorf("call failed: %v", err)
			}
			cnt := e.r.Server.Counters()
			if got := cnt.Status[200]; got != tc.calls {
				t.Errorf("got %d successful requests, want %d", got, tc.calls)
			}
			if got := cnt.RateLimited > 0; got != tc.wantLimited {
				t.Errorf("got %d rate-limited answers, want some: %v", cnt.RateLimited, tc.wantLimited)
			}
			if tc.clientLimit > tc.simLimit {
				return // the simulator enforced the window, not the client
			}
			// The client alone kept every window of arrivals within the
			// limit, although the server stamps a request some time after
			// its grant.
			var at []time.Time
			for _, r := range e.r.Server.Log() {
				if r.Status == 200 {
					at = append(at, r.At)
				}
			}
			for i := range at {
				n := 0
				for _, b := range at[i:] {
					if b.Sub(at[i]) < time.Minute {
						n++
					}
				}
				if n > tc.simLimit {
					t.Fatalf("%d accepted requests within a minute of %v, want <= %d", n, at[i].Sub(start), tc.simLimit)
				}
			}
		})
	}
}
