#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Finds the smallest -m (MiB) with which the Linux peer boots and serves a
# 1 KiB file over HTTP, by bisection between LO (assumed failing) and HI
# (must work). Each try is bounded (PEER_TIMEOUT, default 90 s) and cleaned up.
# Usage: bench/linux-peer/minmem.sh [LO [HI [HOSTPORT]]]   (default 32 256 18091)
set -eu
cd "$(dirname "$0")/../.."
lo=${1:-32}
hi=${2:-256}
port=${3:-18091}
export PEER_TIMEOUT=${PEER_TIMEOUT:-90}
work=$(mktemp -d /tmp/miura-linux-peer-mem.XXXXXX)
rpid=
trap 'set +e; [ -n "$rpid" ] && kill "$rpid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
mkdir "$work/share"
head -c 1024 /dev/urandom >"$work/share/1k.bin"
bash bench/linux-peer/build.sh >/dev/null

# try MiB: 0 when the peer becomes ready and serves the file intact.
try() {
    local ok=1
    PEER_MEM=${1}M bash bench/linux-peer/run.sh http "$work/share" "$port" >"$work/out" 2>&1 &
    rpid=$!
    for _ in $(seq $((PEER_TIMEOUT * 10))); do
        grep -q 'ready in' "$work/out" && break
        kill -0 "$rpid" 2>/dev/null || break
        sleep 0.1
    done
    if grep -q 'ready in' "$work/out" &&
        curl -s -m 20 -o "$work/got" "http://127.0.0.1:$port/1k.bin" &&
        cmp -s "$work/got" "$work/share/1k.bin"; then
        ok=0
    fi
    kill "$rpid" 2>/dev/null
    wait "$rpid" 2>/dev/null || true
    rpid=
    rm -f "$work/got"
    return $ok
}

try "$hi" || { echo "linux-peer: does not serve even with -m ${hi}M" >&2; exit 1; }
echo "  -m ${hi}M: serves"
while [ $((hi - lo)) -gt 1 ]; do
    mid=$(((lo + hi) / 2))
    if try "$mid"; then
        hi=$mid
        echo "  -m ${mid}M: serves"
    else
        lo=$mid
        echo "  -m ${mid}M: fails"
    fi
done
echo "linux-peer: smallest -m that boots and serves: ${hi}M"
