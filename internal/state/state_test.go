package state

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSamplesQuantile(t *testing.T) {
	tests := map[string]struct {
		seconds []float64
		q       float64
		want    float64
		wantOK  bool
	}{
		"empty":               {seconds: nil, q: 0.5, wantOK: false},
		"NaN q":               {seconds: []float64{1}, q: math.NaN(), wantOK: false},
		"one sample":          {seconds: []float64{7}, q: 0.9, want: 7, wantOK: true},
		"median odd":          {seconds: []float64{3, 1, 2}, q: 0.5, want: 2, wantOK: true},
		"median even":         {seconds: []float64{4, 1, 3, 2}, q: 0.5, want: 2.5, wantOK: true},
		"min":                 {seconds: []float64{5, 1, 9}, q: 0, want: 1, wantOK: true},
		"max":                 {seconds: []float64{5, 1, 9}, q: 1, want: 9, wantOK: true},
		"interpolated p90":    {seconds: []float64{10, 20, 30, 40, 50}, q: 0.9, want: 46, wantOK: true},
		"interpolated p25":    {seconds: []float64{0, 100}, q: 0.25, want: 25, wantOK: true},
		"q below 0 clamps":    {seconds: []float64{2, 4}, q: -1, want: 2, wantOK: true},
		"q above 1 clamps":    {seconds: []float64{2, 4}, q: 3, want: 4, wantOK: true},
		"duplicates and zero": {seconds: []float64{0, 0, 0, 8}, q: 0.5, want: 0, wantOK: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := &Samples{Seconds: tc.seconds}
			before := append([]float64(nil), tc.seconds...)
			got, ok := s.Quantile(tc.q)
			if ok != tc.wantOK {
				t.Fatalf("Quantile(%v) ok = %v, want %v", tc.q, ok, tc.wantOK)
			}
			if math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("Quantile(%v) = %v, want %v", tc.q, got, tc.want)
			}
			if diff := cmp.Diff(before, s.Seconds); diff != "" {
				t.Errorf("Quantile reordered the samples (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSamplesQuantileNil(t *testing.T) {
	var s *Samples
	if got, ok := s.Quantile(0.5); ok {
		t.Errorf("nil Samples: Quantile = %v, true; want false", got)
	}
}

func TestSamplesAdd(t *testing.T) {
	tests := map[string]struct {
		adds int
		want []float64
	}{
		"under cap": {adds: 3, want: []float64{1, 2, 3}},
		"at cap":    {adds: MaxSamples, want: seq(1, MaxSamples)},
		"over cap":  {adds: MaxSamples + 7, want: seq(8, MaxSamples+7)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var s Samples
			for i := 1; i <= tc.adds; i++ {
				s.Add(float64(i))
			}
			if diff := cmp.Diff(tc.want, s.Seconds); diff != "" {
				t.Errorf("Seconds after %d adds (-want +got):\n%s", tc.adds, diff)
			}
		})
	}
}

func seq(from, to int) []float64 {
	var out []float64
	for i := from; i <= to; i++ {
		out = append(out, float64(i))
	}
	return out
}

func TestNewLineage(t *testing.T) {
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 100 {
		s := New()
		if s.Version != Version || s.Serial != 0 || s.Assets == nil {
			t.Fatalf("New() = %+v, want version %d, serial 0, empty assets", s, Version)
		}
		if !uuid.MatchString(s.Lineage) {
			t.Fatalf("New().Lineage = %q, want a version-4 UUID", s.Lineage)
		}
		if seen[s.Lineage] {
			t.Fatalf("New() repeated lineage %q", s.Lineage)
		}
		seen[s.Lineage] = true
	}
}

// fullState returns a state with every field set, as Decode returns it.
func fullState() *State {
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	cost := 300
	oldCost := 240
	return &State{
		Version: Version,
		Serial:  4,
		Lineage: "0b5e6f8a-1c2d-4e3f-8a9b-0c1d2e3f4a5b",
		Assets: map[string]*Asset{
			`video.spot["aurora"]`: {
				Address:     `video.spot["aurora"]`,
				Kind:        "video",
				Model:       "seedance-2.0/text-to-video",
				RequestHash: "sha256:abc",
				Request: map[string]any{
					"prompt":   "aurora over a fjord",
					"duration": json.Number("8"),
					"seed":     json.Number("9007199254740993"),
					"audio":    true,
					"refs":     []any{"a", json.Number("1.5"), nil},
					"nested":   map[string]any{"k": "v"},
				},
				DependsOn:   []string{"text.script"},
				Status:      StatusCompleted,
				TaskID:      "abc123",
				PollURL:     "/api/v1/video/abc123?provider=seedance",
				Provider:    "seedance",
				Outputs:     []Output{{URL: "https://cdn.example.com/v.mp4", File: "out/aurora.mp4", SHA256: "ff00", Bytes: 1234}},
				CostCents:   &cost,
				IntentAt:    at,
				SubmittedAt: at.Add(time.Second),
				CompletedAt: at.Add(time.Minute),
				Takes: []Take{{
					RequestHash: "sha256:old",
					Request:     map[string]any{"prompt": "aurora", "refs": []any{"x"}},
					TaskID:      "old123",
					Outputs:     []Output{{URL: "https://cdn.example.com/old.mp4", File: "out/aurora.0123abcd.mp4", SHA256: "0123abcd", Bytes: 99}},
					CostCents:   &oldCost,
					CompletedAt: at.Add(-time.Hour),
				}, {
					RequestHash: "sha256:older-text",
					Content:     "an earlier answer",
				}},
			},
			"text.script": {
				Address:     "text.script",
				Kind:        "text",
				RequestHash: "sha256:def",
				Status:      StatusFailed,
				Content:     "héllo \u2028 \"quoted\"",
				Usage:       &Usage{PromptTokens: 1, CompletionTokens: 2, TotalTokens: 3},
				Error:       "GENERATION_FAILED: upstream",
			},
			"image.hero": {Address: "image.hero", Kind: "image", RequestHash: "h", Status: StatusIntent, IntentAt: at},
			"image.next": {Address: "image.next", Kind: "image", RequestHash: "h", Status: StatusSubmitted},
		},
		Models: map[string]*ModelStats{
			"seedance-2.0/text-to-video": {
				Latency: map[string]*Samples{"8": {Seconds: []float64{61.5, 70.25}}},
				Prices:  map[string]*Price{"8": {Cents: 480, Count: 3, At: at}},
			},
			"openai/gpt-4o": {Latency: map[string]*Samples{"": {Seconds: []float64{1}}}},
		},
		Balance: &Balance{Cents: 4700, At: at},
	}
}

func TestClone(t *testing.T) {
	orig := fullState()
	c := orig.Clone()
	if diff := cmp.Diff(orig, c); diff != "" {
		t.Fatalf("Clone differs (-orig +clone):\n%s", diff)
	}
	// Mutate everything reachable from the clone; the original must not move.
	a := c.Assets[`video.spot["aurora"]`]
	a.Request["prompt"] = "changed"
	a.Request["refs"].([]any)[0] = "changed"
	a.Request["nested"].(map[string]any)["k"] = "changed"
	a.DependsOn[0] = "changed"
	a.Outputs[0].URL = "changed"
	*a.CostCents = 1
	a.Takes[0].Request["prompt"] = "changed"
	a.Takes[0].Request["refs"].([]any)[0] = "changed"
	a.Takes[0].Outputs[0].File = "changed"
	*a.Takes[0].CostCents = 1
	a.Takes[1].Content = "changed"
	a.Takes = append(a.Takes[:1], Take{RequestHash: "new"})
	c.Assets["text.script"].Usage.TotalTokens = 99
	c.Models["seedance-2.0/text-to-video"].Latency["8"].Seconds[0] = -1
	c.Models["seedance-2.0/text-to-video"].Prices["8"].Cents = -1
	c.Balance.Cents = -1
	c.Assets["new"] = &Asset{}
	if diff := cmp.Diff(fullState(), orig); diff != "" {
		t.Errorf("mutating the clone changed the original (-want +got):\n%s", diff)
	}
}

func TestCloneRequestOfOtherTypes(t *testing.T) {
	n := 3
	orig := map[string]any{
		"strings": []string{"a", "b"},
		"ints":    map[string]int{"x": 1},
		"ptr":     &n,
		"array":   [2][]int{{1}, {2}},
	}
	s := New()
	s.Assets["a"] = &Asset{Address: "a", Status: StatusIntent, Request: orig}
	c := s.Clone().Assets["a"].Request
	c["strings"].([]string)[0] = "changed"
	c["ints"].(map[string]int)["x"] = 2
	*c["ptr"].(*int) = 4
	arr := c["array"].([2][]int)
	arr[0][0] = 9
	got := fmt.Sprint(orig["strings"], orig["ints"], *orig["ptr"].(*int), orig["array"])
	want := "[a b] map[x:1] 3 [[1] [2]]"
	if got != want {
		t.Errorf("original after mutating clone = %q, want %q", got, want)
	}
}
