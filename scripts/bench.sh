#!/bin/sh
# bench.sh runs xpflow's benchmarks and prints their tables.
#
#   scripts/bench.sh            scheduler suite (about 3 min per repeat, at -k 50)
#   scripts/bench.sh plan       plan at scale: time and memory for 1k, 10k, 100k assets
#   scripts/bench.sh gobench    the Go benchmarks of bench/ (ns/op, B/op)
#   scripts/bench.sh window     two clients (in one process), one key: 429s and makespan against one client;
#                               with -procs, two real xpflow processes at real speed (about 6 min a run)
#   scripts/bench.sh report     the review page of 10,000 assets: first paint in headless Chromium
#   scripts/bench.sh teams      runners on one Postgres campaign, 1/2/3 keys (about 9 min;
#                               needs eval "$(scripts/dev-postgres.sh start)")
#   scripts/bench.sh apply      apply of 1,000 and 10,000 sync images, rate limit off:
#                               wall, user CPU, peak RSS of the xpflow process (minutes)
#   scripts/bench.sh catalog    plan from a 50,000-row CSV (100,000 instances) through
#                               toset and through the map form: time and memory
#   scripts/bench.sh all        all three (not report, teams, apply or catalog)
#
# Extra arguments go to xpbench, e.g. scripts/bench.sh sched -repeat 3 -v
set -eu
cd "$(dirname "$0")/.."
mode=${1:-sched}
[ $# -gt 0 ] && shift
case $mode in
sched) go run ./bench/cmd/xpbench -mode sched -k 50 "$@" ;;
plan) go run ./bench/cmd/xpbench -mode plan "$@" ;;
teams) go run ./bench/cmd/xpteams "$@" ;;
window) go run ./bench/cmd/xpbench -mode window "$@" ;;
gobench) go test -run '^$' -bench 'Plan' -benchtime "${BENCHTIME:-3x}" ./bench/ "$@" ;;
report)
	go test -count=1 -run '^TestChromiumTenThousandCards$' -v ./internal/report/ "$@" |
		grep -E 'report.Write|first contentful paint median|SKIP|FAIL' || true
	;;
apply) go run ./bench/cmd/xpscale -mode apply "$@" ;;
catalog) go run ./bench/cmd/xpscale -mode catalog "$@" ;;
all)
	go run ./bench/cmd/xpbench -mode sched -k 50 "$@"
	echo
	go run ./bench/cmd/xpbench -mode plan
	echo
	go test -run '^$' -bench 'Plan' -benchtime "${BENCHTIME:-3x}" ./bench/
	;;
*)
	echo "usage: scripts/bench.sh [sched|plan|gobench|window|report|teams|apply|catalog|all] [flags]" >&2
	exit 2
	;;
esac
