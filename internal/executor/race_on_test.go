//go:build race

package executor_test

// raceEnabled is set when the race detector is on: it slows every step
// several times, which a scaled clock turns into minutes of work the
// scheduler cannot foresee, so timing figures are logged, not checked
// (the plain test pass checks them).
const raceEnabled = true
