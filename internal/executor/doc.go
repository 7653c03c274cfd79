// Package executor applies a plan: it walks the DAG of asset instances
// concurrently, evaluates each instance's parameters once its dependencies
// are done (with their real outputs), submits generations, polls them on a
// schedule learned from past latencies, downloads outputs as soon as they
// exist and records every step in the state store before moving on.
//
// Run is the entry point. Every API request goes through the client's one
// rate limiter; polls wait there at a higher priority than submits. A generate
// request is preceded by a durable "intent" record and followed by a durable
// "submitted" record, so a crash leaves at most one request whose outcome is
// unknown, and the state says which.
package executor
