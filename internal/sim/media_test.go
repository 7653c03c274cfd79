package sim

import (
	"bytes"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPNGAspectRatio(t *testing.T) {
	tests := map[string]struct {
		aspect       string
		wantW, wantH int
	}{
		"default":   {"", 512, 512},
		"landscape": {"16:9", 512, 288},
		"portrait":  {"9:16", 288, 512},
		"4:3":       {"4:3", 512, 384},
		"3:4":       {"3:4", 384, 512},
		"cinema":    {"21:9", 512, 219},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := start(t)
			body := map[string]any{"model": "bytedance/seedream-4.5", "prompt": "A futuristic cityscape at dawn with flying cars and neon signs reflecting on wet streets"}
			if tc.aspect != "" {
				body["aspect_ratio"] = tc.aspect
			}
			res := decodeInto[genResult](t, h.post("/api/v1/image/generate", body))
			r := h.send("GET", cdnPath(t, res.Outputs[0]), "", nil)
			if ct := r.header.Get("Content-Type"); r.status != 200 || ct != "image/png" {
				t.Fatalf("CDN answered %d %q, want 200 image/png", r.status, ct)
			}
			img, err := png.Decode(bytes.NewReader(r.body))
			if err != nil {
				t.Fatalf("decode PNG: %v", err)
			}
			b := img.Bounds()
			if diff := cmp.Diff([]int{tc.wantW, tc.wantH}, []int{b.Dx(), b.Dy()}); diff != "" {
				t.Errorf("size (-want +got):\n%s", diff)
			}
			colours := map[uint32]bool{}
			for y := 0; y < b.Dy(); y += 2 {
				for x := 0; x < b.Dx(); x += 2 {
					r, g, bl, _ := img.At(x, y).RGBA()
					colours[r>>8<<16|g>>8<<8|bl>>8] = true
				}
			}
			if len(colours) != 2 {
				t.Errorf("image has %d colours, want 2 (background and text)", len(colours))
			}
		})
	}
}

func TestMP4(t *testing.T) {
	h := start(t, WithLatency("video", 0, 0))
	var files [][]byte
	for _, prompt := range []string{"one", "two"} {
		sub := decodeInto[genResult](t, h.post("/api/v1/video/generate", map[string]any{"model": "seedance-2.0/text-to-video", "prompt": prompt, "duration": 4}))
		done := decodeInto[genResult](t, h.get(sub.PollURL))
		r := h.send("GET", cdnPath(t, done.Outputs[0]), "", nil)
		if ct := r.header.Get("Content-Type"); r.status != 200 || ct != "video/mp4" {
			t.Fatalf("CDN answered %d %q, want 200 video/mp4", r.status, ct)
		}
		if len(r.body) < 12 || string(r.body[4:8]) != "ftyp" {
			t.Fatalf("file does not start with an ftyp box: % x", r.body[:min(12, len(r.body))])
		}
		if !boxesParse(r.body) {
			t.Errorf("top-level MP4 boxes do not add up to the file size")
		}
		files = append(files, r.body)
	}
	if bytes.Equal(files[0], files[1]) {
		t.Errorf("two tasks served identical MP4s, want them to differ")
	}
}

// boxesParse reports whether the file is a sequence of whole top-level boxes.
func boxesParse(b []byte) bool {
	for len(b) >= 8 {
		n := int(b[0])<<24 | int(b[1])<<16 | int(b[2])<<8 | int(b[3])
		if n < 8 || n > len(b) {
			return false
		}
		b = b[n:]
	}
	return len(b) == 0
}

func TestCDNFaults(t *testing.T) {
	tests := map[string]struct {
		faults     Faults
		advance    time.Duration
		wantStatus int
		wantType   string
	}{
		"fresh":             {faults: Faults{OutputExpiry: time.Hour}, advance: 59 * time.Minute, wantStatus: 200, wantType: "image/png"},
		"expired":           {faults: Faults{OutputExpiry: time.Hour}, advance: time.Hour, wantStatus: 403, wantType: "application/xml"},
		"never expires":     {advance: 1000 * time.Hour, wantStatus: 200, wantType: "image/png"},
		"html instead":      {faults: Faults{CDNHTML: true}, wantStatus: 200, wantType: "text/html; charset=utf-8"},
		"api faults ignore": {faults: Faults{DropConnN: 9, TruncateJSONN: 9, Force429N: 9}, wantStatus: 200, wantType: "image/png"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := start(t)
			res := decodeInto[genResult](t, h.post("/api/v1/image/generate", map[string]any{"model": "bytedance/seedream-4.5", "prompt": "p"}))
			h.run.Server.SetFaults(tc.faults)
			h.clock.Advance(tc.advance)
			r := h.send("GET", cdnPath(t, res.Outputs[0]), "", nil)
			if diff := cmp.Diff([]any{tc.wantStatus, tc.wantType}, []any{r.status, r.header.Get("Content-Type")}); diff != "" {
				t.Errorf("status, type (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCDNUnknownFile(t *testing.T) {
	h := start(t)
	for _, p := range []string{"/cdn/nope.png", "/cdn/img_000000000000.mp4"} {
		r := h.send("GET", p, "", nil)
		if r.status != 404 || !strings.Contains(string(r.body), "NoSuchKey") {
			t.Errorf("GET %s = %d %s, want 404 NoSuchKey", p, r.status, r.body)
		}
	}
}
