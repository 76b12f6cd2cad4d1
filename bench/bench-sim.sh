#!/bin/sh
# The simulator's scale targets (issue 11, items 6 and 7), on a Release
# build without sanitizers: `make bench-sim`. Not part of `make test` (it
# takes minutes and its figures are wall-clock times). For each target it
# prints the command, the wall time, the peak RSS (from /usr/bin/time -v),
# the load average at the start (other work on the machine slows it), and
# the run's key figures from its JSON line; the run's own verdict (exit
# status) is printed too.
#
#   bench/bench-sim.sh [SIM] [TARGET...]
#
# SIM defaults to build-bench-sim/baton-sim; TARGETs are the names below
# (default: the four, one-name-1000, names-1000x1000,
# members-10000 and names-100000). members-10000 takes about 9 minutes
# and 22.6 GB (226 bytes per (node, member) pair, docs/simulator.md,
# "Scale"), most of this machine's 23.5 GiB: BENCH_SIM_BIG=0 runs
# members-4000 (3.9 GB, 2.5 minutes) in its place.
# Every run is capped at BENCH_SIM_AS bytes of address space (prlimit
# --as; default 10 GiB, and for members-10000 the machine's memory,
# MemTotal): past it the run fails (out of memory) instead of pushing the
# machine into swap or the OOM killer.
# The runs ask glibc's malloc for transparent huge pages
# (GLIBC_TUNABLES=glibc.malloc.hugetlb=1; BENCH_SIM_THP=0 leaves them out):
# the member tables of thousands of nodes are gigabytes read at random,
# and with 4 KiB pages a run of 2000 to 4000 nodes took 6 to 9% more user
# CPU (docs/simulator.md, "Scale", the eleventh round).
set -u

SIM=${1:-build-bench-sim/baton-sim}
[ $# -gt 0 ] && shift
MEMBERS=members-10000
[ "${BENCH_SIM_BIG:-1}" = 0 ] && MEMBERS=members-4000
DEFAULT_TARGETS="one-name-1000 names-1000x1000 $MEMBERS names-100000"
TARGETS=${*:-$DEFAULT_TARGETS}
AS=${BENCH_SIM_AS:-10737418240}
BIG_AS=${BENCH_SIM_AS:-$(awk '/^MemTotal:/ { printf "%.0f", $2 * 1024 }' /proc/meminfo)}
THP=
[ "${BENCH_SIM_THP:-1}" = 1 ] && THP=glibc.malloc.hugetlb=1

if [ ! -x "$SIM" ]; then
    echo "bench-sim: no simulator at $SIM (make bench-sim builds it)" >&2
    exit 2
fi
if ! command -v prlimit >/dev/null 2>&1; then
    echo "bench-sim: prlimit is missing (Debian package: util-linux)" >&2
    exit 2
fi
if [ ! -x /usr/bin/time ]; then
    echo "bench-sim: /usr/bin/time is missing (Debian package: time)" >&2
    exit 2
fi

args_of() {
    case "$1" in
    one-name-1000)
        # The default profile, one name, every node campaigning for it.
        echo "--scenario steady --seed 1 --nodes 1000 --duration-ms 60000" ;;
    names-1000x1000)
        # 1000 names, 3 campaigners each, at once; propagation max < 5 s.
        echo "--scenario steady --seed 1 --nodes 1000 --names 1000 --campaigners 3 --duration-ms 20000 --profile local --max-propagation-ms 5000" ;;
    members-4000)
        # Membership alone, 4000 nodes, 60 virtual seconds, converged: a
        # smaller members-10000 that fits the default cap (3.85 GB max RSS
        # measured in the twelfth round).
        echo "--scenario steady --seed 1 --nodes 4000 --names 0 --duration-ms 60000" ;;
    members-10000)
        # Membership alone, 10 000 nodes, 60 virtual seconds, converged
        # (with its own cap: see above).
        echo "--scenario steady --seed 1 --nodes 10000 --names 0 --duration-ms 60000" ;;
    names-100000)
        # 100 000 names on 5 nodes across a partition and its heal.
        echo "--scenario partition-heal --seed 1 --nodes 5 --names 100000 --campaigners 1 --write-interval-ms 0 --profile local --duration-ms 30000" ;;
    *)
        return 1 ;;
    esac
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
status=0
for t in $TARGETS; do
    if ! a=$(args_of "$t"); then
        echo "bench-sim: unknown target $t" >&2
        status=2
        continue
    fi
    cap=$AS
    [ "$t" = members-10000 ] && cap=$BIG_AS
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    echo "== $t: $SIM $a"
    # shellcheck disable=SC2086
    GLIBC_TUNABLES=$THP /usr/bin/time -v -o "$tmp/time" prlimit --as="$cap" -- "$SIM" $a --quiet \
        >"$tmp/out" 2>"$tmp/err"
    rc=$?
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$tmp/time")
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$tmp/time")
    cpu=$(sed -n 's/.*User time (seconds): //p' "$tmp/time")
    sys=$(sed -n 's/.*System time (seconds): //p' "$tmp/time")
    echo "   exit $rc; wall $wall; user CPU ${cpu} s; system ${sys} s; max RSS $((rss / 1024)) MiB; load at start $load; at end $(cut -d' ' -f1-3 /proc/loadavg)"
    tail -n 1 "$tmp/out" | python3 -c '
import json, sys
try:
    d = json.loads(sys.stdin.read())
except ValueError:
    print("   (no JSON line)")
    sys.exit(0)
keys = ["virtual_ms", "converged", "convergence_ms", "packets_sent", "bytes_sent",
        "propagation_ms", "leader_changes", "violation_count"]
print("   " + "; ".join("%s %s" % (k, json.dumps(d.get(k))) for k in keys))
for v in d.get("violations", [])[:3]:
    print("   violation: " + v)
'
    [ $rc -ne 0 ] && status=1
done
exit $status
