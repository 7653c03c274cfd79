package sim

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestCurlExamples runs scripts/curl-examples.sh, the documented curl
// examples, against a simulator with short latencies on loopback.
func TestCurlExamples(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed; the curl examples need bash, curl and jq", tool)
		}
	}
	script, err := filepath.Abs(filepath.Join("..", "..", "scripts", "curl-examples.sh"))
	if err != nil {
		t.Fatal(err)
	}
	run, err := Start("", WithLatency("video", 300*time.Millisecond, 300*time.Millisecond), WithLatency("image", 0, 0))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer run.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", script)
	cmd.WaitDelay = 5 * time.Second // do not hang on a child that keeps the output open
	cmd.Env = append(os.Environ(), "XPILOT_BASE_URL="+run.URL, "XPILOT_API_KEY="+run.Key, "XPILOT_POLL_SLEEP=0.2")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("curl-examples.sh: %v\n%s", err, out)
	}
	t.Logf("%s", out)
	if polls := run.Server.Counters().Polls; polls < 2 {
		t.Errorf("Polls = %d, want at least 2 (the full example should have looped)", polls)
	}
}
