#!/bin/sh
# The packages `make bench` needs beyond scripts/deps.sh: etcd, to run the
# same measurements against a 3-member etcd cluster. Not part of make test.
set -eu
exec "$(dirname "$0")/../scripts/deps.sh" etcd-server etcd-client
