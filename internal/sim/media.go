package sim

import (
	"bytes"
	_ "embed"
	"encoding/binary"
	"fmt"
	"html"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// clipMP4 is a 1 s 64x36 H.264 test pattern made once with
// `ffmpeg -f lavfi -i testsrc=size=64x36:rate=10 -t 1 -c:v libx264
// -pix_fmt yuv420p -profile:v baseline -movflags +faststart clip.mp4`.
//
//go:embed assets/clip.mp4
var clipMP4 []byte

// serveCDN answers GET /cdn/<file> like an object store behind a CDN: no
// auth, no rate limit, XML errors.
func (s *Server) serveCDN(r *http.Request, file string) response {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return cdnError(http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource.")
	}
	id, _, _ := strings.Cut(file, ".")
	s.mu.Lock()
	t := s.lookupTaskLocked("", id)
	now := s.clock.Now()
	f := s.faults
	s.mu.Unlock()
	if t == nil || t.file() != file || t.status(now) != statusCompleted {
		return cdnError(http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
	}
	if f.OutputExpiry > 0 && !now.Before(t.ready.Add(f.OutputExpiry)) {
		return cdnError(http.StatusForbidden, "AccessDenied", "Request has expired")
	}
	h := http.Header{}
	if f.CDNHTML {
		h.Set("Content-Type", "text/html; charset=utf-8")
		body := fmt.Sprintf("<!DOCTYPE html><html><head><title>%s</title></head><body><h1>Please wait while we check your browser...</h1></body></html>", html.EscapeString(file))
		return response{status: http.StatusOK, header: h, body: []byte(body), taskID: t.id, model: t.model}
	}
	var body []byte
	if t.kind == kindVideo {
		h.Set("Content-Type", "video/mp4")
		body = videoBytes(t)
	} else {
		h.Set("Content-Type", "image/png")
		body = s.imageBytes(t)
	}
	h.Set("Cache-Control", "public, max-age=86400")
	return response{status: http.StatusOK, header: h, body: body, taskID: t.id, model: t.model}
}

func cdnError(status int, code, msg string) response {
	h := http.Header{}
	h.Set("Content-Type", "application/xml")
	body := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message></Error>`, code, msg)
	return response{status: status, header: h, body: []byte(body)}
}

// videoBytes is the embedded clip with a trailing top-level "free" box that
// names the task, so each task's file differs and still plays.
func videoBytes(t *task) []byte {
	note := fmt.Sprintf("xpflow-sim task=%s model=%s aspect=%s prompt=%q", t.id, t.model, t.aspect, t.prompt)
	out := make([]byte, 0, len(clipMP4)+8+len(note))
	out = append(out, clipMP4...)
	out = binary.BigEndian.AppendUint32(out, uint32(8+len(note)))
	out = append(out, "free"...)
	return append(out, note...)
}

// imageBytes draws the task's prompt on a background derived from the prompt
// hash, at the task's aspect ratio, with the task id at the bottom.
func (s *Server) imageBytes(t *task) []byte {
	size := aspectRatios[t.aspect]
	h := s.hashString("colour", t.prompt)
	bg := color.RGBA{uint8(h), uint8(h >> 8), uint8(h >> 16), 255}
	fg := color.RGBA{255, 255, 255, 255}
	if 299*int(bg.R)+587*int(bg.G)+114*int(bg.B) > 128000 {
		fg = color.RGBA{0, 0, 0, 255}
	}
	img := image.NewRGBA(image.Rect(0, 0, size[0], size[1]))
	for i := 0; i < len(img.Pix); i += 4 {
		copy(img.Pix[i:i+4], []uint8{bg.R, bg.G, bg.B, 255})
	}
	drawText(img, fg, t.prompt, t.id)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil // encoding an in-memory RGBA image does not fail
	}
	return buf.Bytes()
}

// drawText writes the wrapped prompt and a footer onto img at twice the
// basic font's size: it draws on a half-size mask, then scales up.
func drawText(img *image.RGBA, fg color.RGBA, prompt, footer string) {
	const scale, margin, lineH, charW = 2, 6, 13, 7
	b := img.Bounds()
	mask := image.NewAlpha(image.Rect(0, 0, b.Dx()/scale, b.Dy()/scale))
	cols := max(1, (mask.Rect.Dx()-2*margin)/charW)
	rows := max(1, (mask.Rect.Dy()-2*margin)/lineH-2)
	lines := wrap(prompt, cols)
	if len(lines) > rows {
		lines = append(lines[:rows-1], "...")
	}
	d := font.Drawer{Dst: mask, Src: image.Opaque, Face: basicfont.Face7x13}
	for i, line := range lines {
		d.Dot = fixed.P(margin, margin+11+i*lineH)
		d.DrawString(line)
	}
	d.Dot = fixed.P(margin, mask.Rect.Dy()-margin-2)
	d.DrawString(footer)
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			if mask.AlphaAt(x/scale, y/scale).A > 0 {
				img.SetRGBA(x, y, fg)
			}
		}
	}
}

// wrap splits s into lines of at most cols characters, breaking at spaces
// and cutting words longer than a line.
func wrap(s string, cols int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		for len([]rune(w)) > cols {
			r := []rune(w)
			if line != "" {
				lines, line = append(lines, line), ""
			}
			lines, w = append(lines, string(r[:cols])), string(r[cols:])
		}
		switch {
		case line == "":
			line = w
		case len([]rune(line))+1+len([]rune(w)) <= cols:
			line += " " + w
		default:
			lines, line = append(lines, line), w
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
