package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/xpflow/xpflow/internal/xpilot"
)

// runModels lists the catalog by type with prices and capabilities.
func runModels(env *Env, args []string) error {
	fs := newFlags(env, "models", "")
	asJSON := fs.Bool("json", false, "print the catalog as JSON")
	simulate := fs.Bool("simulate", false, "list the built-in simulator's catalog")
	if err := parse(fs, args); err != nil {
		return err
	}
	c, err := connect(env, nil, *simulate, "")
	if err != nil {
		return err
	}
	defer c.Close()
	cat, err := c.client.Models(context.Background())
	if err != nil {
		return &ExitErr{Code: ExitError, Err: err}
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"models": cat})
	}
	var table strings.Builder
	tw := tabwriter.NewWriter(&table, 2, 4, 2, ' ', 0)
	for _, group := range []struct {
		name   string
		models []xpilot.Model
	}{{"text", cat.Text}, {"image", cat.Image}, {"video", cat.Video}} {
		// Headings and blank lines carry empty cells, so that one set of
		// columns runs through every group.
		fmt.Fprintf(tw, "%s models\t\t\t\n", strings.ToUpper(group.name[:1])+group.name[1:])
		for _, m := range group.models {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", m.ID, modelPrice(m), modelCaps(m), m.Provider)
		}
		fmt.Fprint(tw, "\t\t\t\n")
	}
	fmt.Fprintln(tw, "Unpriced models are charged at a price the catalog does not list: plans count them apart and never as free.")
	if err := tw.Flush(); err != nil {
		return err
	}
	// A model with no capabilities or provider leaves its padding at the
	// end of the line.
	lines := strings.Split(table.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	_, err = io.WriteString(env.Stdout, strings.Join(lines, "\n"))
	return err
}

func modelPrice(m xpilot.Model) string {
	if !m.Priced() {
		return "unpriced"
	}
	return formatCents(*m.CostCentsPer5s) + " per 5s"
}

func modelCaps(m xpilot.Model) string {
	var caps []string
	if m.Mode != "" {
		caps = append(caps, m.Mode)
	}
	if len(m.Durations) > 0 {
		caps = append(caps, "durations "+joinInts(m.Durations))
	}
	if m.SupportsAudio {
		caps = append(caps, "audio")
	}
	if m.SupportsLockCamera {
		caps = append(caps, "lock_camera")
	}
	if m.Tier != "" {
		caps = append(caps, m.Tier)
	}
	return strings.Join(caps, ", ")
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, "/")
}
