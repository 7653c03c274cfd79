package report

import (
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/xpflow/xpflow/internal/state"
)

// buildCard turns one state record into the card the template shows.
// down lists the assets that depend on a.
// byURL maps output URLs to the asset that produced them, so that a
// parameter holding one (image_url) links to that asset's card.
func buildCard(a *state.Asset, ids map[string]string, down []string, byURL map[string]string, baseDir, specDir string) (*card, error) {
	c := &card{ID: ids[a.Address], Address: a.Address, Kind: a.Kind, Model: a.Model,
		Content: a.Content, TaskID: a.TaskID}
	c.Status, c.Reason = cardStatus(a)
	if a.CostCents != nil {
		c.HasCost, c.CostCents, c.Cost = true, *a.CostCents, formatCents(*a.CostCents)
	}
	c.Prompt, c.System, c.Params = requestParams(a.Request)
	for i, p := range c.Params {
		if from, ok := byURL[p.Value]; ok {
			c.Params[i].LinkID, c.Params[i].LinkAddress = ids[from], from
		}
	}
	if m, ok := a.Request["model"].(string); ok && c.Model == "" {
		c.Model = m
	}
	for _, o := range a.Outputs {
		if o.File == "" {
			c.Missing = append(c.Missing, o.URL)
			continue
		}
		src, err := relativeSrc(baseDir, specDir, o.File)
		if err != nil {
			return nil, fmt.Errorf("report: %s: %w", a.Address, err)
		}
		c.Media = append(c.Media, media{Type: mediaType(o.File, a.Kind), Src: src,
			Name: path.Base(filepath.ToSlash(o.File)), Size: formatBytes(o.Bytes)})
	}
	if a.Usage != nil {
		c.Usage = fmt.Sprintf("%d prompt + %d completion tokens", a.Usage.PromptTokens, a.Usage.CompletionTokens)
	}
	if !a.IntentAt.IsZero() && !a.CompletedAt.IsZero() && a.CompletedAt.After(a.IntentAt) {
		c.Took = formatDuration(a.CompletedAt.Sub(a.IntentAt))
	}
	for _, d := range a.DependsOn {
		id, ok := ids[d]
		c.Upstream = append(c.Upstream, link{ID: id, Address: d, Known: ok})
	}
	for _, d := range down {
		c.Downstream = append(c.Downstream, link{ID: ids[d], Address: d, Known: true})
	}
	return c, nil
}

// cardStatus is the status a card shows and why, when it is not simply
// completed.
func cardStatus(a *state.Asset) (status, reason string) {
	switch a.Status {
	case state.StatusCompleted:
		if a.Error != "" {
			return statusCompleted, a.Error
		}
		return statusCompleted, ""
	case state.StatusFailed:
		if a.Error == "" {
			return statusFailed, "the API reported a failure and gave no reason"
		}
		return statusFailed, a.Error
	case state.StatusSubmitted:
		return statusSubmitted, "still generating (task " + a.TaskID + "): run apply again to collect it"
	case state.StatusIntent:
		if a.Error != "" {
			return statusSkipped, a.Error
		}
		return statusPending, "outcome unknown: the request may have been sent; run apply again to settle it"
	}
	return string(a.Status), a.Error
}

// requestParams splits a recorded request into its prompt, its system
// prompt and the other parameters, sorted by name. The model is shown on
// its own, so it is left out.
func requestParams(req map[string]any) (prompt, system string, params []param) {
	for k, v := range req {
		switch k {
		case "prompt":
			prompt = paramValue(v)
		case "system":
			system = paramValue(v)
		case "model":
		default:
			params = append(params, param{Key: k, Value: paramValue(v)})
		}
	}
	sort.Slice(params, func(i, j int) bool { return params[i].Key < params[j].Key })
	return prompt, system, params
}

func paramValue(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// relativeSrc is the URL path of file (relative to specDir, or absolute)
// from baseDir, each segment percent-escaped and starting with ./ or ../
// so that no segment can read as a URL scheme.
func relativeSrc(baseDir, specDir, file string) (string, error) {
	p := filepath.FromSlash(file)
	if !filepath.IsAbs(p) {
		p = filepath.Join(specDir, p)
	}
	rel, err := filepath.Rel(baseDir, p)
	if err != nil {
		return "", fmt.Errorf("media file %s relative to %s: %w", file, baseDir, err)
	}
	segs := strings.Split(filepath.ToSlash(rel), "/")
	for i, s := range segs {
		if s != ".." {
			segs[i] = url.PathEscape(s)
		}
	}
	out := strings.Join(segs, "/")
	if segs[0] != ".." {
		out = "./" + out
	}
	return out, nil
}

// mediaType is how the page shows a file: "image", "video" or "file",
// by its extension, falling back on the asset kind.
func mediaType(file, kind string) string {
	switch strings.ToLower(path.Ext(filepath.ToSlash(file))) {
	case ".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif", ".svg":
		return "image"
	case ".mp4", ".webm", ".mov", ".m4v", ".ogv":
		return "video"
	case "":
		if kind == "image" || kind == "video" {
			return kind
		}
	}
	return "file"
}

// anchorIDs gives every address an HTML id made of letters, digits and
// dashes (image.hero["aurora"] -> image-hero-aurora), unique on the page.
func anchorIDs(addrs []string) map[string]string {
	ids := make(map[string]string, len(addrs))
	used := map[string]bool{}
	for _, addr := range addrs {
		var b strings.Builder
		dash := true // no leading dash
		for _, r := range addr {
			if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
				b.WriteRune(r)
				dash = false
			} else if !dash {
				b.WriteByte('-')
				dash = true
			}
		}
		base := "asset-" + strings.TrimSuffix(b.String(), "-")
		id := base
		for n := 2; used[id]; n++ {
			id = base + "-" + strconv.Itoa(n)
		}
		used[id] = true
		ids[addr] = id
	}
	return ids
}

func formatCents(c int) string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s$%d.%02d", sign, c/100, c%100)
}

// formatDuration rounds d for reading: 12.3s, 850ms.
func formatDuration(d time.Duration) string {
	if d >= time.Second {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Millisecond).String()
}

func formatBytes(n int64) string {
	switch {
	case n <= 0:
		return ""
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	case n < 1024*1024:
		return fmt.Sprintf("%.1f KiB", float64(n)/1024)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1024*1024))
}
