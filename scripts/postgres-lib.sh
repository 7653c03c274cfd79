# shellcheck shell=bash
# Functions to run a throwaway PostgreSQL cluster for xpflow's tests and for
# developers. Sourced by .ci/run and scripts/dev-postgres.sh; not run alone.
#
# The cluster listens on a Unix socket in its own directory only (no TCP
# port, so several clusters on one machine never collide), trusts local
# connections, and runs as an unprivileged user when started by root,
# because Postgres refuses to run as root.

# xpflow_pg_bindir prints the directory holding initdb and pg_ctl: the one
# on PATH, else the newest of Debian's /usr/lib/postgresql/*/bin.
xpflow_pg_bindir() {
  local p
  if p=$(command -v pg_ctl 2>/dev/null) && [ -x "$(dirname "$p")/initdb" ]; then
    dirname "$(readlink -f "$p")"
    return 0
  fi
  for p in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$p/initdb" ] && [ -x "$p/pg_ctl" ]; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

# xpflow_pg_install installs Debian's postgresql when initdb is missing.
xpflow_pg_install() {
  if xpflow_pg_bindir >/dev/null; then
    return 0
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "postgres: initdb not found and apt-get unavailable; install PostgreSQL" >&2
    return 1
  fi
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "postgres: installing Debian's postgresql" >&2
  $sudo apt-get update -qq >/dev/null &&
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null || {
    echo "postgres: apt-get install postgresql failed" >&2
    return 1
  }
  xpflow_pg_bindir >/dev/null
}

# xpflow_pg_user prints the user the cluster runs as: the current user, or
# when that is root, "postgres" (created by Debian's package) or "nobody".
xpflow_pg_user() {
  if [ "$(id -u)" -ne 0 ]; then
    id -un
  elif id postgres >/dev/null 2>&1; then
    echo postgres
  else
    echo nobody
  fi
}

# xpflow_pg_as USER CMD... runs CMD as USER (directly when USER is us).
xpflow_pg_as() {
  local user=$1
  shift
  if [ "$(id -un)" = "$user" ]; then
    "$@"
  else
    runuser -u "$user" -- "$@"
  fi
}

# xpflow_pg_start DIR creates a cluster in DIR (which must not hold one
# yet) and starts it. Its socket is DIR/sock, its log DIR/log. On success
# it prints the connection string of the superuser "xpflow".
xpflow_pg_start() {
  local dir=$1 bindir user
  bindir=$(xpflow_pg_bindir) || { echo "postgres: initdb not found" >&2; return 1; }
  user=$(xpflow_pg_user)
  mkdir -p "$dir/sock" || return 1
  if [ "$(id -u)" -eq 0 ]; then
    chown -R "$user" "$dir" || return 1
  fi
  chmod 0700 "$dir"
  xpflow_pg_as "$user" "$bindir/initdb" -D "$dir/data" -U xpflow --auth=trust \
    -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
    echo "postgres: initdb failed:" >&2
    cat "$dir/initdb.log" >&2
    return 1
  }
  # fsync off: a throwaway cluster for tests need not survive a power cut.
  xpflow_pg_as "$user" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 \
    -o "-c listen_addresses='' -k $dir/sock -c fsync=off -c max_connections=200" \
    start >/dev/null || {
    echo "postgres: pg_ctl start failed:" >&2
    cat "$dir/log" >&2
    return 1
  }
  echo "host=$dir/sock user=xpflow dbname=postgres sslmode=disable"
}

# xpflow_pg_stop DIR stops the cluster in DIR, if it runs.
xpflow_pg_stop() {
  local dir=$1 bindir user
  [ -f "$dir/data/postmaster.pid" ] || return 0
  bindir=$(xpflow_pg_bindir) || return 0
  user=$(xpflow_pg_user)
  xpflow_pg_as "$user" "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
}
