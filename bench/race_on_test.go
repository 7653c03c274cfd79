//go:build race

package bench

// raceEnabled is set when the race detector is on: it slows the
// single-threaded planner about tenfold, so the scale tests plan a tenth
// of the catalog (the full size runs in the plain test pass).
const raceEnabled = true
