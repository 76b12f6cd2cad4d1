#!/bin/sh
# Formats every C source and header the repository tracks with clang-format
# and the style in .clang-format. With --check, changes nothing and fails,
# naming the files, when one is not formatted (.ci/run does this).
set -eu
cd "$(dirname "$0")/.."

files=$(git ls-files '*.c' '*.h')
if [ "${1:-}" = "--check" ]; then
    bad=""
    for f in $files; do
        clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad="$bad $f"
    done
    if [ -n "$bad" ]; then
        echo "format-check: not formatted (run make format):$bad" >&2
        clang-format --version >&2
        exit 1
    fi
    echo "format-check: $(echo "$files" | wc -l) files formatted"
else
    # shellcheck disable=SC2086
    clang-format -i $files
fi
