package cli

import (
	"flag"
	"fmt"
	"time"

	"github.com/xpflow/xpflow/internal/sim"
)

// simFlags are the flags of 'xpflow sim'.
type simFlags struct {
	addr, key          string
	credits, rpm       int
	seed               int64
	videoMin, videoMax time.Duration
	imageMin, imageMax time.Duration
	faults             sim.Faults
	unseen             int
	unseenAge          time.Duration
}

func (f *simFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8787", "address to listen on (loopback)")
	fs.StringVar(&f.key, "key", sim.DefaultKey, "API key the simulator accepts")
	fs.IntVar(&f.credits, "credits", 100000, "starting credits of the key, in cents")
	fs.IntVar(&f.rpm, "rate-limit", 30, "requests per minute per key (0 disables)")
	fs.Int64Var(&f.seed, "seed", 1, "seed for latencies, outputs and faults")
	fs.DurationVar(&f.videoMin, "video-latency-min", 30*time.Second, "shortest video generation")
	fs.DurationVar(&f.videoMax, "video-latency-max", 120*time.Second, "longest video generation")
	fs.DurationVar(&f.imageMin, "image-latency-min", 5*time.Second, "shortest async image generation")
	fs.DurationVar(&f.imageMax, "image-latency-max", 20*time.Second, "longest async image generation")
	fs.IntVar(&f.unseen, "unseen-requests", 0, "requests the key already has in its window, from a client xpflow does not see")
	fs.DurationVar(&f.unseenAge, "unseen-age", 0, "how long ago the -unseen-requests were sent (they leave the window 1m after)")
	fl := &f.faults
	fs.Float64Var(&fl.TaskFailureRate, "task-failure-rate", 0, "fraction of async tasks that end failed")
	fs.Float64Var(&fl.SubmitErrorRate, "submit-error-rate", 0, "fraction of generate requests answered 500 GENERATION_FAILED")
	fs.DurationVar(&fl.SlowResponse, "slow", 0, "delay before slow answers")
	fs.Float64Var(&fl.SlowResponseRate, "slow-rate", 0, "fraction of answers delayed by -slow")
	fs.Float64Var(&fl.DropConnRate, "drop-rate", 0, "fraction of requests whose connection is dropped unanswered")
	fs.Float64Var(&fl.TruncateJSONRate, "truncate-rate", 0, "fraction of answers with a truncated JSON body")
	fs.Float64Var(&fl.Force429Rate, "force-429-rate", 0, "fraction of requests answered 429 regardless of the window")
	fs.DurationVar(&fl.RetryAfter, "retry-after", 2*time.Second, "Retry-After of forced 429s")
	fs.DurationVar(&fl.OutputExpiry, "output-expiry", 0, "output URLs answer 403 this long after completion (0: never)")
	fs.BoolVar(&fl.CDNHTML, "cdn-html", false, "output URLs answer an HTML page instead of media")
}

// runSim serves the simulator until interrupted.
func runSim(env *Env, args []string) error {
	fs := newFlags(env, "sim", "")
	var f simFlags
	f.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	run, err := sim.Start(f.addr, sim.WithKey(f.key, f.credits), sim.WithRateLimit(f.rpm), sim.WithSeed(f.seed),
		sim.WithLatency("video", f.videoMin, f.videoMax), sim.WithLatency("image", f.imageMin, f.imageMax),
		sim.WithFaults(f.faults), sim.WithUnseenRequests(f.key, f.unseen, f.unseenAge))
	if err != nil {
		return &ExitErr{Code: ExitError, Err: fmt.Errorf("start the simulator: %w", err)}
	}
	defer run.Close()
	fmt.Fprintf(env.Stdout, "xPilot simulator listening.\n\n  export XPILOT_BASE_URL=%s\n  export XPILOT_API_KEY=%s\n\nPress Ctrl-C to stop.\n", run.URL, run.Key)
	if env.Signals != nil {
		<-env.Signals
	} else {
		select {}
	}
	fmt.Fprintln(env.Stdout, "Stopped.")
	return nil
}
