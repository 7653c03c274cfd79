// Package pgstore keeps xpflow's state in PostgreSQL, so that a team, and
// several runners at once, can apply one campaign from several machines.
// Open connects, creates or migrates the schema (versioned SQL embedded in
// the binary, recorded in xpflow_schema_version) and returns a Store for
// one campaign: one row per asset instance in xpflow_assets, an
// append-only journal of intents and outcomes in xpflow_journal, and the
// campaign's serial, model statistics and balance in xpflow_campaigns.
//
// A Store is a state.Backend: the executor writes through state.Store as
// it does with a file, and every Append is one committed transaction, so
// an intent is durable before its POST is sent. Snapshot reads the whole
// campaign in one repeatable-read transaction, which is what plan, show,
// output and report see while runners work.
//
// A connection string may hold a password: no error, log or state written
// by this package contains it (see Redact).
package pgstore
