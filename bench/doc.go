// Package bench measures xpflow against the limits of the API it drives.
// The scheduler benchmark (RunSuite) applies campaigns against simulators on
// one time-compressed clock and compares each run's makespan with a lower
// bound derived from the rate limit and the simulator's own task latencies
// (Bound), and with a naive client written from the API documentation (the
// peer). The plan-at-scale benchmark (PlanScale, and the Go benchmarks in
// this package) times spec.Load plus planner.Build on large campaigns. The
// command bench/cmd/xpbench and scripts/bench.sh run both; nothing here runs
// in an ordinary go test unless XPFLOW_BENCH=1 is set.
package bench
