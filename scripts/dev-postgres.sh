#!/usr/bin/env bash
# dev-postgres.sh: a throwaway PostgreSQL cluster for xpflow development.
#
#   eval "$(scripts/dev-postgres.sh start)"   # installs postgresql if missing,
#                                             # starts a cluster, exports
#                                             # XPFLOW_TEST_POSTGRES,
#                                             # XPFLOW_BACKEND_CONN and the
#                                             # XPFLOW_TEST_PG_* variables
#   go test ./internal/pgstore/...            # now runs the Postgres tests
#   scripts/dev-postgres.sh stop              # stops it and deletes its data
#
# The cluster lives in $XPFLOW_DEV_PG_DIR (default /tmp/xpflow-dev-pg-$USER),
# listens on a Unix socket there only, and runs as an unprivileged user when
# started by root (Postgres refuses root).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/postgres-lib.sh
. "$here/postgres-lib.sh"
dir=${XPFLOW_DEV_PG_DIR:-${TMPDIR:-/tmp}/xpflow-dev-pg-$(id -un)}

case "${1:-start}" in
start)
  xpflow_pg_install
  if [ -f "$dir/data/postmaster.pid" ]; then
    echo "postgres: already running in $dir" >&2
    conn="host=$dir/sock user=xpflow dbname=postgres sslmode=disable"
  else
    rm -rf "$dir"
    conn=$(xpflow_pg_start "$dir")
    echo "postgres: started in $dir; stop with $0 stop" >&2
  fi
  echo "export XPFLOW_TEST_POSTGRES='$conn'"
  echo "export XPFLOW_BACKEND_CONN='$conn'"
  # For tests that start and stop a cluster of their own.
  echo "export XPFLOW_TEST_PG_BINDIR='$(xpflow_pg_bindir)' XPFLOW_TEST_PG_USER='$(xpflow_pg_user)'"
  ;;
stop)
  xpflow_pg_stop "$dir"
  rm -rf "$dir"
  echo "postgres: stopped; $dir removed" >&2
  ;;
*)
  echo "usage: $0 start|stop" >&2
  exit 2
  ;;
esac
