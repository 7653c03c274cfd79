// Package planner turns a loaded spec, the last state and the model catalog
// into a Plan: every asset instance with its action (create, replace,
// resume, retry, download, noop, forget, unknown), its resolved parameters
// (unknown where they depend on outputs that do not exist yet), its
// instance-level dependencies and its estimated cost. Build is the entry
// point. The planner never sends a generate request; its only input from the
// API is the catalog the caller fetched.
package planner
