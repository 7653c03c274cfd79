// Package clock abstracts time so that timing logic (the rate limiter, poll
// scheduling, the simulator's task latencies) can be driven by tests without
// sleeping. Real is the wall clock; Fake only moves when a test advances it;
// Scaled runs a virtual clock k times faster than the wall clock, which is how
// benchmarks compress minutes of API time into seconds while every component
// still reasons in API time.
package clock
