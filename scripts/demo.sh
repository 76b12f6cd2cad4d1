#!/usr/bin/env bash
# scripts/demo.sh (make demo): three batond on loopback, a leader, a
# SIGKILL, a new leader with a greater token and the failover time, then a
# SIGTERM of that leader and the graceful handover time.
#
# On a fresh Debian machine: installs what is missing (scripts/deps.sh),
# builds batond and baton (Release, in build-demo/), makes a key, starts
# three daemons on free loopback ports, campaigns on each, prints the
# leader and its token, kills the leader's daemon with SIGKILL, prints the
# new leader, its token and the measured failover time, stops the new
# leader's daemon with SIGTERM (it withdraws its candidacy and leaves) and
# prints the last node's term and the handover time, and stops everything
# it started, even when interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${BUILD_DEMO:-build-demo}

./scripts/deps.sh
if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DBATON_TESTS=OFF >/dev/null
fi
cmake --build "$build" -j "$(nproc)" --target batond baton >/dev/null
batond=$root/$build/batond
baton=$root/$build/baton

work=$(mktemp -d "${TMPDIR:-/tmp}/baton-demo.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
free_port() {
    python3 - <<'PY'
import socket
while True:
    t = socket.socket(); t.bind(("127.0.0.1", 0)); p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", p)); break
    except OSError:
        t.close(); u.close()
print(p)
PY
}
# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 20 ms.
wait_for() {
    local limit=$1 what=$2; shift 2
    local end=$(( $(date +%s) + limit ))
    until "$@" >/dev/null 2>&1; do
        if [ "$(date +%s)" -ge "$end" ]; then
            echo "demo: gave up waiting for $what" >&2
            exit 1
        fi
        sleep 0.02
    done
}

"$baton" keygen > "$work/keyring"
chmod 600 "$work/keyring"
echo "demo: a key in $work/keyring (baton keygen)"

declare -A port sock daemon
first=""
for n in n1 n2 n3; do
    port[$n]=$(free_port)
    sock[$n]=$work/$n.sock
    args=(--name "$n" --bind "127.0.0.1:${port[$n]}" --socket "${sock[$n]}"
          --keyring "$work/keyring" --profile local)
    [ -n "$first" ] && args+=(--join "$first")
    "$batond" "${args[@]}" 2>"$work/$n.log" &
    daemon[$n]=$!
    pids+=("$!")
    first=${first:-127.0.0.1:${port[n1]}}
    wait_for 30 "$n to start" "$baton" --socket "${sock[$n]}" status
    echo "demo: batond $n on 127.0.0.1:${port[$n]} (pid ${daemon[$n]})"
done
all_alive() {
    for n in n1 n2 n3; do
        [ "$("$baton" --socket "${sock[$n]}" members | grep -c ' alive ')" -eq 3 ] || return 1
    done
}
wait_for 60 "the three nodes to see each other" all_alive
echo "demo: every node sees 3 members alive"

for n in n1 n2 n3; do
    "$baton" --socket "${sock[$n]}" lead demo > "$work/$n.lead" 2>&1 &
    pids+=("$!")
done
agreed() {
    local want=$1; shift
    for n in "$@"; do
        [ "$("$baton" --socket "${sock[$n]}" leader demo)" = "$want" ] || return 1
    done
}
wait_for 60 "a leader" agreed n1 n1 n2 n3
leader=$("$baton" --socket "${sock[n1]}" leader demo)
wait_for 30 "the leader's token" "$baton" --socket "${sock[$leader]}" fence demo
token=$("$baton" --socket "${sock[$leader]}" fence demo)
echo "demo: every node agrees: leader $leader, fencing token $token"

echo "demo: kill -9 batond $leader"
t0=$(now)
kill -KILL "${daemon[$leader]}"
survivors=()
for n in n1 n2 n3; do [ "$n" = "$leader" ] || survivors+=("$n"); done
new_leader() {
    local l
    l=$("$baton" --socket "${sock[${survivors[0]}]}" leader demo) || return 1
    [ "$l" != "$leader" ] || return 1
    "$baton" --socket "${sock[$l]}" fence demo >/dev/null
}
wait_for 60 "a new leader" new_leader
t1=$(now)
nl=$("$baton" --socket "${sock[${survivors[0]}]}" leader demo)
ntoken=$("$baton" --socket "${sock[$nl]}" fence demo)
wait_for 30 "the survivors to agree" agreed "$nl" "${survivors[@]}"
echo "demo: new leader $nl, fencing token $ntoken"
if [ "$ntoken" -gt "$token" ]; then
    echo "demo: the new token is greater: $ntoken > $token"
else
    echo "demo: ERROR: the new token $ntoken is not greater than $token" >&2
    exit 1
fi
awk -v a="$t0" -v b="$t1" 'BEGIN { printf "demo: failover took %.0f ms (SIGKILL to a new leader with its token, local profile)\n", (b - a) * 1000 }'
# Graceful handover: SIGTERM makes the leader's daemon withdraw its
# candidacy and leave, so the last node needs no failure detection.
last=""
for n in "${survivors[@]}"; do [ "$n" = "$nl" ] || last=$n; done
echo "demo: kill -TERM batond $nl (graceful: withdraw, leave)"
t2=$(now)
kill -TERM "${daemon[$nl]}"
handed_over() {
    [ "$("$baton" --socket "${sock[$last]}" leader demo)" = "$last" ] || return 1
    "$baton" --socket "${sock[$last]}" fence demo >/dev/null
}
wait_for 60 "the handover" handed_over
t3=$(now)
htoken=$("$baton" --socket "${sock[$last]}" fence demo)
echo "demo: new leader $last, fencing token $htoken"
[ "$htoken" -gt "$ntoken" ] || { echo "demo: ERROR: the token did not grow" >&2; exit 1; }
awk -v a="$t2" -v b="$t3" 'BEGIN { printf "demo: handover took %.0f ms (SIGTERM to a new leader with its token, measured by polling the CLI)\n", (b - a) * 1000 }'
echo "demo: what the candidates printed:"
for n in n1 n2 n3; do sed "s/^/  $n: /" "$work/$n.lead"; done
echo "demo: stopping everything"
