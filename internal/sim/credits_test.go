package sim

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPrices(t *testing.T) {
	tests := map[string]struct {
		path     string
		body     map[string]any
		wantCost int
	}{
		"seedance 4 s":       {"/api/v1/video/generate", map[string]any{"model": "seedance-2.0/text-to-video", "prompt": "p", "duration": 4}, 240},
		"seedance 8 s":       {"/api/v1/video/generate", map[string]any{"model": "seedance-2.0/text-to-video", "prompt": "p", "duration": 8}, 480},
		"seedance i2v 12 s":  {"/api/v1/video/generate", map[string]any{"model": "seedance-2.0/image-to-video", "prompt": "p", "duration": 12, "image_url": "https://x.test/a.png"}, 720},
		"wan default 5 s":    {"/api/v1/video/generate", map[string]any{"model": "wan-2.6/text-to-video", "prompt": "p"}, 150},
		"wan 10 s":           {"/api/v1/video/generate", map[string]any{"model": "wan-2.6/text-to-video", "prompt": "p", "duration": 10, "generate_audio": true}, 300},
		"wan 2.2 i2v":        {"/api/v1/video/generate", map[string]any{"model": "wan-2.2/image-to-video", "prompt": "p", "image_url": "http://x.test/a.png", "generate_audio": false}, 80},
		"seedream":           {"/api/v1/image/generate", map[string]any{"model": "bytedance/seedream-4.5", "prompt": "p"}, 5},
		"seedream i2i":       {"/api/v1/image/generate", map[string]any{"model": "bytedance/seedream-4.5", "prompt": "p", "mode": "i2i", "image_url": "https://x.test/a.png"}, 5},
		"flux async":         {"/api/v1/image/generate", map[string]any{"model": "flux/pro-async", "prompt": "p"}, 8},
		"gpt-4o default":     {"/api/v1/text/generate", map[string]any{"prompt": "p"}, 1},
		"claude":             {"/api/v1/text/generate", map[string]any{"model": "anthropic/claude-sonnet", "prompt": "p"}, 2},
		"unknown fields too": {"/api/v1/text/generate", map[string]any{"prompt": "p", "stream": true}, 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := start(t, WithKey("xp_k", 1000))
			r := h.post(tc.path, tc.body)
			if r.status != 200 {
				t.Fatalf("status = %d, want 200; body %s", r.status, r.body)
			}
			got := decodeInto[genResult](t, r)
			want := []any{ptr(tc.wantCost), ptr(1000 - tc.wantCost), 1000 - tc.wantCost, tc.wantCost}
			if diff := cmp.Diff(want, []any{got.CostCents, got.Remaining, h.run.Server.Credits("xp_k"), h.run.Server.Counters().ChargedCents}); diff != "" {
				t.Errorf("cost, remaining, balance, charged (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCreditExhaustion(t *testing.T) {
	h := start(t, WithKey("xp_k", 1000), WithRateLimit(0))
	body := map[string]any{"model": "seedance-2.0/text-to-video", "prompt": "p", "duration": 8}
	var got []int
	for range 4 {
		got = append(got, h.post("/api/v1/video/generate", body).status)
	}
	got = append(got, h.run.Server.Credits("xp_k"))
	h.run.Server.SetCredits("xp_k", 480)
	got = append(got, h.post("/api/v1/video/generate", body).status, h.run.Server.Credits("xp_k"))
	want := []int{200, 200, 402, 402, 40, 200, 0}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statuses and balances (-want +got):\n%s", diff)
	}
	var charged []int
	for _, e := range h.run.Server.Log() {
		charged = append(charged, e.Charged)
	}
	if diff := cmp.Diff([]int{480, 480, 0, 0, 480}, charged); diff != "" {
		t.Errorf("logged charges (-want +got):\n%s", diff)
	}
}

func TestRevokedKey(t *testing.T) {
	h := start(t)
	h.run.Server.RevokeKey(h.key)
	if r := h.get("/api/v1/models"); r.status != 401 {
		t.Errorf("status with revoked key = %d, want 401", r.status)
	}
}

func TestModelsHidesImageAndTextPrices(t *testing.T) {
	h := start(t)
	r := h.get("/api/v1/models")
	if diff := cmp.Diff(string(h.run.Server.Catalog()), string(r.body)); diff != "" {
		t.Errorf("served catalog differs from Catalog() (-want +got):\n%s", diff)
	}
	doc := decodeInto[struct {
		Models map[string][]map[string]any `json:"models"`
	}](t, r)
	for group, ms := range doc.Models {
		for _, m := range ms {
			_, priced := m["cost_cents_per_5s"]
			if group == "video" && !priced {
				t.Errorf("video model %v has no cost_cents_per_5s", m["id"])
			}
			if group != "video" && len(m) != 3 {
				t.Errorf("%s model %v has keys beyond id, label, type: %v", group, m["id"], m)
			}
		}
	}
	seedance := map[string]any{"id": "seedance-2.0/text-to-video", "label": "Seedance 2.0", "tier": "premium",
		"supports_audio": true, "supports_lock_camera": true, "durations": []any{4.0, 8.0, 12.0},
		"cost_cents_per_5s": 300.0, "type": "video", "mode": "text-to-video", "provider": "seedance"}
	if diff := cmp.Diff(seedance, doc.Models["video"][0]); diff != "" {
		t.Errorf("documented seedance entry (-want +got):\n%s", diff)
	}
	for _, id := range []string{"openai/gpt-4o", "bytedance/seedream-4.5"} {
		if _, ok := h.run.Server.cat.models[id]; !ok {
			t.Errorf("documented model %s missing", id)
		}
	}
}
