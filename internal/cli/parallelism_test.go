package cli

import (
	"strings"
	"testing"
)

// TestParallelismBelowOneIsRefused: -parallelism 0 or negative used to be
// accepted without a word. It must be a usage error that names the flag,
// before anything is read or sent.
func TestParallelismBelowOneIsRefused(t *testing.T) {
	run, env := startSim(t)
	dir := copyDir(t, "testdata/quick")
	for _, v := range []string{"0", "-3"} {
		t.Run(v, func(t *testing.T) {
			got := invocation{args: []string{"apply", "-auto-approve", "-parallelism", v, dir}, env: env}.run(t)
			if got.code != ExitUsage {
				t.Errorf("exit code %d, want %d (usage)\nstderr:\n%s", got.code, ExitUsage, got.stderr)
			}
			if want := "-parallelism " + v + ": want at least 1"; !strings.Contains(got.stderr, want) {
				t.Errorf("stderr does not say %q:\n%s", want, got.stderr)
			}
			if n := generates(run); n != 0 {
				t.Errorf("%d generate requests were sent, want none", n)
			}
		})
	}
}
