package sim

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
)

// catalogJSON is served as-is (compacted) by GET /api/v1/models.
//
//go:embed catalog.json
var catalogJSON []byte

// hiddenJSON holds what the server knows but /models does not show.
//
//go:embed hidden.json
var hiddenJSON []byte

// Model kinds.
const (
	kindText  = "text"
	kindImage = "image"
	kindVideo = "video"
)

// Providers.
const (
	provSeedance  = "seedance"
	provWavespeed = "wavespeed"
)

// model is one catalog entry plus its hidden facts.
type model struct {
	ID                 string `json:"id"`
	Label              string `json:"label"`
	Type               string `json:"type"`
	SupportsAudio      bool   `json:"supports_audio"`
	SupportsLockCamera bool   `json:"supports_lock_camera"`
	Durations          []int  `json:"durations"`
	CostCentsPer5s     *int   `json:"cost_cents_per_5s"`
	Mode               string `json:"mode"`
	Provider           string `json:"provider"`

	callCents int  // hidden per-call price of image and text models
	async     bool // image model answers with a poll_url
}

type hiddenEntry struct {
	CostCents int    `json:"cost_cents"`
	Async     bool   `json:"async"`
	Provider  string `json:"provider"`
}

type catalog struct {
	raw    []byte // compact JSON as served
	models map[string]*model
}

// mustLoadCatalog parses the embedded files; they are part of the binary, so
// an error is a programming error and panics.
func mustLoadCatalog() *catalog {
	c, err := loadCatalog(catalogJSON, hiddenJSON)
	if err != nil {
		panic(err)
	}
	return c
}

func loadCatalog(public, hidden []byte) (*catalog, error) {
	var doc struct {
		Models map[string][]*model `json:"models"`
	}
	if err := json.Unmarshal(public, &doc); err != nil {
		return nil, fmt.Errorf("sim: parse catalog.json: %w", err)
	}
	var doc2 struct {
		Image map[string]hiddenEntry `json:"image"`
		Text  map[string]hiddenEntry `json:"text"`
	}
	if err := json.Unmarshal(hidden, &doc2); err != nil {
		return nil, fmt.Errorf("sim: parse hidden.json: %w", err)
	}
	hid := map[string]map[string]hiddenEntry{kindImage: doc2.Image, kindText: doc2.Text}
	var buf bytes.Buffer
	if err := json.Compact(&buf, public); err != nil {
		return nil, fmt.Errorf("sim: compact catalog.json: %w", err)
	}
	c := &catalog{raw: buf.Bytes(), models: map[string]*model{}}
	for group, ms := range doc.Models {
		for _, m := range ms {
			if m.Type != group {
				return nil, fmt.Errorf("sim: model %s has type %q in group %q", m.ID, m.Type, group)
			}
			if err := c.addHidden(m, hid); err != nil {
				return nil, err
			}
			c.models[m.ID] = m
		}
	}
	return c, nil
}

func (c *catalog) addHidden(m *model, hid map[string]map[string]hiddenEntry) error {
	if m.Type == kindVideo {
		if m.CostCentsPer5s == nil {
			return fmt.Errorf("sim: video model %s has no cost_cents_per_5s", m.ID)
		}
		return nil
	}
	h, ok := hid[m.Type][m.ID]
	if !ok {
		return fmt.Errorf("sim: %s model %s has no hidden price", m.Type, m.ID)
	}
	m.callCents, m.async = h.CostCents, h.Async
	if m.Provider == "" {
		m.Provider = h.Provider
	}
	return nil
}

// lookup returns the model with id if it has the wanted type. The error
// response names the model and what was wrong.
func (c *catalog) lookup(id, kind string) (*model, *response) {
	m, ok := c.models[id]
	if !ok {
		r := errorResponse(400, CodeInvalidModel, fmt.Sprintf("model: %q does not exist", id))
		return nil, &r
	}
	if m.Type != kind {
		r := errorResponse(400, CodeInvalidModel, fmt.Sprintf("model: %q is %s model, not %s model", id, article(m.Type), article(kind)))
		return nil, &r
	}
	return m, nil
}

// videoCents is ceil(cost_cents_per_5s × duration / 5).
func videoCents(m *model, duration int) int {
	return (*m.CostCentsPer5s*duration + 4) / 5
}

// article prefixes a model kind with "a" or "an".
func article(kind string) string {
	if kind == kindImage {
		return "an " + kind
	}
	return "a " + kind
}
