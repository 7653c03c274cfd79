// Package teams holds the process-level tests of team campaigns on
// Postgres (issue 11): several xpflow apply processes, real binaries, on
// one campaign in a real Postgres database, against the simulator over
// loopback HTTP. The database comes from XPFLOW_TEST_POSTGRES (see
// internal/pgstore/pgtest); .ci/run starts one.
package teams
