#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/kv: the key-value store appliance (examples/kv, built with the SDK
# by `make`; `miura run` on a
# virtio-fs share) under wrk, side by side in one run with a Linux peer doing
# the same on the host (bench/kv/peer.py: Python, same durable write
# sequence), and the web server's 1 KiB GET for reference. 256 B values:
# PUT (one key, replaced each time: temporary file, fsync, rename, fsync of
# the directory) and GET of one key; requests/s and p99 latency, medians of
# RUNS; and the image size.
# Usage: bench/kv/run.sh   (DURATION=5 RUNS=3 by default)
set -eu
cd "$(dirname "$0")/../.."
source bench/lib.sh
DURATION=${DURATION:-5}
RUNS=${RUNS:-3}
bash tools/deps.sh bench
make --no-print-directory -s all
MIURA=build/bin/miura
work=$(mktemp -d /tmp/miura-bench-kv.XXXXXX)
export MIURA_RUNTIME_DIR=$work/rt MIURA_VSOCKD=$PWD/build/bin/miura-vsockd
peer_pid=
cleanup() {
    "$MIURA" stop benchkv >/dev/null 2>&1 || true
    "$MIURA" stop benchweb >/dev/null 2>&1 || true
    [ -n "$peer_pid" ] && kill "$peer_pid" 2>/dev/null
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/kv" "$work/peer" "$work/site"
head -c 1024 /dev/urandom >"$work/site/1k.bin"
value=$(printf '{"v":"%0248d"}' 0) # 256 bytes
printf '%s' "$value" >"$work/value.json"
cat >"$work/put.lua" <<LUA
wrk.method = "PUT"
wrk.body = '$value'
wrk.headers["Content-Type"] = "application/json"
LUA
base=$(free_port 3)
P_KV=$base P_PEER=$((base + 1)) P_WEB=$((base + 2))

wrk_one() { # URL [wrk args] → "req/s p99_ms"
    local url=$1
    shift
    wrk -t1 -c"${CONNS:-8}" -d"${DURATION}s" --latency "$@" "$url" 2>/dev/null | awk '
        /Requests\/sec/ {r = $2}
        / 99%/ {l = $2; if (l ~ /ms/) p = l + 0; else if (l ~ /us/) p = l / 1000; else p = l * 1000}
        END {printf "%s %.2f\n", r, p}'
}
declare -A result
measure() { # name url [wrk args]
    local name=$1
    shift
    : >"$work/r"
    for _ in $(seq "$RUNS"); do wrk_one "$@" >>"$work/r"; done
    result[$name]="$(cut -d' ' -f1 "$work/r" | median) $(cut -d' ' -f2 "$work/r" | median)"
}

"$MIURA" run --detach --name benchkv --mem 128M --share "$work/kv" \
    --publish "127.0.0.1:$P_KV:80" build/examples/kv/kv.elf >/dev/null
curl -sf -X PUT --data-binary @"$work/value.json" "http://127.0.0.1:$P_KV/kv/k" >/dev/null
measure "Miura kv PUT" "http://127.0.0.1:$P_KV/kv/k" -s "$work/put.lua"
measure "Miura kv GET" "http://127.0.0.1:$P_KV/kv/k"
"$MIURA" stop benchkv >/dev/null

python3 bench/kv/peer.py "$P_PEER" "$work/peer" >"$work/peer.log" 2>&1 &
peer_pid=$!
for _ in $(seq 100); do grep -q 'peer: ready' "$work/peer.log" 2>/dev/null && break; sleep 0.1; done
grep -q 'peer: ready' "$work/peer.log" || { echo "bench/kv: the Linux peer did not start: $(tail -1 "$work/peer.log")" >&2; exit 1; }
curl -sf -X PUT --data-binary @"$work/value.json" "http://127.0.0.1:$P_PEER/kv/k" >/dev/null
measure "Linux peer PUT" "http://127.0.0.1:$P_PEER/kv/k" -s "$work/put.lua"
measure "Linux peer GET" "http://127.0.0.1:$P_PEER/kv/k"
kill "$peer_pid" && wait "$peer_pid" 2>/dev/null || true
peer_pid=

"$MIURA" run --detach --name benchweb --mem 128M --share "$work/site" \
    --publish "127.0.0.1:$P_WEB:80" --append log=0 build/apps/webserver/webserver.elf >/dev/null
measure "Miura web server GET 1 KiB" "http://127.0.0.1:$P_WEB/1k.bin"
"$MIURA" stop benchweb >/dev/null

echo "bench/kv: 256 B values, wrk -t1 -c${CONNS:-8} -d${DURATION}s, median of $RUNS runs, accel $(tools/qemu-accel.sh)"
printf '%-28s %10s %10s\n' "" "req/s" "p99 ms"
for n in "Miura kv PUT" "Linux peer PUT" "Miura kv GET" "Linux peer GET" "Miura web server GET 1 KiB"; do
    read -r r p <<<"${result[$n]}"
    printf '%-28s %10s %10s\n' "$n" "$r" "$p"
done
echo "kv image: $(stat -c %s build/examples/kv/kv) B stripped"
