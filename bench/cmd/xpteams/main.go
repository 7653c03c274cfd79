// Command xpteams measures team campaigns on Postgres (issue 11): several
// xpflow apply processes, real binaries, on one campaign held in Postgres,
// against the simulator with xPilot's 30 requests a minute per key. It
// prints, per scenario, the makespan, its ratio to one runner with one key,
// the 429 answers and the assets paid more than once.
//
//	eval "$(scripts/dev-postgres.sh start)"
//	scripts/bench.sh teams            # or: go run ./bench/cmd/xpteams
//
// The campaign is n products, each a text hook and a hero image from it
// (synchronous models): 2n generates, bound by the rate limit alone.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/xpflow/xpflow/internal/sim"
)

const campaign = `xpflow {
  output_dir = "out"
  backend "postgres" {
    campaign = "bench"
  }
}

variable "n" {
  type = number
}

locals {
  products = { for i in range(var.n) : format("p%%03d", i + 1) => "Product ${i + 1}" }
}

text "hook" {
  for_each   = local.products
  model      = "openai/gpt-4o"
  prompt     = "Write a one-line hook for ${each.value}."
  max_tokens = 40
}

image "hero" {
  for_each     = local.products
  model        = "bytedance/seedream-4.5"
  prompt       = "${text.hook[each.key].content} Hero shot of ${each.value}."
  aspect_ratio = "16:9"
}
`

type scenario struct {
	name          string
	runners, keys int
}

func main() {
	n := flag.Int("n", 60, "products (2n generates)")
	only := flag.String("only", "", "run only the scenarios whose name contains this")
	flag.Parse()
	if err := run(*n, *only); err != nil {
		fmt.Fprintln(os.Stderr, "xpteams:", err)
		os.Exit(1)
	}
}

func run(n int, only string) error {
	server := os.Getenv("XPFLOW_TEST_POSTGRES")
	if server == "" {
		return fmt.Errorf(`XPFLOW_TEST_POSTGRES is not set: run eval "$(scripts/dev-postgres.sh start)" first`)
	}
	tmp, err := os.MkdirTemp("", "xpteams-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "xpflow")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/xpflow").CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	scenarios := []scenario{
		{"1 runner, 1 key", 1, 1},
		{"2 runners, 1 key", 2, 1},
		{"2 runners, 2 keys", 2, 2},
		{"3 runners, 3 keys", 3, 3},
	}
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "scenario (%d generates, 30 requests/min/key)\tmakespan\tvs 1 runner\t429s\tpaid twice\trequests per key\texit codes\n", 2*n)
	var base time.Duration
	for _, sc := range scenarios {
		if only != "" && !strings.Contains(sc.name, only) {
			continue
		}
		r, err := measure(bin, server, tmp, n, sc)
		if err != nil {
			return fmt.Errorf("%s: %w", sc.name, err)
		}
		if base == 0 {
			base = r.makespan
		}
		fmt.Fprintf(os.Stderr, "xpteams: %s done in %.1f s\n", sc.name, r.makespan.Seconds())
		fmt.Fprintf(tw, "%s\t%.1f s\t%.2fx\t%d\t%d\t%v\t%v\n", sc.name, r.makespan.Seconds(),
			r.makespan.Seconds()/base.Seconds(), r.tooMany, r.paidTwice, r.perKey, r.codes)
	}
	return tw.Flush()
}

type outcome struct {
	makespan           time.Duration
	tooMany, paidTwice int
	perKey             []int
	codes              []int
}

func measure(bin, server, tmp string, n int, sc scenario) (outcome, error) {
	var b [6]byte
	_, _ = rand.Read(b[:])
	db := "xpteams_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, server)
	if err != nil {
		return outcome{}, err
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+db); err != nil {
		return outcome{}, err
	}
	if os.Getenv("XPTEAMS_KEEP") == "" {
		defer admin.Exec(ctx, "DROP DATABASE "+db+" WITH (FORCE)")
	} else {
		fmt.Fprintln(os.Stderr, "xpteams: keeping database", db)
	}
	conn := server + " dbname=" + db

	keys := make([]string, sc.keys)
	opts := []sim.Option{sim.WithRateLimit(30)}
	for i := range keys {
		keys[i] = fmt.Sprintf("xp_bench_key_%d", i+1)
		opts = append(opts, sim.WithKey(keys[i], 100_000_000))
	}
	srv, err := sim.Start("", opts...)
	if err != nil {
		return outcome{}, err
	}
	defer srv.Close()

	var wg sync.WaitGroup
	codes := make([]int, sc.runners)
	start := time.Now()
	for i := range sc.runners {
		dir := filepath.Join(tmp, fmt.Sprintf("%s-r%d", db, i+1))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return outcome{}, err
		}
		if err := os.WriteFile(filepath.Join(dir, "bench.xp.hcl"), []byte(strings.ReplaceAll(campaign, "%%", "%")), 0o644); err != nil {
			return outcome{}, err
		}
		cmd := exec.Command(bin, "apply", "-auto-approve", "-var", fmt.Sprintf("n=%d", n), dir)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "XPFLOW_CACHE_DIR=" + filepath.Join(dir, "cache"),
			"XPILOT_BASE_URL=" + srv.URL, "XPILOT_API_KEY=" + keys[i%sc.keys],
			"XPFLOW_BACKEND_CONN=" + conn, fmt.Sprintf("XPFLOW_RUNNER=r%d", i+1)}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = cmd.Run()
			codes[i] = cmd.ProcessState.ExitCode()
			if codes[i] != 0 {
				fmt.Fprintf(os.Stderr, "runner r%d exited %d:\n%s\n", i+1, codes[i], stderr.String())
			}
		}()
	}
	wg.Wait()
	res := outcome{makespan: time.Since(start), codes: codes}
	paid := map[string]int{}
	res.perKey = make([]int, sc.keys)
	for _, r := range srv.Server.Log() {
		for i, k := range keys {
			if r.Key == k && r.Endpoint != "cdn" {
				res.perKey[i]++
			}
		}
		if r.Status == 429 {
			res.tooMany++
		}
		if strings.HasSuffix(r.Endpoint, ".generate") && r.Status == 200 {
			paid[string(r.Body)]++
		}
	}
	for _, c := range paid {
		if c > 1 {
			res.paidTwice++
		}
	}
	if len(paid) != 2*n {
		return res, fmt.Errorf("%d distinct generates were paid, want %d", len(paid), 2*n)
	}
	return res, nil
}
