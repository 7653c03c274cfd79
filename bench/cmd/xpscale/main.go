// Command xpscale measures xpflow at catalog scale and prints tables:
//
//	xpscale -mode apply      apply of 1,000 and 10,000 sync images, rate limit off:
//	                         wall, user CPU and peak RSS of the xpflow process
//	xpscale -mode catalog    plan from a 50,000-row CSV (100,000 instances, text -> image)
//	                         through toset and through the map form: time and memory
//
// scripts/bench.sh apply and scripts/bench.sh catalog run it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/xpflow/xpflow/bench"
)

func main() {
	mode := flag.String("mode", "apply", "apply or catalog")
	sizes := flag.String("sizes", "", "comma-separated sizes: assets (apply, default 1000,10000) or CSV rows (catalog, default 50000)")
	flag.Parse()
	if err := run(*mode, *sizes); err != nil {
		fmt.Fprintln(os.Stderr, "xpscale:", err)
		os.Exit(1)
	}
}

func run(mode, sizeList string) error {
	ctx := context.Background()
	base, err := os.MkdirTemp("", "xpscale-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(base)
	switch mode {
	case "apply":
		sizes, err := parseSizes(sizeList, []int{1000, 10000})
		if err != nil {
			return err
		}
		bin := filepath.Join(base, "xpflow")
		build := exec.Command("go", "build", "-o", bin, "github.com/xpflow/xpflow/cmd/xpflow")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("go build: %w", err)
		}
		rows, err := bench.ApplyScale(ctx, bin, base, sizes)
		if err != nil {
			return err
		}
		fmt.Println("Apply of N sync images, rate limit off (xpflow process alone; the simulator runs in xpscale):")
		for _, r := range rows {
			if r.Journal {
				return fmt.Errorf("%d assets: a journal was left beside the state after apply", r.Assets)
			}
		}
		return bench.WriteApplyTable(os.Stdout, rows)
	case "catalog":
		sizes, err := parseSizes(sizeList, []int{50000})
		if err != nil {
			return err
		}
		rows, err := bench.PlanCatalogs(ctx, base, sizes, []bench.CatalogForm{bench.FormToset, bench.FormMap})
		if err != nil {
			return err
		}
		fmt.Println("Plan from a CSV catalog (text -> image per row), no state:")
		return bench.WriteCatalogTable(os.Stdout, rows)
	}
	return fmt.Errorf("unknown mode %q: want apply or catalog", mode)
}

func parseSizes(s string, def []int) ([]int, error) {
	if s == "" {
		return def, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("-sizes: %q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}
