package spec

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// bigSpec is a campaign with n for_each keys and an image and a video per key.
func bigSpec(tb testing.TB, n int) string {
	tb.Helper()
	var b strings.Builder
	b.WriteString("variable \"products\" {\n  default = {\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "    p%05d = \"Product %d\"\n", i, i)
	}
	b.WriteString(`  }
}
locals { look = "studio light" }
image "hero" {
  for_each = var.products
  model    = "bytedance/seedream-4.5"
  prompt   = "${each.value}, ${local.look}"
}
video "spot" {
  for_each  = var.products
  model     = "seedance-2.0/image-to-video"
  prompt    = "Slow push-in on ${each.value}"
  image_url = image.hero[each.key].url
  duration  = 8
}
`)
	dir := tb.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "big.xp.hcl"), []byte(b.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// expandEval loads dir, expands it and evaluates every instance in an
// interleaved order (each image then its video), recording inputs and a
// result after each so the scope's caches are invalidated constantly.
func expandEval(tb testing.TB, dir string) int {
	s, diags := Load(dir, LoadOptions{})
	if diags.HasErrors() {
		tb.Fatal(diags)
	}
	insts, diags := s.Expand()
	if diags.HasErrors() {
		tb.Fatal(diags)
	}
	sc := s.NewScope(insts)
	half := len(insts) / 2
	url := "https://cdn/x.png"
	for i := 0; i < half; i++ {
		for _, inst := range []*Instance{insts[i], insts[half+i]} {
			params, deps, diags := sc.Eval(inst)
			if diags.HasErrors() {
				tb.Fatal(diags)
			}
			if inst.Asset.Kind == KindVideo && len(deps) != 1 {
				tb.Fatalf("%s: got deps %q, want one image", inst.Addr, deps)
			}
			sc.SetInputs(inst.Addr, params)
			sc.SetResult(inst.Addr, Result{URLs: []string{url}})
		}
	}
	return len(insts)
}

func BenchmarkExpandEval10k(b *testing.B) {
	dir := bigSpec(b, 5000)
	b.ResetTimer()
	for b.Loop() {
		if n := expandEval(b, dir); n != 10000 {
			b.Fatalf("got %d instances, want 10000", n)
		}
	}
}

// TestExpandEvalScales guards the planner's budget: 10,000 instances well
// under 2 s. The bound is loose (race detector, slow CI) but catches a
// quadratic regression, which takes minutes at this size.
func TestExpandEvalScales(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	dir := bigSpec(t, 5000)
	start := time.Now()
	if n := expandEval(t, dir); n != 10000 {
		t.Fatalf("got %d instances, want 10000", n)
	}
	if got, limit := time.Since(start), 20*time.Second; got > limit {
		t.Errorf("10k instances took %s, want under %s", got, limit)
	}
}
