#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The Linux peer as a web server: QEMU start -> ready, then a 1 KiB file under
# ab -n 500 -c 1 and wrk -t1 -c32 -d10s, against busybox httpd (the same
# binary) on the host as a reference. Loopback only; bounded; cleans up.
# Usage: bench/linux-peer/http.sh [GUESTPORT [HOSTPORT]]   (default 18090 18091)
set -eu
cd "$(dirname "$0")/../.."
gport=${1:-18090}
hport=${2:-18091}
for t in ab wrk curl; do
    command -v $t >/dev/null || { echo "linux-peer: $t missing (apt-get install apache2-utils wrk curl)" >&2; exit 1; }
done
bash bench/linux-peer/build.sh >/dev/null
work=$(mktemp -d /tmp/miura-linux-peer-http.XXXXXX)
rpid=
hpid=
trap 'set +e; [ -n "$rpid" ] && kill "$rpid" 2>/dev/null; [ -n "$hpid" ] && kill "$hpid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
trap 'exit 143' TERM INT HUP
mkdir "$work/share"
head -c 1024 /dev/urandom >"$work/share/1k.bin"
for p in "$gport" "$hport"; do
    if curl -s -m 2 -o /dev/null "http://127.0.0.1:$p/"; then
        echo "linux-peer: port $p is already in use" >&2
        exit 1
    fi
done

PEER_TIMEOUT=300 bash bench/linux-peer/run.sh http "$work/share" "$gport" >"$work/peer" 2>&1 &
rpid=$!
for _ in $(seq 1200); do
    grep -q 'ready in' "$work/peer" && break
    kill -0 "$rpid" 2>/dev/null || break
    sleep 0.1
done
grep -q 'ready in' "$work/peer" || { echo "linux-peer: did not become ready" >&2; cat "$work/peer" >&2; exit 1; }
ready=$(awk '/ready in/ {print $4}' "$work/peer")
build/linux-peer/root/bin/busybox httpd -f -p "127.0.0.1:$hport" -h "$work/share" &
hpid=$!
sleep 0.3

# load NAME PORT: checks the file, then prints "ab_rps ab_ms wrk_rps".
load() {
    local url="http://127.0.0.1:$2/1k.bin"
    if ! curl -s -m 20 -o "$work/got" "$url" || ! cmp -s "$work/got" "$work/share/1k.bin"; then
        echo "linux-peer: $1 did not serve the file intact" >&2
        exit 1
    fi
    timeout 120 ab -q -n 500 -c 1 "$url" >"$work/ab-$1" 2>&1 || true
    timeout 30 wrk -t1 -c32 -d10s "$url" >"$work/wrk-$1" 2>&1 || true
    echo "$(awk '/^Failed requests/ {f = $3} /^Requests per second/ {r = $4}
            /^Time per request.*\(mean\)$/ {t = $4} END {print (r ? r : "n/a"), (t ? t : "n/a"), (f ? f : 0)}' "$work/ab-$1")" \
        "$(awk '/^Requests\/sec/ {r = $2} END {print (r ? r : "n/a")}' "$work/wrk-$1")" \
        "$(awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$work/wrk-$1")"
}
read -r g_ab g_ms g_fail g_wrk g_err < <(load guest "$gport")
read -r h_ab h_ms h_fail h_wrk h_err < <(load host "$hport")

echo "bench/linux-peer http: 1 KiB file, accelerator $(tools/qemu-accel.sh) ($(date -u +%F))"
echo "  Linux guest ready ${ready} ms after QEMU start"
printf '  %-40s %14s %14s\n' "" "Linux guest" "host busybox"
printf '  %-40s %14s %14s\n' "ab -n 500 -c 1: requests/s" "$g_ab" "$h_ab"
printf '  %-40s %14s %14s\n' "ab -n 500 -c 1: mean latency (ms)" "$g_ms" "$h_ms"
printf '  %-40s %14s %14s\n' "ab: failed requests" "$g_fail" "$h_fail"
printf '  %-40s %14s %14s\n' "wrk -t1 -c32 -d10s: requests/s" "$g_wrk" "$h_wrk"
printf '  %-40s %14s %14s\n' "wrk: socket errors (conn+read+write+timeout)" "${g_err:-0}" "${h_err:-0}"
