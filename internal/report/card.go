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

// fromRecord fills the card from its state record: what was generated,
// what it cost, and whether its files on disk are still the ones
// downloaded.
func (b *builder) fromRecord(c *card, a *state.Asset) error {
	c.Kind, c.Model, c.Content, c.TaskID = a.Kind, a.Model, a.Content, a.TaskID
	if m, ok := a.Request["model"].(string); ok && c.Model == "" {
		c.Model = m
	}
	c.Status, c.Reason = cardStatus(a)
	if a.CostCents != nil {
		n := *a.CostCents
		c.ActualCents = &n
	}
	c.Prompt, c.System, c.Params = requestParams(a.Request)
	b.linkParams(c.Params)
	files, err := b.files(a.Address, a.Kind, a.Outputs)
	if err != nil {
		return err
	}
	c.Files = files
	if a.Usage != nil {
		c.Usage = fmt.Sprintf("%d prompt + %d completion tokens", a.Usage.PromptTokens, a.Usage.CompletionTokens)
	}
	if !a.IntentAt.IsZero() && !a.CompletedAt.IsZero() && a.CompletedAt.After(a.IntentAt) {
		c.Took = formatDuration(a.CompletedAt.Sub(a.IntentAt))
	}
	return b.takes(c, a)
}

// files checks every recorded output of an asset.
func (b *builder) files(addr, kind string, outs []state.Output) ([]file, error) {
	var out []file
	for _, o := range outs {
		if o.File == "" {
			why := "run apply again to fetch it"
			if o.Expired {
				why = "paid, but the link expired before the file was downloaded: only -replace (a new generation) gets it"
			}
			out = append(out, file{URL: o.URL, Type: mediaType(o.URL, kind), Check: fileNotDownloaded, Why: why})
			continue
		}
		f := file{URL: o.URL, Path: o.File, Type: mediaType(o.File, kind),
			Name: path.Base(filepath.ToSlash(o.File)), Size: formatBytes(o.Bytes)}
		f.Check, f.Why = verifyFile(outputPath(b.specDir, o.File), o)
		if f.Check == fileOK {
			src, err := relativeSrc(b.baseDir, b.specDir, o.File)
			if err != nil {
				return nil, fmt.Errorf("report: %s: %w", addr, err)
			}
			f.Src = src
		}
		out = append(out, f)
	}
	return out, nil
}

// linkParams points parameters that hold another asset's output URL
// (image_url) at that asset's card.
func (b *builder) linkParams(ps []param) {
	for i, p := range ps {
		if from, ok := b.byURL[p.Value]; ok {
			ps[i].Link, ps[i].LinkAddress = b.ids[from], from
		}
	}
}

// fromPlan fills what the plan knows about the asset. With a record, it
// only says what the next apply will do; without one, it says why the
// asset has no record.
func (b *builder) fromPlan(c *card, p *Planned, hasRecord bool) {
	if p.Model != "" {
		c.Model = p.Model
	}
	if c.Kind == "" {
		c.Kind = p.Kind
	}
	if p.Priced {
		n := p.EstimatedCents
		c.EstimatedCents = &n
		c.PriceSource = "catalog"
		if p.Observed {
			c.PriceSource = "observed"
		}
	}
	if hasRecord {
		c.Next = nextAction(p)
		return
	}
	c.Prompt, c.System = p.Prompt, p.System
	for _, k := range sortedKeys(p.Params) {
		c.Params = append(c.Params, param{Key: k, Value: p.Params[k]})
	}
	b.linkParams(c.Params)
	c.Status, c.Reason = b.unrecordedStatus(p)
}

// unrecordedStatus says why an asset of the spec has no record.
func (b *builder) unrecordedStatus(p *Planned) (status, reason string) {
	if p.Action == "" {
		why := p.Error
		if why == "" {
			why = "run xpflow validate to see why"
		}
		return statusError, "the spec cannot evaluate this asset: " + why
	}
	var waits []string
	for _, d := range p.Deps {
		dc, ok := b.cards[d]
		if !ok {
			continue
		}
		switch dc.Status {
		case statusFailed, statusSkipped, statusPending, statusError:
			return statusSkipped, fmt.Sprintf("upstream %s is %s, so this asset was never generated", d, statusLabel(dc.Status))
		case statusCompleted:
		default:
			waits = append(waits, d+" ("+statusLabel(dc.Status)+")")
		}
	}
	if len(waits) > 0 {
		return statusPlanned, "it waits for " + strings.Join(waits, ", ")
	}
	return statusPlanned, "the next apply creates it"
}

// nextAction describes what the next apply does with a recorded asset,
// or "" when it does nothing.
func nextAction(p *Planned) string {
	switch p.Action {
	case "noop":
		return ""
	case "":
		if p.Error != "" {
			return "the spec cannot evaluate this asset now: " + p.Error
		}
		return "the spec cannot evaluate this asset now"
	}
	s := p.Action
	if p.Reason != "" {
		s += ": " + p.Reason
	}
	if len(p.Changes) > 0 {
		s += " (" + strings.Join(p.Changes, "; ") + ")"
	}
	return s
}

// statusLabel is how a status reads in a sentence.
func statusLabel(s string) string {
	switch s {
	case statusSubmitted:
		return "still generating"
	case statusPending:
		return "of unknown outcome"
	case statusPlanned:
		return "not generated yet"
	case statusError:
		return "in error in the spec"
	}
	return s
}

// cardStatus is the status a card shows and why, when it is not simply
// completed.
func cardStatus(a *state.Asset) (status, reason string) {
	switch a.Status {
	case state.StatusCompleted:
		return statusCompleted, a.Error
	case state.StatusFailed:
		if a.Error == "" {
			return statusFailed, "the API reported a failure and gave no reason"
		}
		return statusFailed, a.Error
	case state.StatusSubmitted:
		return statusSubmitted, "task " + a.TaskID + " is paid for and running: run apply again to collect it"
	case state.StatusIntent:
		if a.Error != "" {
			return statusSkipped, a.Error
		}
		return statusPending, "the generate request may have been sent and charged, but its answer was never recorded"
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
	rel, err := filepath.Rel(baseDir, outputPath(specDir, file))
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
	if u, err := url.Parse(file); err == nil && u.Scheme != "" {
		file = u.Path
	}
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
// dashes (image.hero["aurora"] -> asset-image-hero-aurora), unique on the
// page.
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

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
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
