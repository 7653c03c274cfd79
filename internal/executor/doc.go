// Package executor applies a plan: it walks the DAG of asset instances
// concurrently (walk.go: the walk owns waiting, cancelling and upstream
// failure), evaluates each instance's parameters once its dependencies are
// done (with their real outputs), submits generations (submit.go), polls
// them when the request scheduler says so (poll.go, scheduler.go),
// downloads outputs as soon as they exist (complete.go) and records every
// step in the state store, through the one function record, before moving
// on.
//
// Run is the entry point. Every API request goes through the client's one
// rate limiter. One scheduler decides every poll: a task's due poll at a
// quantile of its model's latency, estimated from interval-censored
// observations (latency.go), and probes only from the window's slack
// beyond what the run still needs. While the window is short, a submit
// waits for the requests of work ranked above it on the critical path
// (admit.go). A generate request is preceded by a
// durable "intent" record and followed by a durable "submitted" record, so
// a crash leaves at most one outcome unknown per generate request that was
// on the wire (up to -parallelism), and the state says which.
package executor
