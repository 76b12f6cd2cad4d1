#!/bin/sh
# Installs the Debian packages that baton's build and tests need, and only
# those that are missing, so a second run is a no-op that needs no network.
# With arguments, installs those packages instead (bench/deps.sh).
set -eu

packages="build-essential cmake pkg-config clang libclang-rt-dev
libcmocka-dev libuv1-dev libsodium-dev libjansson-dev libinih-dev
libsqlite3-dev libmicrohttpd-dev python3 iproute2 clang-format"
[ $# -gt 0 ] && packages="$*"

missing=""
for p in $packages; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done

[ -z "$missing" ] && exit 0

echo "deps: installing:$missing"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing
