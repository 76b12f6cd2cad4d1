#!/bin/sh
# scripts/fuzz.sh BUILD_DIR SECONDS
#
# Runs every libFuzzer binary of BUILD_DIR/fuzz/ (built with -DBATON_FUZZ=ON,
# see tests/fuzz/CMakeLists.txt) for SECONDS each, one after the other, on a
# scratch copy of its seed corpus tests/fuzz/corpus/<name>/, so the thousands
# of inputs a run generates never land in the repository. Prints, per
# target, libFuzzer's execution count and final line, and whether it found
# anything. Full logs stay in BUILD_DIR/fuzz/logs/.
#
# A finding (crash, leak, timeout, out-of-memory, failed oracle) is copied
# into the target's corpus as tests/fuzz/corpus/<name>/regress-<sha1>, so the
# ordinary test build replays it (ctest fuzz.<name>.corpus) from then on:
# commit it with the fix. Exits 1 if any target found something, 2 on usage
# or setup errors, 0 otherwise.
set -eu

if [ $# -ne 2 ]; then
    echo "usage: $0 BUILD_DIR SECONDS" >&2
    exit 2
fi
build=$1
seconds=$2
case $seconds in
    '' | *[!0-9]*) echo "fuzz: SECONDS must be a whole number" >&2; exit 2 ;;
esac
root=$(cd "$(dirname "$0")/.." && pwd)

targets=$(find "$build/fuzz" -maxdepth 1 -type f -name '*_fuzz' -perm -u+x 2>/dev/null | sort)
if [ -z "$targets" ]; then
    echo "fuzz: no fuzz binaries in $build/fuzz (configure with CC=clang -DBATON_FUZZ=ON)" >&2
    exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/baton-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
mkdir -p "$build/fuzz/logs"
status=0

for bin in $targets; do
    base=$(basename "$bin")
    name=${base%_fuzz}
    seeds=$root/tests/fuzz/corpus/$name
    corpus=$work/$name/corpus
    artifacts=$work/$name/artifacts
    log=$build/fuzz/logs/$name.log
    mkdir -p "$corpus" "$artifacts"
    if [ -d "$seeds" ]; then
        find "$seeds" -maxdepth 1 -type f ! -name '.*' -exec cp {} "$corpus/" \;
    fi
    before=$(find "$corpus" -type f | wc -l)

    rc=0
    "$bin" -max_total_time="$seconds" -timeout=30 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" "$corpus" >"$log" 2>&1 || rc=$?

    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    final=$(grep -E '^Done [0-9]+ runs|^==[0-9]+== ?ERROR|^SUMMARY|deadly signal' "$log" | tail -n 1)
    after=$(find "$corpus" -type f | wc -l)
    found=$(find "$artifacts" -type f | sort)

    if [ "$rc" -eq 0 ] && [ -z "$found" ]; then
        echo "fuzz: $name: ${execs:-?} execs in ${seconds}s, corpus $before -> $after inputs, nothing found"
        echo "fuzz: $name: libFuzzer: ${final:-no final line, see $log}"
        continue
    fi

    status=1
    echo "fuzz: $name: FOUND something (exit $rc) after ${execs:-?} execs: ${final:-see $log}"
    for a in $found; do
        sum=$(sha1sum "$a" | cut -c1-16)
        mkdir -p "$seeds"
        cp "$a" "$seeds/regress-$sum"
        echo "fuzz: $name: $(basename "$a") saved as tests/fuzz/corpus/$name/regress-$sum"
    done
    echo "fuzz: $name: last lines of $log:"
    tail -n 30 "$log" | sed 's/^/    /'
done

exit $status
