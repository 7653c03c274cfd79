package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/xpflow/xpflow/internal/clock"
	"github.com/xpflow/xpflow/internal/xpilot"
)

// PeerPollInterval is how often the peer polls a task, as the API
// documentation's example does.
const PeerPollInterval = 5 * time.Second

// peerJob is one asset for the peer.
type peerJob struct {
	block Block
	key   string
	tag   string   // appended to the prompt
	up    *peerJob // the upstream instance, or nil
	done  chan struct{}
	// Set before done is closed.
	content, url string
	err          error
}

// runPeer does what a user writes from the API documentation: submit every
// asset at once (an asset whose input is another asset's output waits for
// it), then poll each task every PeerPollInterval until it ends. Its client
// has the same kind of limiter as xpflow's, so it gets no 429s, but every
// call waits in one first-come, first-served queue, as with a plain rate
// limiter: the peer has no notion of poll priority (unless
// cfg.PeerPriorities). Outputs are not downloaded.
func runPeer(ctx context.Context, cfg Config, c clock.Clock, sc Scenario, seed int64) (Result, error) {
	env := startSim(c, seed, cfg.PerMinute, sc)
	defer env.close()
	client, err := env.client(c, cfg.PerMinute)
	if err != nil {
		return Result{}, err
	}
	return peerOnce(ctx, cfg, c, env, client, sc, "")
}

// runPeerPair runs the peer twice on one simulator and one client, the
// second time with changed prompts, as runXpflowPair does.
func runPeerPair(ctx context.Context, cfg Config, c clock.Clock, sc Scenario, seed int64) (first, second Result, err error) {
	env := startSim(c, seed, cfg.PerMinute, sc)
	defer env.close()
	client, err := env.client(c, cfg.PerMinute)
	if err != nil {
		return first, second, err
	}
	if first, err = peerOnce(ctx, cfg, c, env, client, sc, ""); err != nil {
		return first, second, err
	}
	second, err = peerOnce(ctx, cfg, c, env, client, sc, " (take 2)")
	return first, second, err
}

// peerOnce runs every asset of sc once, with tag appended to the prompts.
func peerOnce(ctx context.Context, cfg Config, c clock.Clock, env *simEnv, client *xpilot.Client, sc Scenario, tag string) (Result, error) {
	// Without priorities every call waits in the one submit queue.
	call := xpilot.Call{Priority: xpilot.PrioritySubmit}
	if cfg.PeerPriorities {
		call = xpilot.Call{}
	}
	byAddr := map[string][]*peerJob{}
	var jobs []*peerJob
	for _, b := range sc.Blocks {
		for i := 0; i < b.N; i++ {
			j := &peerJob{block: b, key: key(i), tag: tag, done: make(chan struct{})}
			if b.Upstream != "" {
				j.up = byAddr[b.Upstream][i]
			}
			byAddr[b.Addr()] = append(byAddr[b.Addr()], j)
			jobs = append(jobs, j)
		}
	}
	base := env.rec.snapshot()
	t0 := c.Now()
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(j.done)
			j.err = j.run(ctx, client, c, call)
		}()
	}
	wg.Wait()
	res := Result{Makespan: c.Now().Sub(t0)}
	var errs []error
	for _, j := range jobs {
		if j.err != nil {
			errs = append(errs, fmt.Errorf("peer %s[%s]: %w", j.block.Addr(), j.key, j.err))
		}
	}
	tally(&res, env.rec, base, t0)
	return res, errors.Join(errs...)
}

func (j *peerJob) run(ctx context.Context, client *xpilot.Client, c clock.Clock, call xpilot.Call) error {
	var upContent, upURL string
	if j.up != nil {
		<-j.up.done
		if j.up.err != nil {
			return errors.New("upstream failed")
		}
		upContent, upURL = j.up.content, j.up.url
	}
	b := j.block
	prompt := b.Name + " " + j.key + j.tag
	if upContent != "" {
		prompt = upContent + " (" + b.Name + ")" + j.tag
	}
	var task *xpilot.Task
	var err error
	switch b.Kind {
	case "text":
		tokens := 40
		res, err := client.GenerateText(ctx, xpilot.TextRequest{Model: b.Model, Prompt: prompt, MaxTokens: &tokens}, call)
		if err != nil {
			return err
		}
		j.content = res.Content
		return nil
	case "image":
		task, err = client.GenerateImage(ctx, xpilot.ImageRequest{Model: b.Model, Prompt: prompt}, call)
	default:
		req := xpilot.VideoRequest{Model: b.Model, Prompt: prompt, ImageURL: upURL}
		if b.Duration > 0 {
			d := b.Duration
			req.Duration = &d
		}
		task, err = client.GenerateVideo(ctx, req, call)
	}
	if err != nil {
		return err
	}
	for task.Status == xpilot.StatusProcessing {
		if !clock.Sleep(c, PeerPollInterval, ctx.Done()) {
			return ctx.Err()
		}
		pollURL := task.PollURL
		if task, err = client.Poll(ctx, pollURL, call); err != nil {
			return err
		}
		task.PollURL = pollURL
	}
	if task.Status != xpilot.StatusCompleted || len(task.Outputs) == 0 {
		return fmt.Errorf("task %s ended %s: %s", task.TaskID, task.Status, task.Error)
	}
	j.url = task.Outputs[0]
	return nil
}
