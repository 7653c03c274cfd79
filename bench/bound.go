package bench

import (
	"fmt"
	"sort"
	"time"
)

// Window is the span over which the API counts requests.
const Window = time.Minute

// BoundTask is one asset instance as the makespan bound sees it.
type BoundTask struct {
	Addr string
	// Async is true for a generation that must be polled (video, async
	// image); a sync generation (text, sync image) needs one request and
	// no time.
	Async bool
	// Latency is how long the task took upstream, from its submit to the
	// moment a poll could first see it completed.
	Latency time.Duration
	// Deps are the addresses this task cannot be submitted before.
	Deps []string
}

// Bounds are the lower bounds on the makespan of one run and the largest
// of them, which is the bound a run is measured against.
//
// Every bound ignores the time a request takes on the wire (about a
// millisecond on loopback) and assumes the rate window is empty at the
// start.
type Bounds struct {
	// Requests is the fewest API requests the campaign needs: one per sync
	// asset, a submit and a poll per async one.
	Requests int
	// Window is when the last of those requests can go out at the
	// earliest: with R requests in any Window, the k-th request is not
	// sent before floor((k-1)/R) windows.
	Window time.Duration
	// Pairing is the latency bound for independent tasks: the m-th submit
	// is not sent before floor((m-1)/R) windows, and a task is only seen
	// done Latency after its submit. Giving the longest latencies to the
	// earliest submit slots minimises the largest finish time, so
	// max over m of slot(m) + L(m), with L sorted longest first, is a bound
	// whatever the order a scheduler chooses.
	Pairing time.Duration
	// Path is the longest chain of latencies through the dependencies: a
	// task cannot be submitted before each upstream task finished.
	Path time.Duration
	// Max is the largest of the bounds above.
	Max time.Duration
}

// String formats the bounds for a diagnostic line.
func (b Bounds) String() string {
	return fmt.Sprintf("requests=%d window=%s pairing=%s path=%s", b.Requests,
		b.Window.Round(100*time.Millisecond), b.Pairing.Round(100*time.Millisecond), b.Path.Round(100*time.Millisecond))
}

// windowSlot is the earliest time the k-th request (1-based) can be sent
// with perMinute requests allowed in any Window.
func windowSlot(k, perMinute int) time.Duration {
	if k <= 1 || perMinute <= 0 {
		return 0
	}
	return time.Duration((k-1)/perMinute) * Window
}

// windowSlots returns the earliest times n requests can be sent from 0 on
// with perMinute requests allowed in any Window, when requests were sent at
// the times prior (relative to 0, so negative) already: each request goes
// out as soon as the one perMinute requests before it has left the window.
func windowSlots(n, perMinute int, prior []time.Duration) []time.Duration {
	times := append([]time.Duration(nil), prior...)
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	out := make([]time.Duration, n)
	for k := range out {
		var t time.Duration
		if perMinute > 0 && len(times) >= perMinute {
			t = max(0, times[len(times)-perMinute]+Window)
		}
		out[k] = t
		times = append(times, t)
	}
	return out
}

// Bound returns the lower bounds on the makespan of tasks under a limit of
// perMinute requests in any Window, starting from an empty window. Deps
// naming no task are ignored; a dependency cycle is an error.
func Bound(tasks []BoundTask, perMinute int) (Bounds, error) {
	return BoundAfter(tasks, perMinute, nil)
}

// BoundAfter is Bound for a run that starts with requests sent at the
// times prior (relative to its start, so negative) still in the window.
func BoundAfter(tasks []BoundTask, perMinute int, prior []time.Duration) (Bounds, error) {
	var b Bounds
	var lats []time.Duration
	for _, t := range tasks {
		b.Requests++
		if t.Async {
			b.Requests++
			lats = append(lats, t.Latency)
		}
	}
	slots := windowSlots(b.Requests, perMinute, prior)
	if len(slots) > 0 {
		b.Window = slots[len(slots)-1]
	}
	sort.Slice(lats, func(i, j int) bool { return lats[i] > lats[j] })
	for m, l := range lats {
		b.Pairing = max(b.Pairing, slots[m]+l)
	}
	path, err := longestPath(tasks)
	if err != nil {
		return Bounds{}, err
	}
	b.Path = path
	b.Max = max(b.Window, b.Pairing, b.Path)
	return b, nil
}

// longestPath returns the largest finish time when every task starts as
// soon as its dependencies finished and takes its latency (0 if sync).
func longestPath(tasks []BoundTask) (time.Duration, error) {
	byAddr := make(map[string]*BoundTask, len(tasks))
	for i := range tasks {
		byAddr[tasks[i].Addr] = &tasks[i]
	}
	finish := map[string]time.Duration{}
	visiting := map[string]bool{}
	var visit func(t *BoundTask) (time.Duration, error)
	visit = func(t *BoundTask) (time.Duration, error) {
		if f, ok := finish[t.Addr]; ok {
			return f, nil
		}
		if visiting[t.Addr] {
			return 0, fmt.Errorf("bound: dependency cycle through %s", t.Addr)
		}
		visiting[t.Addr] = true
		var start time.Duration
		for _, d := range t.Deps {
			dt, ok := byAddr[d]
			if !ok {
				continue
			}
			f, err := visit(dt)
			if err != nil {
				return 0, err
			}
			start = max(start, f)
		}
		f := start
		if t.Async {
			f += t.Latency
		}
		finish[t.Addr] = f
		return f, nil
	}
	var longest time.Duration
	for i := range tasks {
		f, err := visit(&tasks[i])
		if err != nil {
			return 0, err
		}
		longest = max(longest, f)
	}
	return longest, nil
}
